"""Underfitting rules: a network that does not fit its training data, read from its curve
or from its cause (a penalty, a layer too narrow for the output). Each rule is
`(history, thresholds) -> Finding | None` and runs after every epoch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..findings import Finding
from ._curve_base import (
    FLOOR_UNKNOWN,
    _as_good_as_reference,
    _drop,
    _finite,
    _held_back_by_data,
    _judged,
    _limited_by_data,
    _on_course,
    _plateau,
    _stalled_high,
    _val_pace,
    bottleneck,
    steps_too_large,
    untrained_so_far,
)
from ._history import ProbeHistory
from ._probe_rules import _hidden_gains, collapsed_by_penalty
from ._rule_base import COLLAPSED_GAIN, Thresholds, finding, stalled
from ._unit_rules import units_lost
from ._val_rules import CHANCE_SHARE


def penalised(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """Underfitting read from its cause: a regularisation far stronger than usual
    (`ProbeHistory.penalty`, measured on the live optimizer and model: weight decay, L1 or
    dropout), and after `judge_after` of the budget the train loss is still above
    `underfit_loss` of its first value and not falling fast enough to get below it: it
    improves < `plateau_drop` an epoch, or it fell < `slow_drop` in all, or at the pace of its
    last two epochs it would still be above it when the budget ends (`_on_course`). A curve
    that only looks slow or flat has its cause named here, with the fix that treats it; the
    training loss above the validation loss is no sign of noisy labels then, since dropout
    alone makes it so. Not when the validation loss is as low as the reference models' on unseen
    rows (`_as_good_as_reference`): the network fits what the data allows. A network that
    has learned nothing in its first two epochs (`untrained_so_far`) is told then: the
    penalty is why, and waiting `min_epochs` leaves its remedy less of the run (a CNN under
    dropout 0.6, told at epoch 3 of 10 and lowered to 0.1, 0.35 against 0.70 without it)."""
    if not h.penalty or not (_judged(h, t) or untrained_so_far(h, t)):
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


def underfitting(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The train loss has plateaued (the last epochs improve it < `plateau_drop` each) above
    `underfit_loss` of its first value, after `judge_after` of the budget: the model cannot
    fit even the training data (AutoTrainer's accuracy gate, Theta = 0.6, in loss terms).
    Not when the val loss is below `underfit_val_ratio` of the train loss: a model that does
    better on held-out data than on its training data is held back by the training data
    (noisy labels, augmentation), not by its capacity. Nor when the val loss is as low as
    the reference models' on unseen rows (`_as_good_as_reference`): the rest is the data's. Nor
    while the val loss still falls at a steady pace: a noisy training loss looks flat, but
    the network is learning slowly (`slow_convergence` names it). Only noted (info) where
    the loss's floor is not known to be 0 (`ProbeHistory.floor_known`), and in a
    hand-written loop, whose data the doctor does not hold (no reference model to say what it
    allows): overlapping classes stop a cross entropy where they must, and a wider network
    only overfits there; not noted where units were dead or saturated at the last probe
    (Adam at 100x its rate killed a layer: "use a wider network" stood beside it)."""
    if not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _stalled_high(h, loss, val, t) or _val_pace(loss, val, t) is not None:
        return None
    reference, reference_loss = "", h.reference()
    if reference_loss and val and math.isfinite(val[-1]):
        reference = (
            f"; its validation loss ({val[-1]:.3g}) is above the {reference_loss:.3g} a "
            f"logistic regression or kernel model reaches on rows it never saw"
        )
    if (not h.floor_known or not h.data_at_hand) and units_lost(h, t):
        return None  # a note that a wider network helps: dead or saturated units say why
    if not h.floor_known:  # a hand-written loop's own loss may stop where it must
        why = f"{FLOOR_UNKNOWN} (label smoothing, a KL term, noisy targets). If it can go lower"
        return _noted(h, loss, why, t)
    if not h.data_at_hand and not reference_loss:
        why = (
            "Overlapping classes or noisy labels stop a cross entropy above 0, and the doctor "
            "of a hand-written loop does not see the data to tell. If it can go lower (a "
            "wider network does better on held-out rows)"
        )
        return _noted(h, loss, why, t)
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: the training loss stalled at {loss[-1]:.3g} "
        f"({loss[-1] / loss[0]:.0%} of where it started){reference}. Use a wider or deeper "
        f"network, train longer, or lower the regularisation.",
        h,
        per_epoch=True,
        train_loss=loss,
        reference_loss=reference_loss,
        threshold=t.underfit_loss,
    )


# steps this share of the weights or more are 10x the usual (~1e-3): a plateau on them may
# be where they cannot settle, not a want of capacity
HIGH_STEP = 1e-2


def _noted(h: ProbeHistory, loss: list[float], why: str, t: Thresholds) -> Finding:
    """Underfitting noted (info) where what the loss can reach is not known; on steps of
    `HIGH_STEP` or more, a lower rate is named first (a GRU seq2seq under Adam at 30x its
    rate stalled at half its chance loss on steps of 2.3% of its weights, and the note
    advised a wider network, stress 19)."""
    step = h.step_size()
    fix = "use a wider or deeper network, or train longer"
    if step is not None and step >= HIGH_STEP:
        fix = (
            f"its steps move the weights by {step:.1%} of their size (about 0.1% is usual), "
            f"so try a lower learning rate first, then a wider or deeper network"
        )
    return finding(
        "underfitting",
        "info",
        f"The training loss stalled at {loss[-1]:.3g} ({loss[-1] / loss[0]:.0%} of where it "
        f"started). {why}, the model underfits: {fix}.",
        h,
        per_epoch=True,
        train_loss=loss,
        threshold=t.underfit_loss,
        step_size=step,
    )


def narrow_layer(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """Underfitting read from its cause: a hidden layer narrower than the output needs
    (`bottleneck`), and after `bottleneck_epochs` the train loss is still `bottleneck_loss`
    of the class prior's or more. Judged early because the structure already says why; a
    narrow network that learns anyway is left alone: one whose loss falls by
    `bottleneck_pace` of the prior's an epoch or more, and faster than the epoch before
    (after one fall, whether it slows is not known yet). A narrow layer slows the fit; it
    does not stop argmax from placing many classes, and easy data gets there regardless."""
    narrow = bottleneck(h)
    if narrow is None or len(h.curves) < t.bottleneck_epochs:
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _finite(loss) or _held_back_by_data(loss, val, t):
        return None
    prior = h.prior_loss or math.nan  # known: `bottleneck` asks for it
    if loss[-1] < t.bottleneck_loss * prior or _speeding_up(loss, prior, t):
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


def _speeding_up(loss: list[float], prior: float, t: Thresholds) -> bool:
    """The last epoch's fall is `bottleneck_pace` of the prior's loss or more, and no smaller
    than the fall before it (if there is one): a net learning at a pace that grows."""
    falls = [a - b for a, b in itertools.pairwise(loss[-3:])]
    return falls[-1] >= t.bottleneck_pace * prior and falls[-1] >= falls[0]


def learned_nothing(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """After `judge_after` of the budget, the train loss is still `prior_share` of the loss of
    predicting the class prior (known in the Trainer, from the training labels): whatever
    its curve looks like, the network has learned next to nothing beyond the class
    frequencies. Not while the loss, below the prior's, still falls by `plateau_drop` an
    epoch or more: imbalanced data often keeps a network near the prior for a few epochs
    before it finds the rare classes (a loss above the prior's has not even learned the
    class frequencies, falling or not). Reported as underfitting, and only when no other
    problem has been found (`FALLBACK_RULES`): a network that does not learn is also what
    most faults look like. A loss `runaway_factor` times the prior's or more is not a lack
    of capacity but outputs blown up, and the advice names what blows them up."""
    if not h.prior_loss or not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _finite(loss) or not stalled(loss[-1], h.prior_loss, t.prior_share):
        return None
    if _limited_by_data(h, loss, val, t):
        return None  # e.g. labels the inputs say little about: nothing more to learn
    if loss[-1] < h.prior_loss and not _plateau(loss, t):
        return None  # past the prior and learning now: a slow start, no fault
    large, rate = steps_too_large(h), None
    if loss[-1] >= t.runaway_factor * h.prior_loss:
        advice = (
            "Its outputs are confidently wrong, far larger than any class needs: weights or "
            "inputs far too large (an initialisation of too wide a spread, unscaled inputs). "
            "Initialise the weights for the activation (He for ReLU), standardise the "
            "inputs, clip the gradients."
        )
    elif large is not None:  # a GRU under Adam at 0.3 was told to raise the rate
        advice, rate = large, "lower"
    else:
        advice = "Use a wider or deeper network, a higher learning rate or Adam, or train longer."
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: after {len(loss)} epochs the training loss ({loss[-1]:.3g}) is "
        f"still {loss[-1] / h.prior_loss:.0%} of the loss of always predicting the class "
        f"frequencies ({h.prior_loss:.3g}): it has learned next to nothing beyond them. "
        f"{advice}",
        h,
        per_epoch=True,
        train_loss=loss,
        prior_loss=h.prior_loss,
        threshold=t.prior_share,
        **({"rate_advice": rate} if rate else {}),
    )


CHANCE_TOLERANCE = 0.01  # a validation cross entropy this near ln(classes): guessing
NEVER_LEARNED = 0.1  # ... and never this share below it: it never learned much
TERMS_FELL = 0.9  # ... while the training loss fell under this share of its first value


def guessing_beside_terms(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A hand-written loop whose loss adds other terms to a cross entropy (`term_chance`),
    whose validation loss has stayed within `CHANCE_TOLERANCE` of that cross entropy's chance
    level (ln of its classes) for the last `min_epochs` epochs, after `judge_after` of the
    budget, and never went `NEVER_LEARNED` below it, its validation accuracy in those
    epochs (where there is one) no more than `CHANCE_SHARE` times chance's, by their
    median, while its training loss fell by 1 - `TERMS_FELL` of its first value's size or
    more: the training loss falls by its other terms, not by the fit, and a penalty that
    outweighs the data term holds the network at guessing (a Bayes-by-backprop MLP whose
    KL was not divided by its training rows: training loss 33,600 -> 18,100 in 40 epochs,
    validation 2.303 = ln 10 at every one, test NLL 2.31 against 0.12; stress 31). An
    underconfident network that ranks the classes right scores above chance: not this.
    Reported as underfitting, only when no other problem has been found
    (`FALLBACK_RULES`)."""
    if h.data_at_hand or not h.term_chance or not _judged(h, t):
        return None
    train, val, chance = h.curve("train_loss"), h.curve("val_loss"), h.term_chance
    last = val[-t.min_epochs :]
    if len(last) < t.min_epochs or not _finite(train) or not _finite(val):
        return None
    if any(abs(v - chance) > CHANCE_TOLERANCE * chance for v in last):
        return None
    fell = train[0] - train[-1] > (1 - TERMS_FELL) * abs(train[0])  # (below 0 too)
    if min(val) < (1 - NEVER_LEARNED) * chance or not fell:
        return None
    accuracy = [a for a in h.curve("val_accuracy")[-t.min_epochs :] if math.isfinite(a)]
    if accuracy and np.median(accuracy) > CHANCE_SHARE * math.exp(-chance):
        return None
    classes = round(math.exp(chance))
    return finding(
        "underfitting",
        "warning",
        f"The model learns nothing of its {classes} classes: its validation loss has stayed "
        f"within {CHANCE_TOLERANCE:.0%} of a uniform guess's (ln {classes} = {chance:.4g}) for the "
        f"last {len(last)} epochs, its best {min(val):.4g}, while the training loss fell "
        f"from {train[0]:.3g} to {train[-1]:.3g}: it falls by the loss's other terms, not by "
        f"the fit. A penalty that outweighs the data term holds the network at guessing: "
        f"scale it down (divide a KL divergence by the number of training rows, not the "
        f"batch's; weaken a weight decay or L1 written into the loss), then check that the "
        f"labels go with their inputs.",
        h,
        per_epoch=True,
        train_loss=train,
        val_loss=val,
        chance_loss=chance,
        penalty_outweighs=True,
    )


# a layer's gain at the first probe this many times its gain now: pulled down by the loss
SHRUNK = 10.0


def pulled_to_zero(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """Every hidden layer's weights shrank `SHRUNK` times or more from the first probe to
    below `COLLAPSED_GAIN` (their RMS times the square root of their fan-in; 0.5-2.5 in a
    trained network), and the train loss has plateaued: something in the loss
    pulls every weight to zero, a penalty written into it far too strong (1e-2 times the
    sum of |w| over a digits MLP's 85,000 weights is 30 times its cross entropy: the
    network went to 0.08 accuracy and nothing was said, stress 23). A penalty measured on
    the optimizer or model is `penalised`'s to name."""
    if h.penalty or h.n_probes < 2 or not _judged(h, t):
        return None
    loss = h.curve("train_loss")
    if not _finite(loss) or not _plateau(loss, t):
        return None
    first, now = _hidden_gains(h, 0), _hidden_gains(h)
    if first is None or not (np.all(now < COLLAPSED_GAIN) and np.all(first >= SHRUNK * now)):
        return None
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: every hidden layer's weights shrank towards zero (gain "
        f"{np.median(first):.2g} at the start, {np.median(now):.2g} now; 0.5-2.5 in a "
        f"trained network) and the training loss stalled at {loss[-1]:.3g}: something in "
        f"the loss pulls every weight to zero, a penalty written into it far too strong (an "
        f"L1 or L2 term summed over all the parameters grows with their number). Weaken it "
        f"(L1 1e-5..1e-4, L2 1e-4..1e-3 per weight), or use the optimizer's weight_decay.",
        h,
        per_epoch=True,
        train_loss=loss,
        gain_start=float(np.median(first)),
        gain_now=float(np.median(now)),
    )


# rows a probed batch must hold for one class ranked first for all to say the network
# predicts it whatever the input (not a batch that happens to hold one class)
ONE_CLASS_ROWS = 16
# a frozen validation accuracy above this is no network that predicts one class: a healthy
# one on imbalanced classes, converged (its batches often hold the majority class only)
ONE_CLASS_ACCURACY = 0.5


def one_class(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A hand-written loop's validation accuracy, at most `ONE_CLASS_ACCURACY`, has not
    moved at all for `min_epochs` epochs or more, and the network ranked one class, the
    same, first for every row of each batch probed in them and of the last two probed (not
    the first probe's, at init), two or more of `ONE_CLASS_ROWS` rows or more: it predicts
    that class whatever the input, though its loss may fall (a capsule network's margin
    loss under Adam at 0.05 fell 1.5 -> 0.37 at chance accuracy, stress 22). The Trainer
    reads the same from the class prior (`learned_nothing`); a loop's loss of its own making
    has none. Reported as underfitting, only when no other problem has been found
    (`FALLBACK_RULES`)."""
    if h.data_at_hand or not h.curves or "val_accuracy" not in h.curves[-1]:
        return None
    accuracy = h.curve("val_accuracy")
    frozen = len(list(itertools.takewhile(lambda a: a == accuracy[-1], reversed(accuracy))))
    if frozen < t.min_epochs or not accuracy[-1] <= ONE_CLASS_ACCURACY:
        return None
    if not len(h.top_class) == len(h.top_class_id) == len(h.epochs) >= 2:
        return None
    # the probes in those epochs and the last two, not the first (at init, as likely)
    since = h.curves[-frozen].get("epoch", math.inf)
    probed = {i for i, epoch in enumerate(h.epochs) if epoch >= since}
    probed = (probed | set(range(len(h.epochs))[-2:])) - {0}
    if len(probed) < 2 or h.batch_rows < ONE_CLASS_ROWS:
        return None
    if len({h.top_class_id[i] for i in probed}) != 1 or any(h.top_class[i] < 1 for i in probed):
        return None
    loss = h.curve("train_loss")[-frozen:]
    large = steps_too_large(h)
    advice = large or (
        "Either it learns nothing from the inputs (labels drawn apart from their rows, a "
        "loss that reads other outputs than the predictions rank) or steps too large "
        "knocked it there: check the labels and the loss, then try a rate 10x lower."
    )
    return finding(
        "underfitting",
        "warning",
        f"The model underfits: the validation accuracy has stayed at exactly "
        f"{accuracy[-1]:.3g} for {frozen} epochs, while the training loss went from "
        f"{loss[0]:.3g} to {loss[-1]:.3g}, and the network ranks one class first for every "
        f"row of the batches probed: it predicts that class whatever the input. {advice}",
        h,
        per_epoch=True,
        val_accuracy=accuracy[-1],
        frozen_epochs=frozen,
        **({"rate_advice": "lower"} if large else {}),
    )
