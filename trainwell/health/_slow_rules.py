"""Slow convergence: a loss that falls too slowly for its budget, and why (steps too
small, a schedule that cut the rate to nothing, units lost), read from the curves after
every epoch, as the other curve rules in `_curve_rules.py`."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..findings import Finding
from ._bar_rules import short_of_the_bar
from ._curve_base import (
    FLOOR_UNKNOWN,
    _annealed,
    _at_floor,
    _drop,
    _finite,
    _judged,
    _limited_by_data,
    _off_course,
    _small_steps,
    _stalled_high,
    _val_pace,
    bottleneck,
    steps_too_large,
    untrained_so_far,
)
from ._divergence_rules import flown_off
from ._history import ProbeHistory
from ._probe_rules import vanishing_gradient
from ._rule_base import FAR_TARGETS, Thresholds, finding, stalled
from ._small_steps import clipped_down, collapsed_rate, eps_cause, eps_dwarfs
from ._target_scale import mean_loss, raw_targets
from ._unit_rules import units_lost


def _every_layer_moves(h: ProbeHistory, t: Thresholds) -> float | None:
    """The steps' size (`ProbeHistory.step_size`) where it is `small_update` or more and no
    layer is left behind (each moves by a tenth of that or more, median over the last 3
    probes): a loss that does not fall on such steps is not waiting for a higher rate. A
    layer starved of gradient (vanishing through a deep sigmoid stack) is left behind."""
    size = h.step_size()
    if size is None or size < t.small_update:
        return None  # (a size measured: some probe measured some layer's step)
    steps = [row[~np.isnan(row)] for row in h.last("update_ratio", 3)]
    slowest = float(np.median([row.min() for row in steps if row.size]))
    return size if slowest >= t.small_update / 10 else None


TAKE_OFF = 1.2  # the last fall this many times every earlier one: a loss speeding up
PLATEAU_EPOCHS = 8  # a loop's plateau on steps of the usual size is judged after these
AT_CHANCE = 0.98  # a loss of unknown floor at this share of its chance level or above


def _young_plateau(h: ProbeHistory, loss: list[float]) -> bool:
    """A hand-written loop's loss that sits still while every layer moves, for fewer than
    `PLATEAU_EPOCHS` epochs or half its budget: a transformer's plateau before attention
    finds what to attend to lasts that long (stress 26: ln 2 for four epochs, then 0.97 and
    0.99 accuracy, told to check its inputs at epoch 3). No remedy waits on this verdict
    (a higher rate is not the advice): inputs that do not carry the labels are told a few
    epochs later. The Trainer's doctor, whose data and budget it knows, judges as before."""
    if h.data_at_hand:
        return False
    return len(loss) < max(PLATEAU_EPOCHS, h.total_epochs / 2)


def _taking_off(loss: list[float], val: list[float]) -> bool:
    """The loss fell in every epoch, and most in the last (`TAKE_OFF`): a network leaving a
    plateau, as attention does once it finds what to attend to (0.6965, 0.6906, 0.6857,
    0.6690, then 0.65, 0.59, 0.36 and 0.98 accuracy, stress 24, on three seeds). A stuck
    loss's falls are noise, seldom all above 0 with the last the largest; a steady one's
    alike: judged again at the next epoch. Where a validation loss is reported, it is below
    where it started too: a network memorising labels it cannot learn (random ones, after a
    higher rate) speeds up on its training rows alone, its validation loss rising."""
    falls = [a - b for a, b in itertools.pairwise(loss)]
    speeding = len(falls) >= 3 and min(falls) > 0 and falls[-1] >= TAKE_OFF * max(falls[:-1])
    seen = [v for v in val if math.isfinite(v)]
    return speeding and (len(seen) < 2 or seen[-1] < seen[0])


def slow_convergence(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """After `judge_after` of the budget, the train loss has fallen by less than `slow_drop`
    of its first value (AutoTrainer: best one-epoch accuracy gain < 0.01); or it looks
    stalled high, as underfitting's does, while the validation loss still falls at a steady
    pace (`_val_pace`): steps too small, not capacity missing; or it falls on small steps too
    slowly to fit in the budget (`_behind`). Not under a strong penalty,
    nor behind a layer too narrow for the output: each is why, and `penalised` or
    `narrow_layer` names it. A network still as untrained as it began after 2 epochs is
    judged early where the run has ended or its steps are tiny (`_untrained_early`)."""
    if h.penalty or not (_judged(h, t) or _untrained_early(h, t)):
        return None
    loss = h.curve("train_loss")
    if not _finite(loss) or loss[0] <= 0 or _at_floor(h, loss, t):
        return None
    drop = _drop(loss)
    if drop < t.slow_drop:
        cause = _named_cause(h, t)
        far = raw_targets(h, FAR_TARGETS) is not None  # `finding` names them: the cause
        size = None if cause or far else _every_layer_moves(h, t)
        large, rate = steps_too_large(h), None
        if size is not None and large is None and _taking_off(loss, h.curve("val_loss")):
            return None  # a plateau it is leaving: judged again at the next epoch
        if size is not None and large is None and _young_plateau(h, loss):
            return None
        if cause or far:
            advice = cause or ""
        elif large is not None:
            advice, rate = large, "lower"
        elif size is not None:
            advice = (
                f"Every layer moves (the largest by {size:.1e} of its weights a step; about "
                f"1e-3 is usual), so a higher rate may not help: check that the inputs carry "
                f"what the labels need and that the model can express it (a nonlinearity "
                f"between its layers)."
            )
        else:
            advice, rate = _raise_rate(h), "raise"
        severity = "warning"
        # (a cause measured, or steps too small or too large: what explains it, told so)
        guess = _at_chance(h, loss) if rate is None and not (cause or far) else None
        if guess is not None:  # its floor unknown, but not this
            advice = guess
        elif not (h.floor_known or cause or far or rate == "raise"):
            # a loop's own loss, whose floor it cannot tell, on steps not small: a Cox
            # likelihood's floor is the log of its risk sets, a listwise ranking's the
            # entropy of its targets; told to lower the rate, a survival loop lost C-index
            severity = "info"
            advice += f" {FLOOR_UNKNOWN} (a survival likelihood, a ranking's soft targets)."
        return finding(
            "slow_convergence",
            severity,
            f"Training converges too slowly: after {len(loss)} epochs the training loss fell "
            f"only {drop:.1%}. {advice}".rstrip(),
            h,
            per_epoch=True,
            train_loss=loss,
            relative_drop=drop,
            threshold=t.slow_drop,
            rate_advice=rate,
            **({"every_layer_moves": size} if size is not None and large is None else {}),
            **_eps_evidence(h, t),
        )
    if not _judged(h, t):  # judged early: only whether it fell at all
        return None
    if (stopped := _rate_gone(h, loss, t)) is not None:
        return stopped
    if (offset := _offset_unlearned(h, loss, t)) is not None:
        return offset
    val = h.curve("val_loss")
    if h.dense == [True] and short_of_the_bar(h, t) is not None:
        # a linear model short of what the data allows: it creeps towards the best a linear
        # model does, which reads as a descent on steps too small, but a higher rate is no
        # advice (five classes of two clusters each were told both)
        return None
    if (behind := _behind(h, loss, t)) is not None:
        return behind
    pace = _val_pace(loss, val, t)
    if pace is None or not _stalled_high(h, loss, val, t) or bottleneck(h):
        return None  # a layer too narrow for the output slows it too: `narrow_layer` names it
    if not h.data_at_hand and _small_steps(h, t) is None and not _named_cause(h, t):
        # a loop's own loss, on steps of the usual size: near a floor its data sets (a VAE's
        # ELBO, a diffusion model's noise), which it still creeps down; told to raise the
        # rate, a multi-label loop scored 0.72 -> 0.70 at 3x (stress 19)
        return None
    advice, rate = _faster(h, t)
    small = "" if rate == "lower" else ", its steps are too small"
    return finding(
        "slow_convergence",
        "warning",
        f"Training converges too slowly: the training loss looks stalled at "
        f"{loss[-1] / loss[0]:.0%} of where it started, but the validation loss still falls "
        f"in every epoch, by {pace:.1%} an epoch: the network can fit more{small}. {advice}",
        h,
        rate_advice=rate,
        per_epoch=True,
        train_loss=loss,
        val_loss=val,
        relative_drop=drop,
        val_pace=pace,
        threshold=t.creep_pace,
        **_eps_evidence(h, t),
    )


def _at_chance(h: ProbeHistory, loss: list[float]) -> str | None:
    """Where a hand-written loop's cross entropy, whose floor is not known to be 0 (a
    contrastive loss's, scored within the batch), stayed at its chance level all run
    (every epoch at `AT_CHANCE` of ln of its classes or above): whatever its floor, the
    network never told its targets apart better than a guess (stress 28: SimCLR with each
    view's positive another image's, 6.237 -> 6.236 over 25 epochs; at a temperature of
    10, 1.2% below chance), and a rate changes nothing of that (read only where nothing
    measured explains it: steps too small, at 1e-6, or a schedule that took the rate to 0
    stall it at chance too, and are told so). The advice; None."""
    chance = h.chance_loss
    if h.floor_known or not chance or min(loss) < AT_CHANCE * chance:
        return None
    classes = math.exp(chance / max(h.summed, 1))
    return (
        f"It never left the loss of a guess ({chance:.4g}, ln of its {classes:.0f} classes): "
        f"the network tells its targets apart no better than chance, whatever its steps. "
        f"Check that the labels name the right scores (a positive pair's index), and the "
        f"temperature the scores are divided by."
    )


def _faster(h: ProbeHistory, t: Thresholds) -> tuple[str, str | None]:
    """The advice for a loss slower than its data allows, and what it says of the rate
    (`rate_advice`): the cause where one is measured (`_named_cause`), nothing of the rate;
    "lower" it where the steps are measured too large (`steps_too_large`: the loss bounces
    where they cannot settle, and the Trainer's doctor lowers the rate, never raises it, a
    12-layer ReLU MLP under SGD at 0.05 taking steps of 3.5%); else "raise" it."""
    cause = _named_cause(h, t)
    if cause:
        return cause, None
    large = steps_too_large(h)
    return (large, "lower") if large is not None else (_raise_rate(h), "raise")


def _named_cause(h: ProbeHistory, t: Thresholds) -> str | None:
    """Why the steps are small, where measured: a schedule that has already decayed the
    rate to almost nothing (`collapsed_rate`), units lost (`units_lost`: a higher rate,
    which often killed them, is no advice), or gradients that vanish on their way back;
    None otherwise."""
    if (collapsed := collapsed_rate(h, t)) is not None:
        now, start = collapsed
        fix = (
            "(a scheduler meant to step once an epoch, stepped every batch?). Step it once an "
            "epoch, or decay it more slowly."
            if not h.data_at_hand  # a hand-written loop steps its schedulers itself
            else "too soon: decay it more slowly (train.schedule)."
        )
        if now == 0:
            began = f" (it started at {start:g})" if start > 0 else ""
            return (
                f"The learning rate is 0{began}, so no step moves the weights: a schedule "
                f"took it there {fix}"
            )
        return (
            f"The learning rate is {now:.1e}, {now / start:.0e} of the {start:g} it started "
            f"at: a schedule has decayed it to almost nothing in {len(h.curves)} epochs {fix}"
        )
    if (clipped := clipped_down(h)) is not None:
        norm, throttle = clipped
        if not h.data_at_hand and h.loop_clip is None:  # a loop's doctor clips: its remedy's
            return (
                f"The doctor's own gradient clipping at {norm:.3g} (a remedy it applied) "
                f"scales every step down {throttle:.0f}x: the gradients' norm is "
                f"{throttle * norm:.3g}, far above a trained network's. Look for what makes "
                f"them so large: noise added to them, a loss summed over many terms, targets "
                f"far from standardised."
            )
        where = "train.grad_clip" if h.data_at_hand else "the clipping"
        return (
            f"Gradient clipping at {norm:.3g} scales every step down {throttle:.0f}x "
            f"(the gradients' norm is {throttle * norm:.3g}): raise {where} or remove it."
        )
    if (dwarfed := eps_dwarfs(h)) is not None:
        return eps_cause(*dwarfed)
    if units_lost(h, t):  # (by a rate too large, often: a higher one would not help)
        return (
            "Most units of a layer were dead or saturated at the last probe (dying_relu, "
            "saturated_activation): a higher rate would not bring them back; treat them first."
        )
    if vanishing_gradient(h, t) is not None:  # Adam moves starved layers all the same
        return (
            "The gradients vanish before they reach the first layers (vanishing_gradient): "
            "a higher rate will not make those layers learn; treat that first."
        )
    return None


def _eps_evidence(h: ProbeHistory, t: Thresholds) -> dict[str, float]:
    """`optimizer_eps` where it dwarfs the gradients (`eps_dwarfs`) and is the cause the
    finding names (not a schedule or a clip named before it): a loop's doctor sets it back
    (`_loop_remedies.default_eps`)."""
    dwarfed = eps_dwarfs(h)
    named = dwarfed is not None and _named_cause(h, t) == eps_cause(*dwarfed)
    return {"optimizer_eps": dwarfed[0]} if named else {}


def _raise_rate(h: ProbeHistory) -> str:
    """A higher rate; an adaptive optimizer only where it is not one."""
    if h.scale_free:
        return "Raise the learning rate."
    return "Raise the learning rate or use an adaptive optimizer (Adam)."


def _rate_gone(h: ProbeHistory, loss: list[float], t: Thresholds) -> Finding | None:
    """The loss fell, then stopped: it has moved by less than `plateau_drop` over its last
    `creep_epochs` epochs, at each of which a schedule had collapsed the rate
    (`collapsed_rate`), so nothing moves any more; the schedule ended the training, not
    the data (StepLR counted in batches: 9e-38 after 15 epochs, the loss 1.1633 for 13 of
    them, stress 22). Not a cosine or one-cycle schedule's last epochs, where the rate
    reaches nothing only at the end."""
    recent = loss[-t.creep_epochs - 1 :]
    collapsed = collapsed_rate(h, t)
    if len(recent) <= t.creep_epochs or collapsed is None:
        return None
    rates = h.curve("lr")[-len(recent) :]
    if not all(lr <= t.collapsed_lr * collapsed[1] for lr in rates):
        return None  # collapsed only lately: a cosine or one-cycle schedule's last epochs
    if abs(recent[0] - recent[-1]) >= t.plateau_drop * abs(recent[0]):
        return None
    return finding(
        "slow_convergence",
        "warning",
        f"Training has stopped: the training loss has not moved in {t.creep_epochs} epochs "
        f"({recent[0]:.4g} -> {recent[-1]:.4g}). {_named_cause(h, t)}",
        h,
        per_epoch=True,
        train_loss=loss,
        relative_drop=_drop(loss),
        threshold=t.collapsed_lr,
        rate_gone=True,
    )


def _offset_unlearned(h: ProbeHistory, loss: list[float], t: Thresholds) -> Finding | None:
    """slow_convergence on targets far from standardised whose first residuals were mostly
    an offset (`_target_scale.mean_loss`), where the loss is still at or above predicting
    their mean: the curve has fallen far from where it started, but only as the outputs
    crept towards where the targets lie. Adam moves a bias by about its rate a step, and
    the hidden layers must grow to carry thousands of units: the run spends its budget
    there, before it learns how the targets vary (5,000 +- 800 under Adam at 1e-3: R^2
    0.48 after 30 epochs; 0.99 standardised)."""
    mean = mean_loss(h, FAR_TARGETS, t.offset_share)
    if mean is None or not stalled(loss[-1], mean, t.prior_share):
        return None
    return finding(
        "slow_convergence",
        "warning",
        f"Training converges too slowly: after {len(loss)} epochs the training loss "
        f"({loss[-1]:.3g}) is still {loss[-1] / mean:.1f} times the loss of predicting the "
        f"targets' mean ({mean:.3g}, read at the first probe): the network is still moving "
        f"its outputs to where the targets lie, not yet learning how they vary.",
        h,
        per_epoch=True,
        train_loss=loss,
        mean_loss=mean,
        offset_share=h.output_offset[0],
    )


def _behind(h: ProbeHistory, loss: list[float], t: Thresholds) -> Finding | None:
    """slow_convergence on a loss that falls, but not fast enough to fit in the budget
    (`_off_course`), on small steps (`_small_steps`): a rate far below what the optimizer
    needs (Adam at 1e-5, say) falls steadily but slowly, and underfitting's plateau would
    show too late for a remedy to help. Steps of healthy size behind a slow curve are a
    capacity problem (underfitting), or a layer too narrow (`narrow_layer`); steps a
    schedule has annealed (`_annealed`) are small on purpose, steps small next to weights
    that flew off (`flown_off`) are no sign of a rate too low, and a loss already as low as
    the reference models' (`_limited_by_data`) is at what its data allows, however it creeps
    (AdamW at 1e-3 takes steps of 8e-4 of the weights)."""
    if not loss[-1] < loss[-3] or bottleneck(h) or _annealed(h, t) or _levelled(h, loss, t):
        return None
    if flown_off(h, t) or _limited_by_data(h, loss, h.curve("val_loss"), t):
        return None
    projected = _off_course(h, loss, t)
    if projected is None or (steps := _small_steps(h, t)) is None:
        return None
    advice, rate = _faster(h, t)
    return finding(
        "slow_convergence",
        "warning",
        f"Training converges too slowly: the training loss falls, but at the pace of its last "
        f"two epochs it would still be at {projected / loss[0]:.0%} of where it started when "
        f"the {h.total_epochs} epochs end, and no layer's step moves its weights by more than "
        f"{steps:.1e} of their size. {advice}",
        h,
        rate_advice=rate,
        per_epoch=True,
        train_loss=loss,
        projected_loss=projected,
        update_ratio=steps,
        threshold=t.small_update,
    )


def _levelled(h: ProbeHistory, loss: list[float], t: Thresholds) -> bool:
    """The curve fell fast, then levelled off: its last two epochs fell by less than
    `levelled_pace` of its pace before them, below the class prior's loss (when known). A
    slow rate falls at an even pace, or lingers at the prior's loss; a curve that bends so
    is near what the model and data allow (a text's entropy, noisy targets), which a higher
    rate does not lower: underfitting's plateau judges it."""
    if len(loss) < 4 or (h.prior_loss and stalled(loss[-1], h.prior_loss, t.prior_share)):
        return False
    before = (loss[0] - loss[-3]) / (len(loss) - 3)
    return before > 0 and (loss[-3] - loss[-1]) / 2 < t.levelled_pace * before


def _untrained_early(h: ProbeHistory, t: Thresholds) -> bool:
    """A network untrained so far (`untrained_so_far`), judged now where saying nothing
    would cost the run: where it has ended (a run too short to judge would pass as healthy:
    digits at chance after 3 epochs of SGD 0.002), or where its steps move no layer by
    `tiny_update` of its weights (the rate is far too low, and waiting `min_epochs` leaves
    its remedy a third less of the run: a batch-norm CNN under SGD at 2e-5, steps of
    5.6e-5, 1.885, 1.879 against a prior's 1.79, told at epoch 3 and switched to Adam, 0.81
    against 0.93)."""
    if not untrained_so_far(h, t):
        return False
    if len(h.curves) >= h.total_epochs:
        return True
    size = h.step_size()
    return size is not None and size < t.tiny_update
