"""How many epochs a network rebuilt from scratch would train (`Repairer` tries a rebuild
only where they are `rebuild_budget` of the run's budget or more).

A network that falls short of what its data allows (`REBUILT_WHEN_LATE`) is no model worth
keeping: rebuilt late (a CNN of two channels on dice, 0.43 where 24-48 channels reach 0.94,
told at epoch 9 of 14), it still gets the epochs a rebuild needs, the run lengthened past
its budget if need be; so long as it is as good now as at its best (`at_its_best`), which
shows what it can do: one knocked off its best is not short of capacity. Others keep their
network when too few epochs are left to train a new one.
"""

from __future__ import annotations

import math

from ..train import Trainer

REBUILT_WHEN_LATE = ("underfitting",)
AT_ITS_BEST = 1.1  # the last val loss within 10% of the best epoch's


def rebuild_epochs(trainer: Trainer, code: str, budget: int, share: float) -> int:
    """The epochs a network rebuilt now for `code` would train: those left, or for one that
    falls short, at its best, at least `share` of the `budget`, the run lengthened by up to
    that share of it."""
    left = trainer.epochs - trainer.epoch
    if code not in REBUILT_WHEN_LATE or not at_its_best(trainer):
        return left
    least = math.ceil(share * budget)
    return max(left, min(least, budget + least - trainer.epoch))


def at_its_best(trainer: Trainer) -> bool:
    """Whether the network's last val loss is within `AT_ITS_BEST` of its best epoch's (yes
    where either is unknown)."""
    rows, best = trainer.history, trainer.best.epoch
    at_best = next((row.get("val_loss") for row in rows if row.get("epoch") == best), None)
    now = rows[-1].get("val_loss") if rows else None
    if at_best is None or now is None or not 0 < at_best < math.inf:
        return True
    return now <= AT_ITS_BEST * at_best
