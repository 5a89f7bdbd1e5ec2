"""`trainwell demo`: what trainwell is for, on the built-in digits, in well under a minute.

The data is audited; a healthy CNN is trained; beside it a network with a planted training
problem (eight sigmoid layers on plain SGD) is trained twice, once as it is and once with
the doctor repairing it; a compare page shows the repaired run beside the healthy one. Each
capability that works on a trained model then adds one line about the healthy CNN: how it
is explained, how robust it is, how small it gets (a missing extra says how to add it).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import pipeline
from .errors import InputError
from .report import compare_runs, write_report_or_warn


@dataclass
class DemoResult:
    healthy: pipeline.Run
    untreated: pipeline.Run  # the planted problem, the doctor only watching
    repaired: pipeline.Run  # the same, the doctor repairing
    compare: Path  # the page with the repaired run beside the healthy one
    capabilities: dict[str, str]  # one line each: explain, attack, compress

    @property
    def run_dir(self) -> Path:
        return self.healthy.run_dir

    def summary(self) -> dict[str, Any]:
        """The healthy run's `--json` object, plus the planted problem's two runs and the
        compare page."""
        return self.healthy.summary() | {
            "untreated": self.untreated.summary(),
            "repaired": self.repaired.summary(),
            "compare": str(self.compare),
            "capabilities": self.capabilities,
        }


def demo(out: str | Path | None = None, *, progress: bool = False) -> DemoResult:
    configs = resources.files("trainwell") / "configs"
    healthy = pipeline.fit(str(configs / "demo.yaml"), out=out, progress=progress)
    capabilities = {name: _line(line, healthy) for name, line in _CAPABILITIES.items()}
    write_report_or_warn(healthy.run_dir)
    broken = str(configs / "demo-broken.yaml")
    untreated = pipeline.fit(broken, out=out, doctor__mode="detect", checkpoints=False)
    repaired = pipeline.fit(broken, out=out, doctor__mode="repair", progress=progress)
    write_report_or_warn(repaired.run_dir)
    compare = compare_runs(repaired.run_dir, healthy.run_dir)
    return DemoResult(healthy, untreated, repaired, compare, capabilities)


def _line(job, run: pipeline.Run) -> str:
    try:
        return job(run)
    except InputError as exc:  # an optional extra that is not installed
        return str(exc)


def _explained(run: pipeline.Run) -> str:
    from .explain import explain

    result = explain(run, rows=200)
    said = "integrated gradients on 200 test images"
    if result.faithfulness is not None:
        said += (
            f"; deleting pixels in their order, the area under the class's probability is "
            f"{result.faithfulness.ratio:.2f} of a random order's"
        )
    return said + _codes(result.findings)


def _attacked(run: pipeline.Run) -> str:
    from .robust import attack

    result = attack(run, rows=200)
    return (
        f"PGD at ε {result.eps:g} of the pixel range leaves {result.robust_accuracy:.0%} of "
        f"{result.clean_accuracy:.0%} accuracy" + _codes(result.findings)
    )


def _compressed(run: pipeline.Run) -> str:
    from .compress import compress

    result = compress(run, rounds=10)
    fp32, int8 = (next(v for v in result.variants if v.name == n) for n in ("fp32", "int8"))
    return (
        f"int8 ONNX: {int8.bytes / fp32.bytes:.2f}x the file, {int8.agreement:.1%} agreement "
        f"with the full model" + _codes(result.findings)
    )


def _codes(findings: list) -> str:
    codes = sorted({f.code for f in findings if f.severity != "info"})
    return f" ({', '.join(codes)})" if codes else ""


_CAPABILITIES = {"explain": _explained, "attack": _attacked, "compress": _compressed}
