"""Validation rules: what the validation loss, read against the training loss, says of the
epochs so far: a network that overfits, a validation that never learned what training did.
A validation loss that jumps with the steps is `_jump_rules.py`'s.

Each rule is `(history, thresholds) -> Finding | None` and runs after every epoch, as the
other curve rules (`_curve_rules.py`).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..findings import Finding
from ._curve_base import _finite, _raised_into, _run_epoch, _scale
from ._history import ProbeHistory
from ._rule_base import Thresholds, finding

# a validation loss whose best stays at this share of knowing nothing's or above never
# learned: a first epoch's near-uniform predictions score 1-2% below it
NEVER_BEAT_SHARE = 0.98


def overfitting(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The val loss has stayed `overfit_rise` above the best it held (`_held_best`: not a
    lucky epoch) for the last two epochs, the best reached >= `overfit_patience` epochs
    ago, while the train loss fell by another 10% or more (SageMaker Overfit compares val to
    train loss; the rise of val over its own best is robust to the train/val scale, and the
    two conditions keep noisy curves from firing).
    Near a perfect fit a relative rise is easy: the rise must also be `overfit_floor` of the
    val loss's scale (the first one, or the class prior's when lower), or it is a few
    examples of a small validation set growing more confident: on iris, wine or
    breast_cancer a healthy run's val loss drifts up 2-4% of that scale. Nor where the val
    loss stands less than that floor above a train loss that measures what it does
    (`train_as_val`: no dropout, augmentation or penalty in it): there is no gap between
    what the network fits and what carries to new rows (a healthy iris MLP's val loss rose
    from 0.016 to 0.056, its train loss 0.052, at an accuracy one row of 30 below). Nor a rise that
    began in an epoch where the train loss rose too and falls back since (`_bumped`). A
    val loss that rose in each of the last `overfit_climb` epochs is no noise:
    `overfit_climb_rise` above its best is enough then. Not when it jumps up and down
    (`_zigzag`) and is not climbing now (`_jumping`): the steps are too large, and
    `jumping_val_loss` names it where no schedule lowers them. Nor while a warm restart
    since the best holds the rate above the low it restarted from (`_restarted`). Nor while
    the val accuracy (where there is one) is still rising above where it was at the val
    loss's best (`_more_accurate`), nor while the train loss is no lower than knowing nothing scores
    (the class prior's): a network that fits its training data no better has memorised
    none of it, its val loss swings with the steps. A val loss that never rose is overfitting
    too where the network memorises its rows (`_memorised`), or, in a loop, where validation
    never learned what training did (`_validation_apart`)."""
    train, val = h.curve("train_loss"), h.curve("val_loss")
    untrained = h.untrained_loss()
    if untrained > 0 and train and not train[-1] < untrained:
        return None
    above = _above_best(h, train, val, t, bumps_count=False)
    if (
        above is not None
        and h.train_as_val
        and val[-1] - train[-1] < t.overfit_floor * _scale(val, h)
    ):
        above = None  # validation no worse than training: no fit that fails to carry
    if above is not None and _carried_by_few_rows(h, *above):
        above = None  # a rise a few rows make: no sign the fit fails to carry
    apart = above is None and _validation_apart(h, train, val, untrained, t)
    memorised = above is None and not apart and _memorised(h, train, val, untrained, t)
    if apart or memorised:
        above = (val.index(min(val)), False)  # it never rose (or fell): no climb to read
    if above is None:
        return None
    # (validation apart from training learned nothing: its swings and accuracy say nothing)
    if not apart and (_jumping(h, train, val, above, t) or _more_accurate(h, above[0], t)):
        return None
    if not (apart or memorised) and _restarted(h, above[0], t):
        return None  # (a memorised network's val loss never rose: no restart lifted it)
    best, climbing = above
    steadily = f", rising in each of the last {t.overfit_climb} epochs," if climbing else ""
    if apart:
        head = "The model learns nothing its validation shows"
    elif memorised:
        head = (
            f"The model memorises its training data: training loss fell to {train[-1]:.3g}, "
            f"under 1/{t.memorised_fit:g} of the validation loss, which has not improved on "
            f"{val[best]:.3g} (epoch {_run_epoch(h, best)}), {val[best] / untrained:.0%} of "
            f"what knowing nothing scores"
        )
    else:
        head = (
            f"The model overfits: validation loss is {val[-1] / val[best] - 1:.0%} above its "
            f"best (epoch {_run_epoch(h, best)}){steadily} while training loss keeps falling"
        )
    advice = "Use early stopping, dropout, weight decay or more data."
    unlearned = untrained > 0 and val[best] >= NEVER_BEAT_SHARE * untrained
    if unlearned:
        mismatch = (
            ""
            if h.data_at_hand  # the Trainer split one table: both sides are prepared alike
            else "; or training and validation compute different things (the validation "
            "targets not lined up with their inputs as the training ones are: the class axis "
            "of a sequence's scores, next-token targets not shifted, another preprocessing; "
            "or another model validated: an EMA or copy that is never updated)"
        )
        advice = (
            f"{'V' if apart else 'Yet v'}alidation never beat knowing nothing (its best "
            f"{val[best]:.3g} against "
            f"{untrained:.3g}) while training loss fell to {train[-1]:.3g}: the network "
            f"memorises labels its inputs do not predict (noise, targets unrelated to the "
            f"features){mismatch}. No regularisation mends that: check the labels."
        )
    return finding(
        "overfitting",
        "warning",
        f"{head}. {advice}",
        h,
        per_epoch=True,
        val_never_learned=unlearned,
        val_loss=val,
        train_loss=train,
        best_epoch=_run_epoch(h, best),
        best_val_loss=val[best],
        threshold=t.overfit_rise,
    )


# a rise of the validation loss that this many rows or fewer make (the rest no higher on
# the whole) is a few rows' confidence, not a fit that fails to carry
CARRYING_ROWS = 2
CARRYING_SHARE = 0.02  # ... or 2% of them, the val accuracy kept and no steady climb


def _carried_by_few_rows(h: ProbeHistory, best: int, climbing: bool = False) -> bool:
    """The val loss rose since epoch `best` on `CARRYING_ROWS` rows or fewer: the rows whose loss
    rose most, that many of them, make all of the rise of their sum, each row's loss now
    paired with its own at `best` (`ProbeHistory.val_rows`); or on `CARRYING_SHARE` of the
    rows, the val accuracy no lower than at `best` and the loss not `climbing` (a healthy
    digits MLP, 360 rows: 0.181 -> 0.222 made by 4-5 rows, as many growing surer, the
    accuracy 0.944 -> 0.95, back to 0.19 the next epoch; a wide MLP memorising 180 digits,
    its val loss up in each of 27 epochs on 20 rows of 1,257 at a kept accuracy, is
    overfitting). On a small validation set one or two rows turning confidently wrong lift
    the mean as much as a network that stopped generalising (a healthy iris MLP, 30 rows:
    0.05 -> 0.128, one row's loss 0 -> 2.6; a wine MLP, 54 rows: 0.05 -> 0.158, one row's
    0 -> 5.8, the accuracy 0.98 throughout); a network that memorises noisy labels lifts a
    third of them (digits, 30% of labels wrong, 360 rows: 110 rose, 0.73 -> 1.39). A paired
    t-test would not do: those rises are heavy-tailed, and it missed that overfitting for
    ten epochs. False where the rows are unknown (a loop's validation, a loss of its own,
    rows validated in another order each epoch): the mean alone speaks, as before."""
    if len(h.val_rows) != len(h.curves):
        return False
    then, now = h.val_rows[best], h.val_rows[-1]
    if len(then) <= CARRYING_ROWS or len(then) != len(now):
        return False
    rise = np.sort(np.asarray(now, dtype=np.float64) - np.asarray(then, dtype=np.float64))
    total = float(rise.sum())
    if not (math.isfinite(total) and total > 0):
        return False  # (a row gone to inf, or no rise of the sum: the mean speaks)
    if float(rise[-CARRYING_ROWS:].sum()) >= total:
        return True
    few = int(CARRYING_SHARE * len(rise))
    if climbing or few <= CARRYING_ROWS:
        return False
    return float(rise[-few:].sum()) >= total and _accuracy_kept(h, best)


def _accuracy_kept(h: ProbeHistory, best: int) -> bool:
    """The val accuracy (where there is one) in each of the last two epochs is no lower than
    at the val loss's best."""
    accuracy = _val_accuracy(h, best)
    return accuracy is not None and min(accuracy[-2:]) >= accuracy[best]


def _val_accuracy(h: ProbeHistory, best: int) -> list[float] | None:
    """The val accuracy curve, finite from the val loss's best on; None without one."""
    if "val_accuracy" not in h.curves[-1]:
        return None
    accuracy = h.curve("val_accuracy")
    return accuracy if _finite(accuracy[best:]) else None


def _memorised(
    h: ProbeHistory, train: list[float], val: list[float], untrained: float, t: Thresholds
) -> bool:
    """The training loss fell under `1 / memorised_fit` of the best val loss, which has not
    improved for `overfit_patience` epochs or more and stayed at `memorised_val` of
    knowing nothing's or above (below `NEVER_BEAT_SHARE` of it: it learned something),
    while the training loss went on falling: the network fits its training rows one by one
    and learns little that carries to new ones, whether or not its val loss rises (a CNN
    switched to Adam fit 1,300 crops to a loss of 0.06, its val loss flat at 1.4-1.6 of
    1.79 and its accuracy 0.45; a healthy digits MLP's 0.001 against 0.1 is 4% of knowing
    nothing's)."""
    if untrained <= 0 or len(val) < t.min_epochs or not _finite(val) or not _finite(train):
        return False
    best = val.index(min(val))
    if len(val) - 1 - best < t.overfit_patience or val[best] < t.memorised_val * untrained:
        return False
    if val[best] >= NEVER_BEAT_SHARE * untrained:
        return False  # (validation never learned: `_validation_apart` reads that)
    fallen = train[-1] < 0.9 * train[best] and _near_lowest(h, train, best, t)
    # (a training loss below 0 has run off, not fit its rows: `divergence` reads it)
    return fallen and 0 <= train[-1] * t.memorised_fit < val[best]


APART = 0.5  # a loop's training loss under this share of knowing nothing, validation never
OTHER_SCALE = 3.0  # a first validation loss this many times knowing nothing's: summed, not mean
CHANCE_SHARE = 1.5  # a validation accuracy above this many times chance's learned something


def _validation_apart(
    h: ProbeHistory, train: list[float], val: list[float], untrained: float, t: Thresholds
) -> bool:
    """A hand-written loop whose training loss fell under `APART` of knowing nothing, and
    of where it started, while its validation loss never beat knowing nothing, over
    `min_epochs` epochs or more: whether or not the validation rises, the network validated
    learned nothing the training taught (an EMA copy never updated scored chance at every
    epoch, stress 26). Not a validation loss on another scale (its first `OTHER_SCALE`
    times knowing nothing's: summed over batches), nor one beside an accuracy above
    chance's. The Trainer validates the model it trains, on one table split alike."""
    if h.data_at_hand or untrained <= 0 or len(val) < t.min_epochs or len(val) != len(train):
        return False
    if not all(map(math.isfinite, val)) or val[0] > OTHER_SCALE * untrained:
        return False  # (a validation loss summed over its batches: another scale)
    accuracy = [a for a in h.curve("val_accuracy") if math.isfinite(a)]
    if accuracy and max(accuracy) > CHANCE_SHARE * math.exp(-untrained):
        return False  # it predicts better than chance: it learned, on another scale
    fell = train[-1] < APART * min(untrained, train[0])  # (of its own start too: a loss
    # the loop reports divided by its accumulation steps sits below ln(classes) unmoved)
    return min(val) >= NEVER_BEAT_SHARE * untrained and fell


def _above_best(
    h: ProbeHistory, train: list[float], val: list[float], t: Thresholds, bumps_count: bool = True
) -> tuple[int, bool] | None:
    """(best epoch, climbing) where the val loss has stayed up since the best it held
    (`_held_best`) as `overfitting` describes, while the train loss kept falling; else
    None. Without `bumps_count`, not after a bump of the steps (`_bumped`): no overfitting,
    but it may well be a jumping val loss."""
    if len(val) < t.min_epochs or not _finite(val) or not _finite(train):
        return None
    best = _held_best(val, t.overfit_rise)
    if val[best] <= 0:  # a perfect fit: a rise "over" it has no scale
        return None
    noise = t.overfit_floor * _scale(val, h)
    limit = val[best] + max(t.overfit_rise * val[best], noise)
    risen = all(v >= limit for v in val[-2:])
    if risen and not bumps_count:
        risen = not _bumped(train, val, best, limit)
    recent = val[-t.overfit_climb - 1 :]
    climbing = len(recent) > t.overfit_climb and all(b > a for a, b in itertools.pairwise(recent))
    climbed = climbing and val[-1] >= val[best] + max(t.overfit_climb_rise * val[best], noise)
    # (the patience runs from the later of the held best and the lowest epoch, a lucky one
    # too: a rise soon after it is a bump of a few validation rows as often as not)
    since = len(val) - 1 - max(best, val.index(min(val)))
    if since < t.overfit_patience or not (risen or climbed):
        return None
    # fallen since the best, and still at its lowest since (within `overfit_rise`): a train
    # loss climbing back (1.17 -> 1.81 after a runaway first epoch's 588) is no fit
    fallen = train[-1] < 0.9 * train[best]
    return (best, climbing) if fallen and _near_lowest(h, train, best, t) else None


def _held_best(val: list[float], rise: float) -> int:
    """The epoch of the best val loss the network held: the lowest, but not a lucky epoch's,
    one both of whose neighbours stand `rise` or more above it while a later epoch came
    back within `rise` of it (a healthy batch-norm CNN's 0.51, 0.36, 0.51, then 0.40-0.54
    to the end: read from 0.36 it was "overfitting", at an accuracy as good as any epoch's;
    held-out-39). A noisy validation has such epochs, and a rise read from one is no fit;
    an overfitting network's sharp low, which it never comes back to, is its best."""
    lucky = {
        i
        for i in range(1, len(val) - 1)
        if val[i] > 0
        and min(val[i - 1], val[i + 1]) >= (1 + rise) * val[i]
        and any(v < (1 + rise) * val[i] for v in val[i + 2 :])
    }
    return min((i for i in range(len(val)) if i not in lucky), key=val.__getitem__)


def _near_lowest(h: ProbeHistory, train: list[float], best: int, t: Thresholds) -> bool:
    """The last train loss is within `overfit_rise` of its lowest after epoch `best`, or
    within `oscillation_floor` of its scale (near a perfect fit, 0.0018 -> 0.0025 is the
    noise of a few batches, not a climb)."""
    low = min(train[best + 1 :])
    return train[-1] <= low + max(t.overfit_rise * low, t.oscillation_floor * _scale(train, h))


def _more_accurate(h: ProbeHistory, best: int, t: Thresholds) -> bool:
    """The val accuracy is still rising: in each of the last two epochs it stands
    `overfit_accuracy_gain` or more above its value at the val loss's best, and one of them
    is its best so far. The network grows more confident on the examples it gets wrong (a
    confident mistake costs a cross-entropy much) while it gets more of them right: its
    val loss rises, yet stopping or regularising it there would lose accuracy. A network
    memorising its training data loses val accuracy as its val loss climbs (30% flipped
    digits labels: 0.93 at the best, 0.86 when found), or its accuracy levels off while the
    val loss goes on climbing (a wide net on 1,500 rows: 0.76 at the best, 0.79 from five
    epochs on, the val loss up 30%)."""
    accuracy = _val_accuracy(h, best)
    if accuracy is None or len(accuracy) < 3:
        return False
    above = min(accuracy[-2:]) >= accuracy[best] + t.overfit_accuracy_gain
    return above and max(accuracy[-2:]) > max(accuracy[:-2])


def _restarted(h: ProbeHistory, best: int, t: Thresholds) -> bool:
    """A schedule restarted the rate since the val loss's best (raised it `restart_rise`
    times or more into an epoch after it had fallen from a higher peak: not a warm-up's
    climb), and the rate still stands above the low it restarted from: a warm restart
    (SGDR, a cyclic rate) lifts the val loss on purpose, and the cycle's low says whether
    it comes back (a healthy residual MLP under warm restarts every 5 epochs was told
    overfitting two epochs after one, on two seeds of two: stress 30). The rate recorded
    at an epoch's end may be the next epoch's: a restart can show at the best epoch."""
    rates = h.curve("lr")
    peaks = list(itertools.accumulate((r if math.isfinite(r) else 0.0 for r in rates), max))
    restarts = [
        e
        for e in range(max(best, 1), len(rates))
        if _raised_into(rates, e, t) and rates[e - 1] < peaks[e - 1]
    ]
    return bool(restarts) and rates[-1] > rates[restarts[-1] - 1]


def _bumped(train: list[float], val: list[float], best: int, limit: float) -> bool:
    """The val loss went up past `limit` (to stay) in an epoch whose train loss rose too,
    and has been falling back since: a bump of the steps (a noisy batch, batch norm upset)
    that the network is recovering from, not a network fitting its training data better and
    generalising worse. Such a rise counts as overfitting once it climbs again."""
    onset = len(val) - 1
    while onset - 1 > best and val[onset - 1] >= limit:
        onset -= 1
    return train[onset] > train[onset - 1] and val[-1] < val[onset]


def _jumping(
    h: ProbeHistory, train: list[float], val: list[float], above: tuple[int, bool], t: Thresholds
) -> bool:
    """The val loss zigzags since its best (`_zigzag`), and is not climbing now: a climb in
    each of the last `overfit_climb` epochs is a fit, whatever jumps came before it (24
    validation rows jumped 0.09 -> 0.31 -> 0.09 in the first epochs, then climbed to 0.29
    for 30 epochs while the train loss fell to 1e-3: overfitting, read as steps too large)."""
    best, climbing = above
    return not climbing and _zigzag(h, train, val, best, t)


def _zigzag(
    h: ProbeHistory, train: list[float], val: list[float], best: int, t: Thresholds
) -> bool:
    """After its best, the val loss fell back by half of where it stands above it and half of
    the best itself or more, and the val accuracy (where there is one) fell and came back by
    `overfit_jump` or more: the predictions change wholesale from epoch to epoch (steps too
    large, often for the running statistics of batch norm). An overfitting network's val
    loss climbs, its noise small next to the climb and to the loss, or swings with the
    confidence of its predictions while their accuracy barely moves. Nor is it a jump where
    the network had memorised its training data at its best epoch (a train loss below
    `1 / memorised_gap` of the val loss): such a network's val loss swings with the
    confidence of what it memorised, however much."""
    since_best = val[best:]
    rise = since_best[-1] - since_best[0]
    peaks = itertools.accumulate(since_best, max)
    fallback = max(peak - v for peak, v in zip(peaks, since_best, strict=True))
    if fallback < 0.5 * max(rise, val[best]) or train[best] * t.memorised_gap < val[best]:
        return False
    accuracy = h.curve("val_accuracy")[best:] if "val_accuracy" in h.curves[-1] else []
    if not accuracy or not _finite(accuracy):
        return True
    troughs = itertools.accumulate(accuracy, min)
    return max(a - low for a, low in zip(accuracy, troughs, strict=True)) >= t.overfit_jump
