"""What `compress` gives back and writes as `compressed/compress.json`: one row per variant
(the table), the checks, the findings, and how the pruned network was made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..findings import Finding
from ._checks import Check


@dataclass
class Variant:
    """One model and its figures. `path` is what opens it: a run directory for PyTorch
    variants (`load_run(path)`), a directory with model.onnx and data.json for ONNX ones
    (`OnnxModel(path)`). Accuracy and agreement are on the test split; agreement is the
    share of test rows given the same class as the fp32 PyTorch model; `max_abs_diff`
    compares the outputs with those of `source`, the model this one was made from."""

    name: str
    path: Path
    file: Path
    format: str  # pytorch | onnx
    parameters: int
    bytes: int
    latency_ms: dict[str, float] = field(default_factory=dict)  # batch size -> ms per call
    accuracy: float | None = None
    agreement: float | None = None
    max_abs_diff: float | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "file": str(self.file)}


@dataclass
class Compression:
    """The result of `trainwell.compress(run)`; `to_dict()` is `compress --json`."""

    run_dir: Path
    variants: list[Variant]
    checks: list[Check]
    findings: list[Finding]
    threads: int
    test_rows: int
    pruning: dict[str, Any] | None = None  # fraction, score, widths, the fine-tune run
    seconds: float = 0.0

    @property
    def out_dir(self) -> Path:
        return self.run_dir / "compressed"

    @property
    def report_dirs(self) -> list[Path]:
        """The pages to (re)write: the fine-tune's run, then the run's (which links to it)."""
        tuned = (self.pruning or {}).get("finetune", {}).get("run_dir")
        return [*([Path(tuned)] if tuned else []), self.run_dir]

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "variants": [v.to_dict() for v in self.variants],
            "checks": [c.to_dict() for c in self.checks],
            "findings": [f.to_dict() for f in self.findings],
            "threads": self.threads,
            "test_rows": self.test_rows,
            "pruning": self.pruning,
            "seconds": round(self.seconds, 2),
        }
