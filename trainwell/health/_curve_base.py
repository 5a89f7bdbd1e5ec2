"""What the curve rules share: how far a loss has come, whether the data or the network
sets its level, and the structure that can keep a classifier from fitting."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Iterable

from ..train import higher_is_better
from ._history import LARGE_STEP, ProbeHistory
from ._rule_base import Thresholds, stalled

# the scores that say most of a model's progress, the first reported first: macro F1 before
# accuracy (on imbalanced classes accuracy rewards predicting the majority class)
FIRST_SCORES = ("val_macro_f1", "val_accuracy")


def loop_score(names: Iterable[str]) -> str | None:
    """The score among the metrics a loop reports (`names`), higher the better: macro F1,
    else accuracy, else the first whose name says it grows as the model gets better
    (`higher_is_better`: an AUC, a policy's `eval_return`); not one of the training data
    (`train_accuracy` is highest where the network memorised most); None if there is none."""
    names = [name for name in names if not name.lower().startswith("train")]
    known = [name for name in FIRST_SCORES if name in names]
    return next(iter(known + [name for name in names if higher_is_better(name)]), None)


def running_median(values: list[float], width: int = 3) -> list[float]:
    """Each value's median with the `width - 1` before it: a lone dip or spike of a noisy
    score (a greedy evaluation's return, a small validation set's accuracy) smoothed out."""
    return [statistics.median(values[max(0, i - width + 1) : i + 1]) for i in range(len(values))]


def _judged(h: ProbeHistory, t: Thresholds) -> bool:
    done = len(h.curves)
    return done >= t.min_epochs and done >= t.judge_after * max(h.total_epochs, 1)


def untrained_so_far(h: ProbeHistory, t: Thresholds) -> bool:
    """Two epochs or more, too few for the curve rules, with every epoch's train loss still
    at the class prior's (`prior_share` of it or more): a network that has learned nothing,
    which a rule that can name why may tell now rather than after `min_epochs`."""
    prior = h.prior_loss
    if not prior or len(h.curves) < 2:
        return False
    return all(stalled(loss, prior, t.prior_share) for loss in h.curve("train_loss"))


def _finite(values: list[float]) -> bool:
    return all(map(math.isfinite, values))


def _raised_into(rates: list[float], epoch: int, t: Thresholds) -> bool:
    """Whether the rate recorded at `epoch`'s end is `restart_rise` times the epoch before's
    or more, both known: a schedule raised it (a warm restart, a cyclic rate, a warm-up)."""
    before, now = rates[epoch - 1], rates[epoch]
    return math.isfinite(before) and math.isfinite(now) and 0 < before * t.restart_rise <= now


def _scale(curve: list[float], h: ProbeHistory) -> float:
    """The scale a curve's swings are measured against: its first value, or the class
    prior's loss when lower (a first epoch that spiked would hide the swings after it). A
    loss that went below 0 (a Gaussian or a mixture's NLL) has no floor at 0 to measure
    from, and its first value may lie near 0 by chance: there, the span it fell, if
    larger (a mixture density network's 0.2 -> -0.9 had swings of 0.15 read against 0.2:
    an oscillation, and the lower rate repair gave it cost 0.06 of its log-likelihood)."""
    first = abs(curve[0])
    lowest = min((v for v in curve if math.isfinite(v)), default=0.0)
    if lowest < 0:
        first = max(first, curve[0] - lowest)
    return first if not h.prior_loss else min(first, h.prior_loss)


# what a note says of a hand-written loop's own loss, whose floor it cannot tell
FLOOR_UNKNOWN = (
    "This loss is not a cross entropy on labels, whose floor is 0: it may stop where it must"
)


def _at_floor(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """Every epoch's train loss is under `at_floor_share` of an untrained network's (the
    class prior's, a loop's cross entropy at chance; else, after a remedy, the loss the run
    started at): a run resumed or fine-tuned from weights that fit already, with nothing
    left to converge; its ups and downs are a few batches' noise, not steps too small or
    too large. False where no such loss is known."""
    untrained = h.nothing_learned_loss()
    return untrained > 0 and max(loss) <= t.at_floor_share * untrained


def _held_back_by_data(loss: list[float], val: list[float], t: Thresholds) -> bool:
    """Held-out data fitted far better than the training data: noisy labels or augmentation
    hold the network back, not its capacity."""
    return math.isfinite(val[-1]) and val[-1] < t.underfit_val_ratio * loss[-1]


def _limited_by_data(h: ProbeHistory, loss: list[float], val: list[float], t: Thresholds) -> bool:
    """The data, not the network, sets where the loss stands: noisy labels hold the
    training loss back (`_held_back_by_data`), or the network is already as good as the
    reference models (`_as_good_as_reference`)."""
    return _held_back_by_data(loss, val, t) or _as_good_as_reference(h, loss, val, t)


def _as_good_as_reference(
    h: ProbeHistory, loss: list[float], val: list[float], t: Thresholds
) -> bool:
    """The validation loss, or the last training loss, is at most `reference_share` times the
    reference models' loss on rows they never saw (`ProbeHistory.reference_loss`): the loss
    left is what the data allows (overlapping classes, noisy labels or targets), not
    capacity the network lacks. A little above it, not only at or below: a validation loss
    on a few hundred rows moves by some percent with the split, and the lowest of several
    models' losses on the same rows is a little optimistic (an MLP repaired of exploding
    gradients, at 1.05 times it, was told it underfits and widened from scratch, and its
    test accuracy ended 0.06 lower). The training loss counts too: on a small validation
    set (a few dozen rows) the validation loss can sit above the reference by the luck of
    the split, while a network that fits its training rows better than the reference
    models predict unseen ones lacks no capacity."""
    reached = min((v for v in [*val, loss[-1]] if math.isfinite(v)), default=math.inf)
    reference = h.reference()
    return bool(reference) and reached <= t.reference_share * reference


def _drop(loss: list[float]) -> float:
    """How far the train loss has fallen at its lowest, as a share of its first value (> 0)."""
    return (loss[0] - min(loss)) / loss[0]


def _projected(h: ProbeHistory, loss: list[float]) -> float | None:
    """The train loss when the budget ends, at the pace of its last two epochs (a curve that
    flattens gets there later: the pace read now errs on the side of silence); None with
    the budget unknown or under three epochs."""
    if h.total_epochs <= 0 or len(loss) < 3:
        return None
    pace = (loss[-3] - loss[-1]) / 2
    return loss[-1] - max(h.total_epochs - len(loss), 0) * pace


def _off_course(h: ProbeHistory, loss: list[float], t: Thresholds) -> float | None:
    """The train loss when the budget ends (`_projected`) where, at that pace, it stays above
    `underfit_loss` of its first value; None where it gets below it, or the budget is
    unknown."""
    projected = _projected(h, loss)
    return projected if projected is not None and projected > t.underfit_loss * loss[0] else None


def _on_course(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """At the pace of its last two epochs the train loss gets below `underfit_loss` of its
    first value within the budget (`_off_course`). Unknown budgets are on course."""
    return _off_course(h, loss, t) is None


def _small_steps(h: ProbeHistory, t: Thresholds) -> float | None:
    """The steps' size (`ProbeHistory.step_size`) where it is below `small_update`."""
    size = h.step_size()
    return size if size is not None and size < t.small_update else None


def _plateau(loss: list[float], t: Thresholds) -> bool:
    """The last epochs improve the train loss by less than `plateau_drop` each."""
    return all(abs(b - a) < t.plateau_drop * a for a, b in itertools.pairwise(loss[-3:]))


def _stalled_high(h: ProbeHistory, loss: list[float], val: list[float], t: Thresholds) -> bool:
    """Underfitting's shape: the train loss fell `slow_drop` or more, then plateaued above
    `underfit_loss` of its first value; not held back by its data (`_held_back_by_data`),
    nor already as good as the reference models (`_as_good_as_reference`), nor on steps a
    schedule has annealed (`_annealed`)."""
    if not _finite(loss) or loss[0] <= 0 or _annealed(h, t):
        return False
    return (
        _plateau(loss, t)
        and loss[-1] >= t.underfit_loss * loss[0]
        and (loss[0] - loss[-1]) >= t.slow_drop * loss[0]
        and not _limited_by_data(h, loss, val, t)  # last: it may fit the reference models
    )  # not still learning, good enough, or not learning at all (slow convergence)


def _annealed(h: ProbeHistory, t: Thresholds) -> bool:
    """The plateau's epochs ran at under `annealed_lr` of the run's peak rate so far: a
    schedule has decayed the steps (cosine, one-cycle and step schedules end near zero),
    and a loss that stops falling then says nothing of what the network can fit (a healthy
    MLP under one-cycle flattened in its last epochs at 57% of its first loss)."""
    rates = h.curve("lr")
    recent = [lr for lr in rates[-3:] if math.isfinite(lr)]
    peak = max((lr for lr in rates if math.isfinite(lr)), default=0.0)
    return bool(recent) and max(recent) < t.annealed_lr * peak


def _val_pace(loss: list[float], val: list[float], t: Thresholds) -> float | None:
    """The val loss's mean fall an epoch, as a share of where it stands, where it creeps:
    over the last `creep_epochs` epochs the training loss went up at least once (the noise
    of mini-batches), while the validation loss fell in each, by `creep_pace` an epoch on
    average, its last two falls `creep_kept` of the two before: a steady descent the noisy
    training loss hides. None otherwise: a loss held up by a model too small for the data
    flattens out (its falls shrink), a noisy plateau does not fall every epoch, and a smooth
    training loss that creeps below `plateau_drop` an epoch is a plateau."""
    n = t.creep_epochs
    if len(val) <= n or len(loss) <= n or not _finite(val) or val[-1] <= 0:
        return None
    last = val[-n - 1 :]
    falls = [a - b for a, b in itertools.pairwise(last)]
    pace = sum(falls) / n / last[-1]
    noisy = any(b > a for a, b in itertools.pairwise(loss[-n - 1 :]))
    steady = min(falls) > 0 and sum(falls[-2:]) >= t.creep_kept * sum(falls[:2])
    return pace if noisy and steady and pace >= t.creep_pace else None


def _run_epoch(h: ProbeHistory, index: int) -> int:
    """The run's number of the epoch at `index` of the curves (they restart after a repair)."""
    return int(h.curves[index].get("epoch", index))


def bottleneck(h: ProbeHistory) -> tuple[str, int, int] | None:
    """(name, units, outputs) of the narrowest hidden layer of a classifier where it is
    narrower than the output needs: a hidden dense layer, or the features the output layer
    reads (a ResNet's pooled channels). Softmax logits matter up to a shift, so K classes
    span K - 1 directions; logits computed from fewer units cannot place the classes freely,
    and the network fits slowly and poorly whatever its training does: only a wider layer
    cures it. Classifiers only (their class prior is known): an autoencoder's or a
    regression's narrow layer is there by design."""
    if not h.prior_loss:
        return None
    if len(h.dense) != len(h.layers) or len(h.rows) != len(h.layers):
        return None  # widths unknown (a history from before they were recorded)
    if len(h.layers) < 2 or not h.dense[-1]:  # the output layer must be a dense one
        return None
    outputs = h.rows[-1]
    hidden = [
        (name, rows)
        for name, rows, d in zip(h.layers[:-1], h.rows[:-1], h.dense[:-1], strict=True)
        if d
    ]
    if len(h.sizes) == len(h.layers):
        hidden.append(_read_by_output(h))
    if not hidden:
        return None
    name, units = min(hidden, key=lambda layer: layer[1])
    return (name, units, outputs) if units < outputs - 1 else None


def _read_by_output(h: ProbeHistory) -> tuple[str, int]:
    """(name, width) of the layer whose outputs the output layer reads: its fan-in, made by
    the last layer before it with that many units (a convolution's channels, pooled)."""
    fan_in = h.sizes[-1] // max(h.rows[-1], 1)
    earlier = zip(h.layers[-2::-1], h.rows[-2::-1], strict=True)
    return next((n for n, r in earlier if r == fan_in), h.layers[-2]), fan_in


def steps_too_large(h: ProbeHistory) -> str | None:
    """The advice for a loss that does not come down on steps measured too large (the
    largest layer's update above `LARGE_STEP` of its weights): a lower rate, never a
    higher one. None where the steps are not measured so."""
    largest = h.step_size()
    if largest is None or not largest > LARGE_STEP:
        return None
    return (
        f"Its steps are too large to settle, not too small: the largest layer moves by "
        f"{largest:.1e} of its weights a step (about 1e-3 is usual). Lower the learning rate."
    )
