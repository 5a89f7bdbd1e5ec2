"""ONNX export and int8 quantization, both through well-kept tools: torch's exporter and
onnxruntime's quantizer. PyTorch-quantized models do not export to ONNX (pytorch #123555)
and `torch.ao.quantization` is deprecated, so int8 is made from the exported fp32 file.

onnx, onnxscript and onnxruntime are the `export` extra, imported here on first use.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InputError

INPUT, OUTPUT = "input", "output"  # the names of the graph's input and output
_HINT = 'pip install "trainwell[export]"'


class MissingExtra(InputError):
    """An optional dependency is not installed; the message names the extra to install."""


def require_export() -> Any:
    """onnxruntime, after checking the export extra is installed (one line if not)."""
    try:
        import onnx  # noqa: F401
        import onnxruntime
        import onnxscript  # noqa: F401  (torch's dynamo exporter needs it)
    except ImportError as exc:
        raise MissingExtra(
            f"compress needs onnx, onnxscript and onnxruntime ({exc.name} is missing): {_HINT}"
        ) from None
    return onnxruntime


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    """Write `model` (fp32, eval mode) as one ONNX file with a dynamic batch dimension.

    The dynamo exporter (torch's default) keys `dynamic_shapes` by the forward's argument;
    the tuple form says "the first argument" whatever its name. `external_data=False`: the
    weights stay inside the one file.
    """
    require_export()
    batch = torch.export.Dim("batch", min=1)
    try:
        with _quiet():
            torch.onnx.export(
                model.eval(),
                (example,),
                str(path),
                dynamo=True,
                dynamic_shapes=({0: batch},),
                input_names=[INPUT],
                output_names=[OUTPUT],
                external_data=False,
                verbose=False,
            )
    except Exception as exc:  # the exporter's errors run to dozens of lines of FX graph
        raise InputError(
            f"the model cannot be exported to ONNX ({_export_reason(exc)}): a Python `if` on a "
            "tensor's value, or code torch.export cannot trace "
            "(https://pytorch.org/docs/stable/generated/exportdb/index.html)"
        ) from None
    _strip(path)


def _export_reason(exc: Exception) -> str:
    """The exporter's one line that says why: the line after its "## Exception summary",
    without the class's module path and the terminal colours; else the error's first line."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(exc).splitlines()]
    after = (
        lines[lines.index("## Exception summary") + 1 :] if "## Exception summary" in lines else []
    )
    reason = next((line for line in after if line), None) or (lines or [type(exc).__name__])[0]
    return re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", reason)[:300]


def _strip(path: Path) -> None:
    """Drop the exporter's debugging metadata (per node: the FX node, the Python stack trace
    with local file paths): a sixth of a small model's file, and nothing a runtime reads."""
    import onnx

    model = onnx.load(str(path))
    for item in [*model.graph.node, *model.graph.value_info, *model.graph.initializer]:
        del item.metadata_props[:]
    for node in model.graph.node:
        node.doc_string = ""
    onnx.save(model, str(path))


def quantize_dynamic(source: Path, target: Path) -> None:
    """int8 weights, activations quantized on the fly per batch: no calibration needed; the
    right choice for dense layers (MatMul)."""
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as quantize

    with _quiet(), _prepared(source) as prepared:
        quantize(prepared, target, weight_type=QuantType.QInt8)


def quantize_static(source: Path, target: Path, calibration: np.ndarray) -> None:
    """int8 weights (per output channel) and activations whose ranges come from calibration
    rows: convolutions then run as integer kernels (dynamic quantization of Conv is slow in
    onnxruntime)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
    )
    from onnxruntime.quantization import quantize_static as quantize

    class Rows(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(np.array_split(calibration, max(1, len(calibration) // 64)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {INPUT: batch.astype(np.float32)}

    with _quiet(), _prepared(source) as prepared:
        quantize(
            prepared,
            target,
            Rows(),
            quant_format=QuantFormat.QOperator,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )


def session(path: Path, threads: int = 1) -> Any:
    """An onnxruntime CPU session using `threads` intra-op threads (one inter-op)."""
    ort = require_export()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(sess: Any, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for standardised rows `X`, in batches."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    outs = [sess.run(None, {INPUT: X[i : i + batch_size]})[0] for i in range(0, len(X), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,), np.float32)


@contextlib.contextmanager
def _prepared(source: Path) -> Iterator[Path]:
    """The model after onnxruntime's pre-processing for quantization (shape inference and
    graph optimisation), in a temporary file."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared))
        yield prepared


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporter and the quantizer log and warn on the root logger (torchvision missing,
    "consider pre-processing", deprecations): none of it is the user's business."""
    loggers = [
        logging.getLogger(),
        logging.getLogger("torch.onnx"),
        logging.getLogger("onnxscript"),
    ]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
