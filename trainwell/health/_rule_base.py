"""What every doctor rule shares: its thresholds, and how it words and dates a finding."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..findings import Finding
from ._history import ProbeHistory
from ._target_scale import raw_targets


@dataclass(frozen=True)
class Thresholds:
    """Every number a rule compares against, with its origin."""

    sustain: int = 2  # consecutive probes a probe symptom must hold (AutoTrainer alpha: 0..3)
    vanishing_ratio: float = 1e-3  # |g first| / |g last| (AutoTrainer beta1)
    starved_scale: float = 1e-4  # |g first| / |W first| at the prior's loss (healthy: ~1e-2)
    # ... or 1e-3 where the hidden layers' gains multiply to below VANISHED_SIGNAL
    shrunk_starved_scale: float = 1e-3
    exploding_ratio: float = 70.0  # |g first| / |g last| (AutoTrainer beta3; 40..100 all work)
    exploding_scale: float = 10.0  # a layer's |g| / |W| (DeepDiagnosis flags lr*|dW|/|W| > 0.1)
    exploding_at_once: float = 100.0  # |g| / |W| so large that one probe is enough
    blown_start: float = 5.0  # or > exploding_scale at the first probe, the loss already 5x
    # the class prior's on standardised inputs: the initialisation blows the outputs up
    blown_up: float = 2.0  # ... or > exploding_scale, and the weights then grew 2x by the next
    small_init: float = 1.0  # weights below this share of torch's default init are read at it
    dead_fraction: float = 0.7  # of a layer's ReLU units (AutoTrainer gamma, DeepDiagnosis)
    saturated_fraction: float = 0.5  # of a layer's activations (SageMaker SaturatedActivation)
    runaway_factor: float = 10.0  # loss this many times its first value: runaway divergence
    judge_after: float = 0.3  # curve rules wait for this share of the epochs (AutoTrainer)
    min_epochs: int = 4  # ... and at least this many epochs
    oscillation_rise: float = 0.05  # an epoch whose train loss rises >= 5% over the previous
    restart_rise: float = 1.5  # the rate raised this much into an epoch: its rise is meant
    oscillation_share: float = 0.3  # flagged when that many of the epochs rise
    oscillation_rises: int = 2  # ... and at least this many: a lone rise is no oscillation
    oscillation_floor: float = 0.02  # ... each rise >= 2% of the loss's scale (not noise)
    # every epoch's train loss under 5% of an untrained network's: the run started at its
    # floor (resumed, fine-tuned): nothing left to converge, its swings are batch noise
    at_floor_share: float = 0.05
    oscillation_path: float = 3.0  # or: the loss travelled 3x its net fall (up and down) ...
    oscillation_travel: float = 1.0  # ... and at least its scale, ...
    oscillation_rebound: float = 0.2  # ... climbing back 20% of it above its lowest so far
    # unless the val loss never climbed back 10% of its scale above its lowest so far: steps
    # that swing move the weights, and the val loss with them; a train loss made noisy by
    # its objective (mixup, heavy augmentation) swings alone
    steady_val_rebound: float = 0.1
    # or the val loss rose by less in all than the train loss did, the val accuracy never
    # `overfit_jump` below its best: the train loss's swings are its batches' (`_val_calmer`)
    oscillation_val_share: float = 1.0
    # or, in one epoch, the val loss went from under half of an untrained network's to 90%
    # of it or more, the train loss with it: the steps threw away all it had learned
    knocked_from: float = 0.5
    knocked_to: float = 0.9
    slow_drop: float = 0.1  # train loss fell by less than 10% of its first value
    collapsed_lr: float = 1e-3  # a schedule cut the rate below this share of its start
    levelled_pace: float = 0.1  # ... not a curve whose last 2 epochs fell at < 10% of its pace
    small_update: float = 1e-3  # or falls, off course to fit in the budget, on steps that
    # move the weights by less than this share a step (~1e-3 is healthy: Karpathy's rule)
    tiny_update: float = 1e-4  # steps a tenth of that: a network still at the class prior's
    # loss after 2 epochs on them is judged then, not after `min_epochs` (`_untrained_early`)
    overfit_rise: float = 0.2  # val loss 20% above its best while train loss keeps falling
    overfit_patience: int = 3  # epochs since the best val loss
    overfit_floor: float = 0.05  # ... and the rise >= 5% of the val loss's scale (not noise)
    overfit_climb: int = 5  # or: val loss rose in each of the last 5 epochs ...
    overfit_climb_rise: float = 0.1  # ... to 10% above its best (a steady climb is no noise)
    overfit_accuracy_gain: float = 0.01  # val accuracy this far above it at the best: no overfit
    overfit_jump: float = 0.05  # val accuracy down and back up since the best: it jumps
    jump_rate_kept: float = 0.9  # ... and the rate at 90% of its highest: no schedule calms it
    memorised_gap: float = 3.0  # ... unless train loss < 1/3 of val loss at its best: memorised
    memorised_fit: float = 10.0  # train loss < 1/10 of a val loss stalled for overfit_patience
    memorised_val: float = 0.5  # ... at half of knowing nothing's or more: overfits, unrisen
    underfit_loss: float = 0.3  # train loss above 30% of chance-level loss, at a plateau
    underfit_val_ratio: float = 0.75  # ... unless val loss is below this share of train loss
    reference_share: float = 1.1  # ... or val loss at most 10% above the reference models'
    # images: the val loss's best this many times the bar (`_baselines.image_bar_loss`) or
    # more, once stalled (past the 10% a split moves a loss, and 10% more), and the train
    # loss this share of the bar or more (one that memorised its images sits far below)
    bar_gap: float = 1.2
    bar_train_share: float = 0.5
    plateau_drop: float = 0.02  # last epochs improve the train loss by less than 2% each
    annealed_lr: float = 0.25  # ... at a rate over this share of its peak (not annealed)
    creep_epochs: int = 4  # ... but the val loss fell in each of the last 4 epochs ...
    creep_pace: float = 0.005  # ... by >= 0.5% an epoch on average ...
    creep_kept: float = 0.5  # ... its last two falls >= half the two before: slow, not stalled
    prior_share: float = 0.9  # train loss still >= 90% of predicting the class prior's
    offset_share: float = 0.5  # far targets' first residuals mostly an offset: (see mean_loss)
    bottleneck_epochs: int = 2  # a layer too narrow for the output: judged after 2 epochs ...
    bottleneck_loss: float = 0.5  # ... when the train loss is still >= half the prior's ...
    bottleneck_pace: float = 0.05  # ... unless it falls >= 5% of the prior an epoch, faster


Rule = Callable[[ProbeHistory, Thresholds], Finding | None]
# A layer's gain: the RMS of its weights times the square root of its fan-in, what it
# multiplies a unit-variance input by. He init gives sqrt(2), PyTorch's default 0.58, and
# trained hidden layers stay near 0.5..2.5; above 4 each layer amplifies its input several
# times over, and the logits blow up with depth.
LARGE_GAIN = 4.0
COLLAPSED_GAIN = 0.1  # a hidden layer's gain below 0.1: a penalty pulled its weights to zero
# PyTorch's default initialisation gives a gain of 0.58, Xavier ~1, He 1.41: below 0.3 in
# every hidden layer, each shrinks the signal threefold or more, and depth compounds it
SMALL_GAIN = 0.3
# hidden layers whose gains multiply to below this pass on less than a thousandth of the
# input's scale: the forward twin of `vanishing_ratio`. Each can be near a sane gain (0.2 to
# 0.35 a layer, a tanh CNN drawn at std 0.02) and six of them still silence the network.
# PyTorch's default initialisation passes 0.58 a layer: 1e-3 after twelve of them
VANISHED_SIGNAL = 1e-3
NEGATIVE_BIAS = -0.5  # default initialisations give mean biases within +-0.05
UNSCALED_RMS = 5.0  # standardised features have RMS 1; raw pixels or units are 10..1000
# inputs far from standardised make pre-activations huge: the first step explodes, kills
# ReLUs or pins sigmoids, and the loss runs away; none of which holds once they are scaled
UNSCALED_CODES = ("exploding_gradient", "saturated_activation", "dying_relu", "divergence")
# a loss's error signal at the outputs this many times a bounded loss's (a cross entropy's,
# a mean squared error on standardised targets: ~1), the outputs far smaller: the targets
# are in raw units, and the problems a learning rate would be blamed for are theirs
FAR_TARGETS = 30.0
# ... and those a loss summed at a rate not scaled down to it explains (its steps are too
# large: never a stall)
SUM_SIZED_CODES = ("exploding_gradient", "divergence")
TARGET_SCALE_CODES = (
    "exploding_gradient",
    "divergence",
    "dying_relu",  # killed by the steps such gradients take
    "slow_convergence",
    "underfitting",
)


def finding(
    code: str,
    severity: str,
    message: str,
    history: ProbeHistory,
    *,
    layer: str | None = None,
    per_epoch: bool = False,
    **evidence: object,
) -> Finding:
    """A training finding dated at the last probe, or at the last epoch (`per_epoch`); one
    that targets far from standardised explain names them (`FAR_TARGETS`), and one that
    inputs far from standardised explain names those (`UNSCALED_RMS`)."""
    far = raw_targets(history, FAR_TARGETS) if code in TARGET_SCALE_CODES else None
    rms = history.input_rms[-1] if history.input_rms and code in UNSCALED_CODES else 0.0
    if far is not None:
        evidence["error_signal"] = far
    if code in SUM_SIZED_CODES and history.sum_sized():
        message += (
            f" The loss sums {history.summed} terms (reduction='sum'), so every gradient is "
            f"{history.summed} times a mean's. Use reduction='mean' (or divide the learning "
            f"rate by {history.summed}) first."
        )
        evidence["summed_loss"] = history.summed
    elif far is not None:
        message += (
            f" The loss's error signal at the outputs was {far:.3g} times a standardised "
            f"target's while the outputs were small: the targets are far from standardised "
            f"(or the loss sums over the batch). Standardise the targets (subtract their mean, "
            f"divide by their standard deviation, map predictions back) first."
        )
    elif rms > UNSCALED_RMS:  # NaN > 5 is False
        message += (
            f" The inputs are far from standardised (their RMS is {rms:.3g}; standardised "
            f"features have 1): standardise them (subtract each feature's mean, divide by "
            f"its standard deviation) first."
        )
        evidence["input_rms"] = rms
    return Finding(
        code=code,
        severity=severity,
        source="training",
        message=message,
        evidence={k: _plain(v) for k, v in evidence.items()},
        layer=layer,
        epoch=_last_epoch(history) if per_epoch else history.epochs[-1],
        step=None if per_epoch else history.steps[-1],
    )


def _last_epoch(history: ProbeHistory) -> int:
    """The run's number of the last epoch in the curves (they restart after a repair)."""
    return int(history.curves[-1].get("epoch", len(history.curves) - 1))


def _plain(value: object) -> object:
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else float(f"{float(value):.4g}")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def stalled(loss: float, prior_loss: float | None, share: float) -> bool:
    """Whether `loss` is still at the level of predicting the class prior (`share` of it):
    the fallback rule's test, and the repairer's for a network that does not learn."""
    return bool(prior_loss) and math.isfinite(loss) and loss >= share * prior_loss
