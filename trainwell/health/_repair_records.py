"""What a repair record holds: the evidence behind a remedy, the epoch it was applied in,
the metrics after it (`Repairer.repairs`, shown in the report and the run summary)."""

from __future__ import annotations

from typing import Any

from ..findings import Finding
from ..train import Trainer
from ._evidence import Evidence


def cause_of(evidence: Evidence) -> dict[str, Any]:
    """The evidence behind the choice of the first remedy, for the finding's record."""
    return {
        k: v if not isinstance(v, float) else float(f"{v:.4g}")
        for k, v in vars(evidence).items()
        if v is not None
    }


def epoch_of(finding: Finding, trainer: Trainer, *, again: bool) -> int:
    """The epoch a remedy was applied in: the finding's, or for a remedy that follows one
    that did not cure, the epoch just finished."""
    if again or finding.epoch is None:
        return max(trainer.epoch - 1, 0) if trainer.history else trainer.epoch
    return finding.epoch


def metrics_after(metrics: dict[str, float]) -> dict[str, float]:
    return {k: metrics[k] for k in ("train_loss", "val_loss", "val_accuracy") if k in metrics}


def key_evidence(finding: Finding) -> dict[str, Any]:
    """The scalar evidence of a finding (lists are too long for a repair record)."""
    return {k: v for k, v in finding.evidence.items() if not isinstance(v, list | dict)}
