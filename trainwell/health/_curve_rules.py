"""Curve rules: what the loss curves of the epochs so far say.

Each rule is `(history, thresholds) -> Finding | None` and runs after every epoch.
"""

from __future__ import annotations

import itertools
import math

from ..findings import Finding
from ._history import ProbeHistory
from ._probe_rules import collapsed_by_penalty
from ._rule_base import Thresholds, finding, stalled


def _judged(h: ProbeHistory, t: Thresholds) -> bool:
    done = len(h.curves)
    return done >= t.min_epochs and done >= t.judge_after * max(h.total_epochs, 1)


def _finite(values: list[float]) -> bool:
    return all(map(math.isfinite, values))


def _scale(first: float, h: ProbeHistory) -> float:
    """The scale a curve's swings are measured against: its first value, or the class
    prior's loss when lower (a first epoch that spiked would hide the swings after it)."""
    return abs(first) if not h.prior_loss else min(abs(first), h.prior_loss)


def _held_back_by_data(loss: list[float], val: list[float], t: Thresholds) -> bool:
    """Held-out data fitted far better than the training data: noisy labels or augmentation
    hold the network back, not its capacity."""
    return math.isfinite(val[-1]) and val[-1] < t.underfit_val_ratio * loss[-1]


def _limited_by_data(h: ProbeHistory, loss: list[float], val: list[float], t: Thresholds) -> bool:
    """The data, not the network, sets where the loss stands: noisy labels hold the
    training loss back (`_held_back_by_data`), or the network is already as good as a kernel
    model (`_as_good_as_reference`)."""
    return _held_back_by_data(loss, val, t) or _as_good_as_reference(h, loss, val, t)


def _as_good_as_reference(
    h: ProbeHistory, loss: list[float], val: list[float], t: Thresholds
) -> bool:
    """The validation loss, or the last training loss, has reached `reference_share` of a
    kernel model's loss on rows it never saw (`ProbeHistory.reference_loss`): the loss left
    is what the data allows (overlapping classes, noisy labels or targets), not capacity the
    network lacks. The training loss counts too: on a small validation set (a few dozen
    rows) the validation loss can sit above the reference by the luck of the split, while a
    network that fits its training rows better than the kernel model predicts unseen ones
    lacks no capacity."""
    reached = min((v for v in [*val, loss[-1]] if math.isfinite(v)), default=math.inf)
    return bool(h.reference_loss) and reached <= t.reference_share * h.reference_loss


def oscillating_loss(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The epoch train loss rises by >= `oscillation_rise` in >= `oscillation_share` of the
    epochs (AutoTrainer counts accuracy swings >= 0.03 in >= 20% of epochs; loss is
    comparable across tasks where accuracy is not), or once in the last `creep_epochs` of a
    loss stuck high (`_stuck_high`: it bounces where a plateau would lie flat). Near a
    perfect fit a relative rise is easy: each rise must also be `oscillation_floor` of the
    loss's scale, or it is the noise of a few batches an epoch (a small dataset), as for
    overfitting (`_scale`). Or steps that overshoot: the loss went up and down more than it
    went down, the path it travelled (the sum of its epoch-to-epoch moves) >=
    `oscillation_path` times its net fall and >= `oscillation_travel` of its scale, and it
    climbed back `oscillation_rebound` of its scale above its lowest so far, in two separate
    swings up or more (a healthy loss travels 1.0-1.3 times its fall; a slow one made noisy
    by heavy dropout travels more, but rebounds by 15% at most; a lone spike, even over two
    epochs, is no oscillation)."""
    if not _judged(h, t):
        return None
    loss = h.curve("train_loss")
    if len(loss) < 2 or not _finite(loss):
        return None
    scale = _scale(loss[0], h)
    floor = t.oscillation_floor * scale
    pairs = list(itertools.pairwise(loss))
    rising = [b > a * (1 + t.oscillation_rise) and b - a >= floor for a, b in pairs]
    rises = sum(rising)
    swings = sum(r and not before for before, r in itertools.pairwise([False, *rising]))
    travelled, fall = sum(abs(b - a) for a, b in pairs), loss[0] - loss[-1]
    lowest = itertools.accumulate(loss, min)  # the lowest so far, before each epoch
    rebound = max(b - low for b, low in zip(loss[1:], lowest, strict=False)) / scale
    wanders = (
        swings >= 2
        and rebound >= t.oscillation_rebound
        and travelled >= max(t.oscillation_path * fall, t.oscillation_travel * scale)
    )
    stuck = any(rising[-t.creep_epochs :]) and _stuck_high(h, loss, t)
    if rises / len(pairs) < t.oscillation_share and not wanders and not stuck:
        return None
    settle = (
        f"; it has not improved for {t.creep_epochs} epochs, still "
        f"{loss[-1] / loss[0]:.0%} of where it started: the steps are too large to settle"
        if stuck
        else ""
    )
    return finding(
        "oscillating_loss",
        "warning",
        f"The training loss oscillates: it rose in {rises} of {len(pairs)} epochs and "
        f"travelled {travelled:.3g} up and down for a net fall of {fall:.3g}{settle}. The "
        f"learning rate is probably too high: lower it, use Adam, or a larger batch.",
        h,
        per_epoch=True,
        train_loss=loss,
        rising_epochs=rises,
        travelled=travelled,
        net_fall=fall,
        stuck=stuck,
        threshold=t.oscillation_share,
    )


def _stuck_high(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """The train loss's best of the last `creep_epochs` epochs improves on its best before
    them by less than `plateau_drop` an epoch, while it is still above `underfit_loss` of
    its first value; not held back by its data nor already as good as a kernel model, nor
    under a strong penalty (heavy dropout alone makes it bounce; `penalised` names it), nor
    while the val loss still falls steadily (`_val_pace`: the noise of a few batches an
    epoch, over steps that do settle). With small moves that is underfitting's plateau;
    with a rise among them (`oscillating_loss`) the steps are too large to settle."""
    n = t.creep_epochs
    if h.penalty or len(loss) <= n or loss[-1] < t.underfit_loss * loss[0]:
        return False
    val = h.curve("val_loss")
    if _limited_by_data(h, loss, val, t) or _val_pace(loss, val, t) is not None:
        return False
    return min(loss[-n:]) > min(loss[:-n]) * (1 - t.plateau_drop * n)


def _drop(loss: list[float]) -> float:
    """How far the train loss has fallen at its lowest, as a share of its first value (> 0)."""
    return (loss[0] - min(loss)) / loss[0]


def slow_convergence(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """After `judge_after` of the budget, the train loss has fallen by less than `slow_drop`
    of its first value (AutoTrainer: best one-epoch accuracy gain < 0.01); or it looks
    stalled high, as underfitting's does, while the validation loss still falls at a steady
    pace (`_val_pace`): steps too small, not capacity missing. Not under a strong penalty,
    nor behind a layer too narrow for the output: each is why, and `penalised` or
    `narrow_layer` names it."""
    if h.penalty or not _judged(h, t):
        return None
    loss = h.curve("train_loss")
    if not _finite(loss) or loss[0] <= 0:
        return None
    drop = _drop(loss)
    if drop < t.slow_drop:
        return finding(
            "slow_convergence",
            "warning",
            f"Training converges too slowly: after {len(loss)} epochs the training loss fell "
            f"only {drop:.1%}. Raise the learning rate or use an adaptive optimizer (Adam).",
            h,
            per_epoch=True,
            train_loss=loss,
            relative_drop=drop,
            threshold=t.slow_drop,
        )
    val = h.curve("val_loss")
    pace = _val_pace(loss, val, t)
    if pace is None or not _stalled_high(h, loss, val, t) or bottleneck(h):
        return None  # a layer too narrow for the output slows it too: `narrow_layer` names it
    return finding(
        "slow_convergence",
        "warning",
        f"Training converges too slowly: the training loss looks stalled at "
        f"{loss[-1] / loss[0]:.0%} of where it started, but the validation loss still falls "
        f"in every epoch, by {pace:.1%} an epoch: the network can fit more, its steps are "
        f"too small. Raise the learning rate or use an adaptive optimizer (Adam).",
        h,
        per_epoch=True,
        train_loss=loss,
        val_loss=val,
        relative_drop=drop,
        val_pace=pace,
        threshold=t.creep_pace,
    )


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


def overfitting(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The val loss has stayed `overfit_rise` above its best for the last two epochs, the best
    reached >= `overfit_patience` epochs ago, while the train loss fell by another 10% or
    more (SageMaker Overfit compares val to train loss; the rise of val over its own best is
    robust to the train/val scale, and the two conditions keep noisy curves from firing).
    Near a perfect fit a relative rise is easy: the rise must also be `overfit_floor` of the
    val loss's scale (the first one, or the class prior's when lower), or it is a few
    examples of a small validation set growing more confident: on iris, wine or
    breast_cancer a healthy run's val loss drifts up 2-4% of that scale. A val loss that
    rose in each of the last `overfit_climb` epochs is no noise: `overfit_climb_rise` above
    its best is enough then. Not when it jumps up and down (`_zigzag`): the steps are too
    large, and `jumping_val_loss` names it where no schedule lowers them."""
    train, val = h.curve("train_loss"), h.curve("val_loss")
    above = _above_best(h, train, val, t)
    if above is None or _zigzag(h, train, val, above[0], t):
        return None
    best, climbing = above
    steadily = f", rising in each of the last {t.overfit_climb} epochs," if climbing else ""
    return finding(
        "overfitting",
        "warning",
        f"The model overfits: validation loss is {val[-1] / val[best] - 1:.0%} above its best "
        f"(epoch {_run_epoch(h, best)}){steadily} while training loss keeps "
        f"falling. Use early stopping, dropout, weight decay or more data.",
        h,
        per_epoch=True,
        val_loss=val,
        train_loss=train,
        best_epoch=_run_epoch(h, best),
        threshold=t.overfit_rise,
    )


def _run_epoch(h: ProbeHistory, index: int) -> int:
    """The run's number of the epoch at `index` of the curves (they restart after a repair)."""
    return int(h.curves[index].get("epoch", index))


def _above_best(
    h: ProbeHistory, train: list[float], val: list[float], t: Thresholds
) -> tuple[int, bool] | None:
    """(best epoch, climbing) where the val loss has stayed up since its best as `overfitting`
    describes, while the train loss kept falling; else None."""
    if len(val) < t.min_epochs or not _finite(val) or not _finite(train):
        return None
    best = val.index(min(val))
    if val[best] <= 0:  # a perfect fit: a rise "over" it has no scale
        return None
    noise = t.overfit_floor * _scale(val[0], h)
    risen = all(v >= val[best] + max(t.overfit_rise * val[best], noise) for v in val[-2:])
    recent = val[-t.overfit_climb - 1 :]
    climbing = len(recent) > t.overfit_climb and all(b > a for a, b in itertools.pairwise(recent))
    climbed = climbing and val[-1] >= val[best] + max(t.overfit_climb_rise * val[best], noise)
    if len(val) - 1 - best < t.overfit_patience or not (risen or climbed):
        return None
    return (best, climbing) if train[-1] < 0.9 * train[best] else None


def jumping_val_loss(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The val loss stays up after its best as `overfitting` describes, but jumps up and
    down (`_zigzag`) while the learning rate is where it was at its highest: the weights move
    too far each epoch for the model, or batch norm's running statistics, to settle, and no
    schedule is lowering the rate to calm it (a decaying one will; a healthy ResNet at 0.1
    jumps like this mid-run under cosine decay). Reported as an oscillating loss: the
    training loss, averaged over an epoch, can fall smoothly all the while."""
    if not _judged(h, t):
        return None
    train, val = h.curve("train_loss"), h.curve("val_loss")
    above = _above_best(h, train, val, t)
    if above is None or not _zigzag(h, train, val, above[0], t):
        return None
    rates = [r for r in h.curve("lr") if math.isfinite(r)]
    if rates and rates[-1] < t.jump_rate_kept * max(rates):
        return None  # a schedule is lowering the rate
    best = above[0]
    return finding(
        "oscillating_loss",
        "warning",
        f"The validation loss jumps up and down: {val[-1] / val[best] - 1:.0%} above its best "
        f"(epoch {_run_epoch(h, best)}), after falling back from "
        f"{max(val[best:]):.3g}, while the training loss falls. The learning rate is probably "
        f"too high for the model to settle: lower it, or decay it with a schedule.",
        h,
        per_epoch=True,
        val_loss=val,
        train_loss=train,
        best_epoch=_run_epoch(h, best),
        threshold=t.overfit_rise,
    )


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


def penalised(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """Underfitting read from its cause: a regularisation far stronger than usual
    (`ProbeHistory.penalty`, measured on the live optimizer and model: weight decay, L1 or
    dropout), and after `judge_after` of the budget the train loss is still above
    `underfit_loss` of its first value and not falling fast enough to get below it: it
    improves < `plateau_drop` an epoch, or it fell < `slow_drop` in all, or at the pace of its
    last two epochs it would still be above it when the budget ends (`_on_course`). A curve
    that only looks slow or flat has its cause named here, with the fix that treats it; the
    training loss above the validation loss is no sign of noisy labels then, since dropout
    alone makes it so. Not when the validation loss is as low as a kernel model's on unseen
    rows (`_as_good_as_reference`): the network fits what the data allows."""
    if not h.penalty or not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _finite(loss) or loss[0] <= 0 or loss[-1] < t.underfit_loss * loss[0]:
        return None
    falling = not _plateau(loss, t) and _drop(loss) >= t.slow_drop
    if (falling and _on_course(h, loss, t)) or _as_good_as_reference(h, loss, val, t):
        return None  # still on its way down, or already as good as the data allows
    layer = collapsed_by_penalty(h)
    collapse = f" (it pulled layer {layer}'s weights to zero: gradients vanish there)"
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: {h.penalty} keeps it from fitting the training data"
        f"{collapse if layer else ''}; after {len(loss)} epochs the training loss is still "
        f"{loss[-1] / loss[0]:.0%} of where it started. Weaken it (weight decay 1e-5..1e-3, "
        f"or 0.01..0.1 with AdamW; L1 1e-5..1e-4; dropout 0.5 at most).",
        h,
        per_epoch=True,
        train_loss=loss,
        penalty=str(h.penalty),
        threshold=t.underfit_loss,
    )


def _on_course(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """At the pace of its last two epochs, the train loss gets below `underfit_loss` of its
    first value within the epochs left of the budget (a curve that flattens gets there later:
    the pace read now errs on the side of silence). Unknown budgets are on course."""
    left = h.total_epochs - len(loss)
    if h.total_epochs <= 0 or len(loss) < 3:
        return True
    pace = (loss[-3] - loss[-1]) / 2
    return loss[-1] - max(left, 0) * pace <= t.underfit_loss * loss[0]


def _plateau(loss: list[float], t: Thresholds) -> bool:
    """The last epochs improve the train loss by less than `plateau_drop` each."""
    return all(abs(b - a) < t.plateau_drop * a for a, b in itertools.pairwise(loss[-3:]))


def _stalled_high(h: ProbeHistory, loss: list[float], val: list[float], t: Thresholds) -> bool:
    """Underfitting's shape: the train loss fell `slow_drop` or more, then plateaued above
    `underfit_loss` of its first value; not held back by its data (`_held_back_by_data`),
    nor already as good as a kernel model (`_as_good_as_reference`)."""
    if not _finite(loss) or loss[0] <= 0:
        return False
    if _limited_by_data(h, loss, val, t):
        return False
    return (
        _plateau(loss, t)
        and loss[-1] >= t.underfit_loss * loss[0]
        and (loss[0] - loss[-1]) >= t.slow_drop * loss[0]
    )  # not still learning, good enough, or not learning at all (slow convergence)


def underfitting(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The train loss has plateaued (the last epochs improve it < `plateau_drop` each) above
    `underfit_loss` of its first value, after `judge_after` of the budget: the model cannot
    fit even the training data (AutoTrainer's accuracy gate, Theta = 0.6, in loss terms).
    Not when the val loss is below `underfit_val_ratio` of the train loss: a model that does
    better on held-out data than on its training data is held back by the training data
    (noisy labels, augmentation), not by its capacity. Nor when the val loss is as low as
    a kernel model's on unseen rows (`_as_good_as_reference`): the rest is the data's. Nor
    while the val loss still falls at a steady pace: a noisy training loss looks flat, but
    the network is learning slowly (`slow_convergence` names it)."""
    if not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _stalled_high(h, loss, val, t) or _val_pace(loss, val, t) is not None:
        return None
    reference = ""
    if h.reference_loss and val and math.isfinite(val[-1]):
        reference = (
            f"; its validation loss ({val[-1]:.3g}) is above the {h.reference_loss:.3g} a "
            f"kernel model reaches on rows it never saw"
        )
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: the training loss stalled at {loss[-1]:.3g} "
        f"({loss[-1] / loss[0]:.0%} of where it started){reference}. Use a wider or deeper "
        f"network, train longer, or lower the regularisation.",
        h,
        per_epoch=True,
        train_loss=loss,
        reference_loss=h.reference_loss,
        threshold=t.underfit_loss,
    )


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


def narrow_layer(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """Underfitting read from its cause: a hidden layer narrower than the output needs
    (`bottleneck`), and after `bottleneck_epochs` the train loss is still `bottleneck_loss`
    of the class prior's or more. Judged early because the structure already says why; a
    narrow network that learns anyway is left alone."""
    narrow = bottleneck(h)
    if narrow is None or len(h.curves) < t.bottleneck_epochs:
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _finite(loss) or _held_back_by_data(loss, val, t):
        return None
    prior = h.prior_loss or math.nan  # known: `bottleneck` asks for it
    if loss[-1] < t.bottleneck_loss * prior:
        return None
    name, units, outputs = narrow
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: layer {name} has {units} unit(s), fewer than its {outputs} "
        f"outputs need ({outputs - 1}), and after {len(loss)} epochs the training loss "
        f"({loss[-1]:.3g}) is still {loss[-1] / prior:.0%} of always predicting the class "
        f"frequencies. Widen that layer.",
        h,
        layer=name,
        per_epoch=True,
        train_loss=loss,
        units=units,
        outputs=outputs,
        threshold=t.bottleneck_loss,
    )


def learned_nothing(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """After `judge_after` of the budget, the train loss is still `prior_share` of the loss of
    predicting the class prior (known in the Trainer, from the training labels): whatever
    its curve looks like, the network has learned next to nothing beyond the class
    frequencies. Not while the loss, below the prior's, still falls by `plateau_drop` an
    epoch or more: imbalanced data often keeps a network near the prior for a few epochs
    before it finds the rare classes (a loss above the prior's has not even learned the
    class frequencies, falling or not). Reported as underfitting, and only when no other
    problem has been found (`FALLBACK_RULES`): a network that does not learn is also what
    most faults look like."""
    if not h.prior_loss or not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _finite(loss) or not stalled(loss[-1], h.prior_loss, t.prior_share):
        return None
    if _limited_by_data(h, loss, val, t):
        return None  # e.g. labels the inputs say little about: nothing more to learn
    if loss[-1] < h.prior_loss and not _plateau(loss, t):
        return None  # past the prior and learning now: a slow start, no fault
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: after {len(loss)} epochs the training loss ({loss[-1]:.3g}) is "
        f"still {loss[-1] / h.prior_loss:.0%} of the loss of always predicting the class "
        f"frequencies ({h.prior_loss:.3g}): it has learned next to nothing beyond them. Use a "
        f"wider or deeper network, a higher learning rate or Adam, or train longer.",
        h,
        per_epoch=True,
        train_loss=loss,
        prior_loss=h.prior_loss,
        threshold=t.prior_share,
    )
