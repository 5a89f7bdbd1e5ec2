"""`trainwell demo`: what trainwell is for, on the built-in digits, in well under a minute.

The data is audited; a healthy CNN is trained; beside it a network with a planted training
problem (eight sigmoid layers on plain SGD) is trained twice, once as it is and once with
the doctor repairing it; a compare page shows the repaired run beside the healthy one.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import pipeline
from .report import compare_runs, write_report_or_warn


@dataclass
class DemoResult:
    healthy: pipeline.Run
    untreated: pipeline.Run  # the planted problem, the doctor only watching
    repaired: pipeline.Run  # the same, the doctor repairing
    compare: Path  # the page with the repaired run beside the healthy one

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
        }


def demo(out: str | Path | None = None, *, progress: bool = False) -> DemoResult:
    configs = resources.files("trainwell") / "configs"
    healthy = pipeline.fit(str(configs / "demo.yaml"), out=out, progress=progress)
    write_report_or_warn(healthy.run_dir)
    broken = str(configs / "demo-broken.yaml")
    untreated = pipeline.fit(broken, out=out, doctor__mode="detect", checkpoints=False)
    repaired = pipeline.fit(broken, out=out, doctor__mode="repair", progress=progress)
    write_report_or_warn(repaired.run_dir)
    return DemoResult(healthy, untreated, repaired, compare_runs(repaired.run_dir, healthy.run_dir))
