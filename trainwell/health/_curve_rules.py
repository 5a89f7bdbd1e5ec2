"""Curve rules: what the loss curves of the epochs so far say about the steps.

Each rule is `(history, thresholds) -> Finding | None` and runs after every epoch. The rules
that read the validation loss against the training loss are in `_val_rules.py` (overfitting)
and `_jump_rules.py` (a jumping val loss), those that read a loss too slow for its budget in
`_slow_rules.py`, those that read a network that cannot fit in `_underfit_rules.py`; what
they share is in `_curve_base.py`.
"""

from __future__ import annotations

import itertools
import math

from ..findings import Finding
from ._curve_base import (
    _at_floor,
    _finite,
    _judged,
    _limited_by_data,
    _raised_into,
    _scale,
    _val_pace,
    loop_score,
    running_median,
)
from ._history import LARGE_STEP, ProbeHistory
from ._rule_base import Thresholds, finding
from ._val_rules import _val_accuracy


def oscillating_loss(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The epoch train loss rises by >= `oscillation_rise` in >= `oscillation_share` of the epochs,
    `oscillation_rises` times at least (AutoTrainer counts accuracy swings >= 0.03 in >= 20%
    of epochs; loss is comparable across tasks where accuracy is not; one rise in a loop's
    first 3 epochs was a third of them: mixup's noisy loss, healthy), or once in the last
    `creep_epochs` of a loss stuck high (`_stuck_high`: it bounces where a plateau would lie
    flat). Near a perfect fit a relative rise is easy: each rise must also be
    `oscillation_floor` of the loss's scale, or it is the noise of a few batches an epoch (a
    small dataset), as for overfitting (`_scale`). Or steps that overshoot: the loss went up
    and down more than it went down, the path it travelled (the sum of its epoch-to-epoch
    moves) >= `oscillation_path` times its net fall and >= `oscillation_travel` of its
    scale, and it climbed back `oscillation_rebound` of its scale above its lowest so far,
    in two separate swings up or more (a healthy loss travels 1.0-1.3 times its fall; a slow
    one made noisy by heavy dropout travels more, but rebounds by 15% at most; a lone spike,
    even over two epochs, is no oscillation). Rises and swings of the train loss alone, with
    the val loss steady (`_steady_val`), are its objective's noise; so is a stuck loss with
    the val loss steady over steps measured small (`_large_steps`): a plateau its data
    sets. With no val loss, a score the loop reports that rose and held (`_steady_score`)
    says the same of any swing or plateau."""
    if not _judged(h, t):
        return None
    loss = h.curve("train_loss")
    if len(loss) < 2 or not _finite(loss) or _at_floor(h, loss, t):
        return None
    pairs = list(itertools.pairwise(loss))
    if not any(b < a for a, b in pairs) and _own_loss_alone(h):
        return None  # it only rose: no swing (a policy's loss on the data it collects)
    scale = _scale(loss, h)
    if not scale > 0:  # a loss at 0 from its first epoch (a hinge satisfied): no swing
        return None
    knocked = _knocked_back(h, t)
    if knocked is not None:
        return _knocked_finding(h, loss, knocked, t)
    floor = t.oscillation_floor * scale
    # by a share of where it stood; where the loss went below 0 (a Gaussian or a mixture's
    # NLL), 0 is no floor and where it stood no measure (-0.02 -> 0.01 is no 150% rise):
    # by a share of its scale. Not where a schedule raised the rate (a warm restart's rise
    # is its design)
    raised = _rate_raised(h.curve("lr"), len(pairs), t)
    floorless = min(loss) < 0
    rising = [
        b - a > t.oscillation_rise * (scale if floorless else abs(a)) and b - a >= floor and not up
        for (a, b), up in zip(pairs, raised, strict=True)
    ]
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
    often = rises >= t.oscillation_rises and rises / len(pairs) >= t.oscillation_share
    if _steady_score(h, len(loss), t):
        return None  # a score the loop reports rose and held: no swing of the weights
    # the val loss steady, or calmer than the train loss: the train loss swings by its
    # batches, not by the weights
    steady = _steady_val(h, len(loss), t) or _val_calmer(h, loss, t)
    if stuck and steady and _large_steps(h) is False:
        return None  # a plateau the data sets, its batches' noise on top: no overshoot
    if not stuck and (not (often or wanders) or steady):
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
        f"learning rate is probably too high: lower it, "
        f"{'or use a larger batch' if h.scale_free else 'use Adam, or a larger batch'}.",
        h,
        per_epoch=True,
        train_loss=loss,
        rising_epochs=rises,
        travelled=travelled,
        net_fall=fall,
        stuck=stuck,
        threshold=t.oscillation_share,
    )


def _knocked_back(h: ProbeHistory, t: Thresholds) -> int | None:
    """The first epoch in which the val loss went from under `knocked_from` of an untrained
    network's (`untrained_loss`: the class prior's, a loop's chance level) to `knocked_to`
    of it or more, the train loss with it: the steps threw the weights off all they had
    learned, a loss spike however the run recovers, and whatever the schedule did (an SGDR
    restart to 0.02 knocked a CNN without batch norm from 0.98 accuracy to chance for six
    epochs; a healthy restart lifts the loss a little). None where there was none, or
    the untrained loss is unknown. Not for a val loss climbing alone (overfitting's)."""
    untrained = h.untrained_loss()
    if not untrained > 0:
        return None
    train, val = h.curve("train_loss"), h.curve("val_loss")
    for epoch in range(1, len(val)):
        learned = val[epoch - 1] < t.knocked_from * untrained
        lost = min(val[epoch], train[epoch]) >= t.knocked_to * untrained
        if learned and lost:
            return epoch
    return None


def _knocked_finding(h: ProbeHistory, loss: list[float], epoch: int, t: Thresholds) -> Finding:
    val, untrained = h.curve("val_loss"), h.untrained_loss()
    raised = _rate_raised(h.curve("lr"), len(loss) - 1, t)[epoch - 1]
    rate = " (the schedule raised the rate into it: a restart's peak too high)" if raised else ""
    return finding(
        "oscillating_loss",
        "warning",
        f"The loss was knocked back to where it started: in epoch {epoch} the validation "
        f"loss rose from {val[epoch - 1]:.3g} to {val[epoch]:.3g} and the training loss to "
        f"{loss[epoch]:.3g}, against {untrained:.3g} for a network that learned nothing"
        f"{rate}. A step too large threw the weights off what they had learned: lower the "
        f"learning rate (a schedule's peak), or clip the gradients.",
        h,
        per_epoch=True,
        train_loss=loss,
        knocked_epoch=epoch,
        val_loss=val[epoch - 1 : epoch + 1],
        untrained_loss=untrained,
    )


def _own_loss_alone(h: ProbeHistory) -> bool:
    """A hand-written loop's own loss, not a cross entropy on labels, with no validation
    loss beside it: it may be computed on data the training makes (a PPO loop's clipped
    objective on what its policy collects rose in every epoch as the policy improved), and
    where it only rises there is no swing to read. A loss of fixed data that only rises is
    the rate's (`oscillating_loss`'s stuck branch names it)."""
    val = h.curve("val_loss")
    return not (h.floor_known or any(map(math.isfinite, val)))


def _large_steps(h: ProbeHistory) -> bool | None:
    """Whether the recent steps were measured at `LARGE_STEP` of the weights or more; None
    where unmeasured. Below it, a train loss stuck high with the val loss steady is at what
    its data allows (a small regression's noise: diabetes under Adam at 1e-3 sits at R^2
    0.63, its train loss bouncing by its few batches), not kept from settling by the
    steps."""
    step = h.step_size()
    return None if step is None else step >= LARGE_STEP


def _steady_val(h: ProbeHistory, epochs: int, t: Thresholds) -> bool:
    """The val loss, known at each of the `epochs`, never rose `steady_val_rebound` of its
    scale above its lowest so far: the weights did not swing with the train loss, whose ups
    and downs are its objective's noise (mixup's random blend), not steps too large."""
    val = h.curve("val_loss")
    if len(val) < epochs or not _finite(val):
        return False
    lowest = itertools.accumulate(val, min)
    rebound = max(v - low for v, low in zip(val[1:], lowest, strict=False))
    return rebound < t.steady_val_rebound * _scale(val, h)


def _val_calmer(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """The val loss, known at each epoch of the train `loss`, rose by less in all than
    `oscillation_val_share` of what the train loss rose, and the val accuracy, where known,
    never fell `overfit_jump` below its best so far. The train loss is a mean over an
    epoch's steps, the val loss one reading at its end: weights that swing move the val loss
    at least as far (held-out oscillations: 2-6x the train loss's rises). A train loss that
    rises further alone does so by the batches its epoch drew and what dropout dropped (a
    healthy breast_cancer MLP under SGD, batch norm and dropout 0.3, 14 batches an epoch:
    train rises summing 0.16, val rises 0.06-0.08, its accuracy 0.97-1.0; a 10x lower rate
    scored no better)."""
    val = h.curve("val_loss")  # (the curves hold an entry, or NaN, for every epoch)
    if not _finite(val) or not _rises(val) < t.oscillation_val_share * _rises(loss):
        return False
    accuracy = _val_accuracy(h, 0)
    if accuracy is None:
        return True
    bests = itertools.accumulate(accuracy, max)
    return max(best - a for a, best in zip(accuracy, bests, strict=True)) < t.overfit_jump


def _rises(curve: list[float]) -> float:
    """The sum of a curve's epoch-to-epoch rises."""
    return sum(max(b - a, 0.0) for a, b in itertools.pairwise(curve))


def _steady_score(h: ProbeHistory, epochs: int, t: Thresholds) -> bool:
    """A hand-written loop's own loss, whose floor is not known, beside no val loss but a
    score the loop reports (`loop_score`: accuracy, a return, higher the better) known at
    each of the `epochs`: the score, its lone dips smoothed out (`running_median`), rose by
    `steady_val_rebound` of its size or more and stands now within `steady_val_rebound` of
    that rise of its best (an exploring policy's early returns swing before it learns). The
    training makes progress, whatever its loss does: a
    policy-gradient loop's surrogate loss (log-probabilities times centred advantages) says
    nothing of it and goes to 0 as the policy settles, its return does (a REINFORCE loop
    that solved its task was told its steps were too large to settle: stress 27), and a
    DQN's TD loss is read on what the policy collects (a healthy one, its greedy return up
    from -0.57 to 0.88 but for one evaluation's dip, was told it oscillated and repair cut
    its rate from its best TD loss's epoch, an untrained policy's: return 0.78 -> 0.20,
    stress 31). A cross entropy on labels speaks for itself, and a score stuck where it
    began, or barely above, says nothing."""
    if h.floor_known or any(map(math.isfinite, h.curve("val_loss"))):
        return False
    name = loop_score(h.curves[-1])
    raw = h.curve(name) if name else []
    if len(raw) < epochs or not _finite(raw):
        return False
    score = running_median(raw)
    rise = max(score) - score[0]
    if not rise > t.steady_val_rebound * max(abs(score[0]), abs(max(score))):
        return False
    return max(score) - score[-1] < t.steady_val_rebound * rise


def _rate_raised(rates: list[float], n: int, t: Thresholds) -> list[bool]:
    """For each of the `n` epoch-to-epoch moves, whether the schedule raised the rate by
    `restart_rise` or more into it: the rate recorded at an epoch's end (after its last
    step, so a rise there shows at that epoch or the one before). Warm restarts (SGDR) and
    cyclic rates lift the loss at each peak on purpose; a rate that stays too high does not
    rise."""
    # raised[e]: the rate recorded at epoch e's end is restart_rise times epoch e - 1's
    raised = [False] + [_raised_into(rates, e, t) for e in range(1, len(rates))]
    raised += [False] * (n + 1 - len(raised))
    return [raised[j] or raised[j + 1] for j in range(n)]


def _stuck_high(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """The train loss's best of the last `creep_epochs` epochs improves on its best before
    them by less than `plateau_drop` an epoch, while it is still above `underfit_loss` of
    its first value; not held back by its data nor already as good as the reference models, nor
    under a strong penalty (heavy dropout alone makes it bounce; `penalised` names it), nor
    while the val loss still falls steadily (`_val_pace`: the noise of a few batches an
    epoch, over steps that do settle). With small moves that is underfitting's plateau;
    with a rise among them (`oscillating_loss`) the steps are too large to settle. A loss
    whose floor is not known to be 0 (a hand-written loop's own: a flow's negative
    log-likelihood, a focal loss) may stop where it must, at any share of its start: stuck
    only on steps measured too large (a healthy 2-D flow's, at 74%, had its rate cut:
    stress 27)."""
    n = t.creep_epochs
    if h.penalty or len(loss) <= n or loss[-1] < t.underfit_loss * loss[0]:
        return False
    if not h.floor_known and _large_steps(h) is not True:
        return False
    if min(loss[-n:]) <= min(loss[:-n]) * (1 - t.plateau_drop * n):
        return False
    val = h.curve("val_loss")
    return not _limited_by_data(h, loss, val, t) and _val_pace(loss, val, t) is None
