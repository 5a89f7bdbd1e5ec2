"""`compress(run)`: the fp32 model exported to ONNX, quantized to int8, pruned and
fine-tuned, each variant verified on the test split and timed; all written to
`RUN_DIR/compressed/` at once (built in a staging directory, then renamed into place).

Variants (each in `compressed/<name>/`, the fp32 one is the run itself):
fp32 (PyTorch) -> onnx -> int8;  fp32 -> pruned (PyTorch, a run directory) -> pruned-onnx
-> pruned-int8. int8 is dynamic (weights int8, activations quantized per batch) for dense
networks, static (activation ranges calibrated on training rows) for CNNs.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from torch import nn

from ..data import load_splits, standardise
from ..errors import InputError
from ..findings import Finding
from ..models import Network
from ..pipeline import Run, load_run
from ..runs import staged_dir, write_json
from ._checks import Check, Tolerances, check_accuracy, check_export, check_smaller
from ._finetune import finetune as finetune_pruned
from ._finetune import point_summary_at
from ._measure import latencies, onnx_runner, torch_runner
from ._onnx import export_onnx, quantize_dynamic, quantize_static, require_export, run_session
from ._onnx import session as onnx_session
from ._prune import count_parameters, prune_network
from ._result import Compression, Variant

SCORE = "std(activation) x |outgoing weights| on training rows, the mean moved to the next bias"
_MAX_SCORE_ROWS, _CALIBRATION_ROWS = 2048, 256
_DEFAULT = Tolerances()


def compress(
    run: Run | str | Path,
    *,
    prune: float | None = None,
    quantize: str | None = "int8",
    finetune: int = 10,
    threads: int = 1,
    rounds: int = 30,
    tolerances: Tolerances = _DEFAULT,
    progress: bool = False,
) -> Compression:
    """Export, quantize and (with `prune`, the fraction of hidden units and channels to
    remove) prune a trained run, then fine-tune it for `finetune` epochs; verify and time
    every variant; write `compressed/`. `quantize=None` skips the int8 variants.

    `run` is a run directory or a `Run` (`load_run(path, model)` for your own module: it
    is exported and quantized; pruning needs a trainwell mlp or cnn). Latencies use
    `threads` threads for PyTorch and onnxruntime alike, median of `rounds` rounds.
    """
    _validate(prune, quantize, finetune, threads, rounds)
    run = run if isinstance(run, Run) else load_run(Path(run).resolve())
    if prune is not None and not isinstance(run.model, Network):
        raise InputError("pruning needs a trainwell mlp or cnn; this run trained your own module")
    if prune is not None and run.config.model.arch == "resnet":
        raise InputError(
            "pruning needs a trainwell mlp or cnn: a resnet's residual additions tie the "
            "widths of its blocks (use --quantize int8)"
        )
    require_export()
    started = time.perf_counter()
    say = _Say(progress)
    say("loading the data")
    rows = _rows(run)
    final = run.run_dir / "compressed"
    with staged_dir(final) as staging:
        job = _Job(run, rows, final, staging, tolerances, threads, say)
        job.all(prune, quantize, finetune, progress)
        say(f"timing {len(job.runners)} variants at batch 1 and 64 ({threads} thread(s))")
        times = latencies(job.runners, job.X_test, threads=threads, rounds=rounds)
        for variant in job.variants:
            variant.latency_ms = times[variant.name]
        result = Compression(
            run.run_dir,
            job.variants,
            job.checks,
            job.findings,
            threads,
            len(job.y_test),
            job.pruning,
            time.perf_counter() - started,
        )
        write_json(staging / "compress.json", result.to_dict())
    return result


class _Job:
    """Builds the variants one after another into the staging directory."""

    def __init__(self, run, rows, final, staging, tolerances, threads, say) -> None:
        self.run, self.final, self.staging, self.threads = run, final, staging, threads
        self.tol, self.say = tolerances, say
        self.X_test, self.y_test, self.X_train = rows  # standardised, as the network takes them
        self.classification = run.info.task == "classification"
        self.variants: list[Variant] = []
        self.runners: dict[str, Any] = {}
        self.checks: list[Check] = []
        self.findings: list[Finding] = []
        self.outputs: dict[str, np.ndarray] = {}
        self.pruning: dict[str, Any] | None = None

    def all(self, prune, quantize, epochs, progress) -> None:
        model = copy.deepcopy(self.run.model).cpu().float().eval()
        self.add_torch("fp32", model, self.run.run_dir, None)
        self.add_onnx("onnx", "fp32", model, quantize=None)
        if quantize:
            self.add_onnx("int8", "onnx", model, quantize=quantize)
        if prune is None:
            return
        self.say(f"pruning {100 * prune:.0f}% of the hidden units and channels")
        info, spec = self.run.info, self.run.config.model
        pruned = prune_network(
            model,
            spec,
            info.input_shape,
            info.n_outputs,
            torch.from_numpy(self.X_train),
            prune,
            regression=not self.classification,
        )
        self.say(f"fine-tuning the pruned network for {epochs} epochs (doctor on)")
        target = self.staging / "pruned"
        tuned = finetune_pruned(self.run, pruned, epochs, target, progress=progress)
        point_summary_at(target, self.final / "pruned")
        small = tuned.model.cpu().float().eval()
        self.add_torch("pruned", small, target, "fp32")
        fp32 = self.variants[0]
        pruned_row = self.variants[-1]
        self._check(
            check_smaller(
                "pruned", pruned_row.parameters, pruned_row.bytes, fp32.parameters, fp32.bytes
            )
        )
        self.add_onnx("pruned-onnx", "pruned", small, quantize=None)
        if quantize:
            self.add_onnx("pruned-int8", "pruned-onnx", small, quantize=quantize)
        self.pruning = {
            "fraction": prune,
            "score": SCORE,
            "widths": {k: list(v) for k, v in pruned.widths.items()},
            "finetune": {
                "epochs": epochs,
                "run_dir": str(self.final / "pruned"),
                "status": tuned.status,
                "findings": [f.to_dict() for f in tuned.findings],
            },
        }

    def add_torch(self, name: str, model: nn.Module, directory: Path, source: str | None) -> None:
        with torch.inference_mode():
            out = torch.cat([model(x) for x in torch.from_numpy(self.X_test).split(1024)])
        if source is None and not torch.isfinite(out).all():
            raise InputError(
                f"{self.run.run_dir} gives non-finite outputs on its test rows (status "
                f"{self.run.status}): there is nothing worth compressing"
            )
        self._record(name, out.float().numpy(), directory / "model.pt", model, source)
        self.runners[name] = torch_runner(model)
        if source is not None:  # pruned
            self._check(*self._accuracy_check(self.variants[-1], pruned=True))

    def add_onnx(self, name: str, source: str, model: nn.Module, *, quantize: str | None) -> None:
        directory = self.staging / name
        directory.mkdir()
        file = directory / "model.onnx"
        if quantize is None:
            self.say(f"exporting {name} (ONNX)")
            export_onnx(model, torch.from_numpy(self.X_test[:2]), file)
        else:
            has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
            self.say(f"quantizing {name} ({'static, calibrated' if has_conv else 'dynamic'})")
            onnx_source = self.staging / source / "model.onnx"
            if has_conv:
                quantize_static(onnx_source, file, self.X_train[:_CALIBRATION_ROWS])
            else:
                quantize_dynamic(onnx_source, file)
        write_json(directory / "data.json", asdict(self.run.info))
        sess = onnx_session(file, self.threads)  # as many threads as PyTorch when timed
        out = run_session(sess, self.X_test)
        self._record(name, out, file, model, source)
        self.runners[name] = onnx_runner(sess)
        variant = self.variants[-1]
        if quantize is not None:
            self._check(*self._accuracy_check(variant, pruned=name.startswith("pruned")))
            return
        reference = self.outputs[source]
        agreement = _agreement(out, reference) if self.classification else None
        scale = float(np.abs(reference).max())
        self._check(*check_export(name, variant.max_abs_diff, scale, agreement, self.tol))

    def _record(
        self, name: str, out: np.ndarray, written: Path, model: nn.Module, source: str | None
    ) -> None:
        """A variant's row, from its outputs on the test rows and the file written."""
        self.outputs[name] = out
        path = self.final / name if written.parent == self.staging / name else written.parent
        variant = Variant(
            name,
            path,
            path / written.name,
            "onnx" if written.suffix == ".onnx" else "pytorch",
            count_parameters(model),
            written.stat().st_size,
            source=source,
        )
        if source is not None:
            variant.max_abs_diff = float(np.abs(out - self.outputs[source]).max())
        if self.classification:
            variant.accuracy = float((out.argmax(1) == self.y_test).mean())
            variant.agreement = _agreement(out, self.outputs["fp32"])
        self.variants.append(variant)

    def _check(self, check: Check, finding: Finding | None = None) -> None:
        self.checks.append(check)
        if finding is not None:
            self.findings.append(finding)

    def _accuracy_check(self, variant: Variant, *, pruned: bool):
        return check_accuracy(
            variant.name,
            variant.agreement,
            variant.accuracy,
            self.variants[0].accuracy,
            pruned=pruned,
            tol=self.tol,
        )


def _agreement(out: np.ndarray, reference: np.ndarray) -> float:
    return float((out.argmax(1) == reference.argmax(1)).mean())


def _rows(run: Run) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test rows and labels, and training rows (for importance scores and calibration),
    standardised as the network takes them; rows with missing values are left out."""
    data = load_splits(run.config)
    X_test, y_test = standardise(data.test.X, run.info), data.test.y
    finite = np.isfinite(X_test.reshape(len(X_test), -1)).all(1)
    X_train = standardise(data.train.X, run.info)
    X_train = X_train[np.isfinite(X_train.reshape(len(X_train), -1)).all(1)]
    rng = np.random.default_rng(run.config.seed)
    X_train = X_train[rng.permutation(len(X_train))[:_MAX_SCORE_ROWS]]
    if not finite.any() or not len(X_train):
        raise InputError("no test or training row without missing values to compress against")
    return X_test[finite], y_test[finite], X_train


def _validate(prune, quantize, epochs, threads, rounds) -> None:
    if prune is not None and not 0 < prune < 1:
        raise InputError(f"--prune must be a fraction between 0 and 1 (exclusive); got {prune}")
    if quantize not in (None, "int8"):
        raise InputError(f"--quantize must be int8 or none; got {quantize!r}")
    if epochs < 0:
        raise InputError(f"--finetune must be 0 or more epochs; got {epochs}")
    if threads < 1 or rounds < 1:
        raise InputError(f"threads and rounds must be at least 1; got {threads}, {rounds}")


class _Say:
    """One line on stderr per step, on a terminal only (nothing under --json or a pipe)."""

    def __init__(self, enabled: bool) -> None:
        self.console = Console(stderr=True) if enabled else None

    def __call__(self, text: str) -> None:
        if self.console is not None:
            self.console.print(f"[dim]compress:[/] {text}", highlight=False)
