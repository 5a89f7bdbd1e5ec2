"""Repair: roll back to the last healthy state, apply the next remedy, watch whether it cures.

A remedy cures a problem when its rule stays silent for `cure_epochs` epochs after it; if
the rule fires again, the next remedy in the order is tried, and after the last one the
doctor gives up and says so. Remedies that rebuild the model from scratch are tried only
while `rebuild_budget` of the epochs remain: later, a fresh model could not catch up.
Every attempt is recorded with its before/after evidence.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding
from ..train import Trainer
from ._remedies import (
    FROM_BEST,
    REBUILDS_MODEL,
    REMEDIES,
    NotApplicable,
    Rebuild,
    load_by_position,
    remedy_order,
)


@dataclass
class _Treatment:
    finding: Finding
    remaining: list[str]
    record: dict[str, Any] = field(default_factory=dict)
    applied_epoch: int = 0


class Repairer:
    """Holds the healthy and best states in memory and applies remedies in order."""

    def __init__(
        self,
        trainer: Trainer,
        rebuild: Rebuild,
        *,
        cure_epochs: int = 2,
        max_repairs: int = 8,
        rebuild_budget: float = 0.4,
    ) -> None:
        self.trainer, self.rebuild = trainer, rebuild
        self.cure_epochs, self.max_repairs = cure_epochs, max_repairs
        self.rebuild_budget = rebuild_budget  # share of the epochs a rebuilt model needs left
        self.repairs: list[dict[str, Any]] = []
        self._treating: dict[str, _Treatment] = {}
        self._healthy = trainer.snapshot()
        self._best: tuple[float, int, dict[str, Any]] | None = None  # val loss, epoch, weights
        self.restored_epoch: int | None = None  # whose weights a stop_early put back

    def treat(self, finding: Finding, step: int | None) -> bool:
        """Apply the next remedy for `finding`; False when there is none left (gave up)."""
        treatment = self._treating.get(finding.code)
        if treatment is None:
            tried = {r["remedy"] for r in self.repairs if r["finding"] == finding.code}
            order = remedy_order(finding, self.rebuild.config)
            treatment = _Treatment(finding, [name for name in order if name not in tried])
            self._treating[finding.code] = treatment
        else:  # the rule fired again: the last remedy did not cure it
            treatment.record["cured"] = False
        trainer = self.trainer
        if trainer.epoch > (1 - self.rebuild_budget) * trainer.epochs:
            # too late to train a rebuilt model from scratch: try the cheaper remedies
            treatment.remaining = [n for n in treatment.remaining if n not in REBUILDS_MODEL]
        if not treatment.remaining or len(self.repairs) >= self.max_repairs:
            return self._give_up(treatment, "no remedy left to try")
        skipped: list[str] = []
        while True:
            name = treatment.remaining.pop(0)
            try:
                changed = self._apply(name)
                break
            except NotApplicable as why:
                skipped.append(f"{name}: {why}")
                if not treatment.remaining:
                    return self._give_up(treatment, "; ".join(skipped))
        treatment.record = {
            "step": step,
            "epoch": finding.epoch if finding.epoch is not None else trainer.epoch,
            "remedy": name,
            "finding": finding.code,
            "changed": changed,
            "before": _key_evidence(finding),
            "after": None,
            "cured": None,
        }
        if skipped:
            treatment.record["skipped"] = skipped
        if name == "stop_early":
            treatment.record["restored_epoch"] = self.restored_epoch
        treatment.applied_epoch = trainer.epoch
        self.repairs.append(treatment.record)
        finding.remedy = name
        if name == "stop_early":
            self._cured(treatment, {})
        return True

    def _apply(self, name: str) -> str:
        """Apply remedy `name` from the right starting point; returns what it changed."""
        trainer = self.trainer
        if name == "stop_early":
            return self._stop_early()
        if name in FROM_BEST:  # the best weights, before the network memorised more noise
            self._put_back_best()
            changed = REMEDIES[name](trainer, self.rebuild)
            self._healthy = trainer.snapshot()
            return changed
        if name not in REBUILDS_MODEL:
            trainer.restore(self._healthy)  # undo what the problem did, keep the model
        changed = REMEDIES[name](trainer, self.rebuild)
        if name in REBUILDS_MODEL:
            self._healthy = trainer.snapshot()
        self._best = None  # the best so far was reached under the problem
        return changed

    def epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """Count epochs since each remedy; keep the healthy and the best states."""
        for code, treatment in list(self._treating.items()):
            if treatment.record and epoch + 1 - treatment.applied_epoch >= self.cure_epochs:
                self._cured(treatment, metrics)
                del self._treating[code]
        if not self._treating and math.isfinite(metrics.get("train_loss", math.nan)):
            self._healthy = self.trainer.snapshot()
        val = metrics.get("val_loss", math.nan)
        if math.isfinite(val) and (self._best is None or val < self._best[0]):
            self._best = (val, epoch, copy.deepcopy(self.trainer.model.state_dict()))

    def finish(self, metrics: dict[str, float]) -> None:
        """At the end of the fit, a remedy whose problem did not come back has cured it."""
        for treatment in self._treating.values():
            if treatment.record and treatment.record["cured"] is None:
                self._cured(treatment, metrics)
        self._treating.clear()

    def _put_back_best(self) -> int | None:
        """Load the best weights so far (by val loss); returns their epoch."""
        if self._best is None:
            return None
        _, epoch, weights = self._best
        load_by_position(self.trainer.model, weights)  # the model may have gained dropout
        return epoch

    def _stop_early(self) -> str:
        epoch = self.restored_epoch = self._put_back_best()
        if epoch is None:
            self.trainer.request_stop("overfitting: stopped early")
            return "stopped early"
        self.trainer.request_stop(f"overfitting: stopped early, restored epoch {epoch}")
        return f"stopped early and restored the weights of epoch {epoch}"

    def _cured(self, treatment: _Treatment, metrics: dict[str, float]) -> None:
        treatment.record["cured"] = True
        treatment.record["after"] = {
            k: metrics[k] for k in ("train_loss", "val_loss", "val_accuracy") if k in metrics
        }
        treatment.finding.resolved = True
        treatment.finding.message += (
            f" Repaired by {treatment.record['remedy']} ({treatment.record['changed']})."
        )

    def _give_up(self, treatment: _Treatment, why: str) -> bool:
        tried = [r["remedy"] for r in self.repairs if r["finding"] == treatment.finding.code]
        treatment.finding.resolved = False
        treatment.finding.message += (
            f" The doctor gave up repairing it ({why}; tried: {', '.join(tried) or 'nothing'})."
        )
        self._treating.pop(treatment.finding.code, None)
        return False


def _key_evidence(finding: Finding) -> dict[str, Any]:
    """The scalar evidence of a finding (lists are too long for a repair record)."""
    return {k: v for k, v in finding.evidence.items() if not isinstance(v, list)}
