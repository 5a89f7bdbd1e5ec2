"""The validation loss that jumps up and down with the steps, where `overfitting`
(`_val_rules.py`) would read a climb: a learning rate too high for the model, or batch
norm's running statistics, to settle. Reported as an oscillating loss.

A rule is `(history, thresholds) -> Finding | None`, run after every epoch.
"""

from __future__ import annotations

import itertools
import math

from ..findings import Finding
from ._curve_base import _finite, _judged, _run_epoch, _scale
from ._history import ProbeHistory
from ._rule_base import Thresholds, finding
from ._val_rules import _above_best, _jumping


def jumping_val_loss(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The val loss stays up after its best as `overfitting` describes, but jumps up and
    down (`_zigzag`), or it jumped and fell back twice or more (`_jumps`) at a rate no
    schedule moved (a healthy one-cycle run's val loss jumped twice near its peak rate:
    held-out-37), while the learning rate is where it was at its highest: the weights move
    too far each epoch for the model, or batch norm's running statistics, to settle, and no
    schedule is lowering the rate to calm it (a decaying one will; a healthy ResNet at 0.1
    jumps like this mid-run under cosine decay). Reported as an oscillating loss: the
    training loss, averaged over an epoch, can fall smoothly all the while."""
    if not _judged(h, t):
        return None
    train, val = h.curve("train_loss"), h.curve("val_loss")
    rates = [r for r in h.curve("lr") if math.isfinite(r)]
    if rates and rates[-1] < t.jump_rate_kept * max(rates):
        return None  # a schedule is lowering the rate
    above = _above_best(h, train, val, t)
    if above is not None and _jumping(h, train, val, above, t):
        best = above[0]
        head = (
            f"{val[-1] / val[best] - 1:.0%} above its best (epoch {_run_epoch(h, best)}), "
            f"after falling back from {max(val[best:]):.3g}"
        )
    elif rates and max(rates) <= CONSTANT * min(rates) and len(jumps := _jumps(h, t)) >= JUMPS:
        best = val.index(min(val))
        epochs = ", ".join(str(_run_epoch(h, j)) for j in jumps)
        head = (
            f"it rose {len(jumps)} times to {t.overfit_rise:.0%} or more above its lowest so "
            f"far, the val accuracy falling with it, and fell back (epochs {epochs})"
        )
    else:
        return None
    return finding(
        "oscillating_loss",
        "warning",
        f"The validation loss jumps up and down: {head}, while the training loss falls. The "
        f"learning rate is probably too high for the model to settle: lower it, or decay it "
        f"with a schedule.",
        h,
        per_epoch=True,
        val_loss=val,
        train_loss=train,
        best_epoch=_run_epoch(h, best),
        threshold=t.overfit_rise,
    )


JUMPS = 2  # jumps of the val loss that fell back, at least (`_jumps`), at a rate ...
CONSTANT = 1.01  # ... no schedule moved: one in a one-cycle's warm-up jumps near its peak


def _jumps(h: ProbeHistory, t: Thresholds) -> list[int]:
    """The epochs whose val loss jumped to `overfit_rise` above its lowest so far (and
    `overfit_floor` of its scale: near a perfect fit a few examples move it), the val
    accuracy `overfit_jump` below its best so far, and fell back at the next epoch, by half
    the jump or more and the accuracy by `overfit_jump` (a small validation set's accuracy
    that settles below a lucky best is no jump): the predictions changed wholesale and
    changed back, while the train loss fell (a batch-norm CNN under Adam at 0.05: the val
    loss 0.99 -> 1.36 -> 1.14, the accuracy 0.645 -> 0.565 -> 0.67; held-out-38). A jump
    stays up for a single epoch, and so is no overfitting's climb, which `_above_best`
    reads; one that takes two epochs to come down is one jump. Not where the network had
    memorised its training data (train loss under `1 / memorised_gap` of the val loss's
    lowest): its val loss swings with the confidence of what it memorised."""
    train, val = h.curve("train_loss"), h.curve("val_loss")
    accuracy = h.curve("val_accuracy") if "val_accuracy" in h.curves[-1] else []
    if len(val) < t.min_epochs or not _finite(val) or not _finite(train):
        return []
    if len(accuracy) != len(val) or not _finite(accuracy) or train[-1] >= train[0]:
        return []
    noise = t.overfit_floor * _scale(val, h)
    lows = list(itertools.accumulate(val, min))  # the lowest val loss up to each epoch
    bests = list(itertools.accumulate(accuracy, max))  # ... and the best accuracy
    jumps = []
    for i in range(1, len(val) - 1):
        low = lows[i - 1]
        rise = val[i] - low
        if i - 1 in jumps or rise < max(t.overfit_rise * low, noise):
            continue  # (the second epoch of a jump coming down is the same jump)
        if train[i] * t.memorised_gap < low:
            continue
        fell = bests[i - 1] - accuracy[i] >= t.overfit_jump
        back = accuracy[i + 1] - accuracy[i] >= t.overfit_jump
        if fell and back and val[i + 1] <= val[i] - rise / 2:
            jumps.append(i)
    return jumps
