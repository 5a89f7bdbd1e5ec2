"""Compress and export a trained run for limited hardware: structured pruning (a smaller
dense network), ONNX export, int8 quantization; every variant verified on the test split,
timed, and loadable (`load_run` for PyTorch variants, `OnnxModel` for ONNX ones).

onnx, onnxscript and onnxruntime come with the `export` extra: pip install "trainwell[export]".
"""

from ._checks import Check, Tolerances, check_accuracy, check_export, check_smaller
from ._compress import SCORE, compress
from ._model import OnnxModel
from ._onnx import MissingExtra, export_onnx
from ._prune import Pruned, importance, prune_network
from ._result import Compression, Variant

__all__ = [
    "SCORE",
    "Check",
    "Compression",
    "MissingExtra",
    "OnnxModel",
    "Pruned",
    "Tolerances",
    "Variant",
    "check_accuracy",
    "check_export",
    "check_smaller",
    "compress",
    "export_onnx",
    "importance",
    "prune_network",
]
