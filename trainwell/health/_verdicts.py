"""The verdicts on a remedy: cured, not cured (and undone where it can be), unconfirmed, or
given up; and the evidence they are judged on — the losses since the remedy, whether a
network treated when it was not learning learns now, whether it beat the best weights it
started from, whether its validation loss ran away. `Repairer` (`_repair.py`) decides when
each is due."""

from __future__ import annotations

import math

from ..train import Trainer
from ._history import data_loss
from ._kept_weights import monitored
from ._rebuild import Rebuild
from ._remedy_order import UNDO
from ._repair_records import metrics_after
from ._rules import Thresholds, stalled
from ._treatment import Treatment


def losses_since(trainer: Trainer, treatment: Treatment) -> list[float]:
    """The epoch training losses of the treated network since the remedy: a remedy applied
    at an epoch's last step leaves that epoch no loss of its own (a rebuilt network's losses
    start afresh), and a cure cannot be judged on epochs it did not train."""
    rows = trainer.history[treatment.applied_epoch :]
    return [loss for loss in map(data_loss, rows) if math.isfinite(loss)]


def not_learning(
    trainer: Trainer, treatment: Treatment, loss: float, prior_loss: float | None, t: Thresholds
) -> bool:
    """Whether a network treated when it was not learning still is not: its loss is at the
    class prior's level and has not fallen since the remedy, below where it started or the
    prior's loss, whichever is lower (a rebuilt network often starts above the prior's
    loss: reaching it is learning the class frequencies, nothing more)."""
    if not (treatment.was_stalled and stalled(loss, prior_loss, t.prior_share)):
        return False
    since = losses_since(trainer, treatment)
    falling = 1 - t.plateau_drop  # as the curve rules call a loss falling
    return not (len(since) >= 2 and loss < falling * min(since[0], prior_loss))


def beat_its_start(trainer: Trainer, treatment: Treatment) -> bool:
    """Whether the network beat, after the remedy, the best weights it started from (kept
    across the remedy): an overfitting remedy that did not is no cure; a data change that
    did (rows whose labels look wrong dropped, images augmented) stays though the
    overfitting came back, so that the next remedy builds on it."""
    best = trainer.best.epoch
    return best is not None and best >= treatment.applied_epoch


def ran_away(trainer: Trainer, since: int, metrics: dict[str, float], t: Thresholds) -> bool:
    """Whether the epoch's validation loss is `runaway_factor` times the best since epoch
    `since` (the last remedy's): the validation data shows weights flown off before any rule
    can speak, and no rollback should return to them."""
    val = metrics.get("val_loss")
    earlier = [
        row["val_loss"]
        for row in trainer.history
        if row is not metrics and row.get("epoch", 0) > since and "val_loss" in row
    ]
    best = min((v for v in earlier if math.isfinite(v)), default=None)
    if val is None or best is None or best <= 0:
        return False
    return not math.isfinite(val) or val > t.runaway_factor * best


def prior_named(trainer: Trainer) -> str:
    """Whose loss the prior's is, in words: the class prior's, or the targets' mean's."""
    if trainer.task == "classification":
        return "the class prior's"
    return "predicting the targets' mean"


def cured(trainer: Trainer, treatment: Treatment, metrics: dict[str, float]) -> None:
    treatment.record["cured"] = True
    treatment.record["judged_epoch"] = len(trainer.history) - 1
    treatment.record["after"] = metrics_after(metrics)
    treatment.finding.resolved = True
    treatment.finding.message += (
        f" Repaired by {treatment.record['remedy']} ({treatment.record['changed']})."
    )


def not_cured(trainer: Trainer, rebuild: Rebuild, treatment: Treatment, why: str) -> None:
    """Not cured, and why; a remedy that can be undone is, unless it is a data change whose
    network beat its start (`beat_its_start`)."""
    treatment.record["cured"] = False
    treatment.record["why_not"] = why
    treatment.record["judged_epoch"] = len(trainer.history) - 1
    if trainer.history:
        treatment.record["after"] = metrics_after(trainer.history[-1])
    undo = UNDO.get(treatment.record["remedy"])
    if undo is None:
        return
    if beat_its_start(trainer, treatment):
        treatment.record["kept"] = (
            f"the change stays: the {monitored(trainer)} beat its best before the remedy, "
            "and what overfits still is for the next remedy"
        )
        return
    treatment.record["undone"] = undo(trainer, rebuild)


def unconfirmed(trainer: Trainer, treatment: Treatment, seen: int) -> None:
    """The run ended `seen` epochs after the remedy, too few for its rule to judge it."""
    treatment.record["after"] = metrics_after(trainer.history[-1] if seen else {})
    treatment.finding.resolved = False
    treatment.finding.message += (
        f" Treated by {treatment.record['remedy']} ({treatment.record['changed']}); the "
        f"run ended {seen} epoch(s) later, before the rule could judge the cure (it needs "
        f"{treatment.needs_epochs})."
    )


def gave_up(treatment: Treatment, tried: list[str], why: str) -> None:
    treatment.finding.resolved = False
    treatment.finding.message += (
        f" The doctor gave up repairing it ({why}; tried: {', '.join(tried) or 'nothing'})."
    )
