"""Causes read from evidence: what the probes and the live optimizer show about why a
problem happens, so the doctor picks the remedy that treats the cause.

Nothing here reads the run's config: a user's own module in a hand-written loop gets the
same diagnosis as a config.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._history import Penalty, ProbeHistory
from ._layers import weighted_layers
from ._probe_rules import _hidden_gains
from ._rules import (
    COLLAPSED_GAIN,
    LARGE_GAIN,
    LARGE_STEP,
    NEGATIVE_BIAS,
    SMALL_GAIN,
    UNSCALED_RMS,
    VANISHED_SIGNAL,
    Thresholds,
    bottleneck,
    stalled,
)

# optimizers that already scale each weight's step by its gradients' history: their rate is
# the size of each weight's step, whatever the gradients' scale
ADAPTIVE = (
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.NAdam,
    torch.optim.RAdam,
    torch.optim.Adamax,
    torch.optim.Adagrad,
    torch.optim.RMSprop,
)
ADAM_LR = 1e-3  # Adam's default rate
# An adaptive optimizer at over 10x that rate moves every weight by more than 0.01 a step,
# 10-30% of a hidden weight's typical size (1 / sqrt(fan-in) for fan-ins of 100-1000):
# steps that large throw units off, whatever the ratio measured once they are dead (Adam's
# moments then decay, and so do its steps).
LARGE_ADAPTIVE_LR = 10 * ADAM_LR
# Steps ten times smaller than healthy ones, by the measured ratio (for SGD, whose steps
# scale with the gradients) or by an adaptive optimizer's rate (Adam below 1e-4 moves each
# weight by less than that a step): a run that learns too slowly to fit, not too narrow.
SMALL_STEP = 1e-4
SMALL_ADAPTIVE_LR = ADAM_LR / 10
# Regularisation strong enough to keep a network from fitting its training data. Weight
# decay added to the gradient (SGD, Adam) is commonly 1e-5..5e-3; AdamW's decoupled decay
# is scaled by the learning rate and commonly 0.01..0.1. Dropout above 0.5 (the classic
# value for wide dense layers) drops most of the signal.
STRONG_DECAY = 0.05
STRONG_DECOUPLED_DECAY = 0.5
STRONG_DROPOUT = 0.6
FEW_STEPS = 10  # optimizer steps an epoch: batches large for the data take few updates
STRONG_L1_SHARE = 0.5  # an L1 penalty that is half the training loss or more dominates it
DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


@dataclass(frozen=True)
class Evidence:
    """Measured signs of a cause, each with the number it was read from."""

    unscaled_inputs: bool = False  # the input batches are far from standardised
    negative_bias: bool = False  # some layer's biases sit well below zero
    large_steps: bool = False  # steps move the weights by more than a few percent, or an
    # adaptive optimizer's rate (its step per weight) is far above its default
    # ten times smaller than healthy ones, measured or by the rate, at the schedule's peak
    small_steps: bool = False
    stalled: bool = False  # the loss is still where predicting the class prior puts it
    strong_regularisation: bool = False  # weight decay, dropout or L1 that keeps it from fitting
    oversized_weights: bool = False  # a hidden layer's gain is far above any sane init
    oversized_at_start: bool = False  # ... at the first look, before any step: as drawn
    # every hidden layer's gain is far below any sane init, or together they silence a
    # plain stack (their product below VANISHED_SIGNAL, no normalisation layer)
    undersized_weights: bool = False
    bottleneck: bool = False  # a hidden dense layer is narrower than the output needs
    slope_limited: bool = False  # a hidden activation is a sigmoid: slope 1/4 at most
    few_steps: bool = False  # an epoch takes fewer than FEW_STEPS optimizer steps
    input_rms: float | None = None
    min_bias_mean: float | None = None
    update_ratio: float | None = None
    adaptive_lr: float | None = None  # the rate of an adaptive optimizer
    loss: float | None = None
    prior_loss: float | None = None
    weight_decay: float | None = None
    dropout: float | None = None
    l1_share: float | None = None
    max_gain: float | None = None
    narrowest: int | None = None  # units of a hidden dense layer too narrow for the output
    steps_per_epoch: int | None = None
    momentum: float | None = None  # heavy-ball momentum (SGD's, RMSprop's): `lower_momentum`


def gather_evidence(
    history: ProbeHistory,
    *,
    prior_loss: float | None,
    prior_share: float = Thresholds.prior_share,
    train_loss: float | None = None,
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    l1: float = 0.0,
    steps_per_epoch: int | None = None,
) -> Evidence:
    """Read the evidence from the last probes and the live model and optimizer. `prior_loss`
    is the loss of the best constant prediction (1 for standardised regression targets), and
    a loss at `prior_share` of it or more is stalled (`Thresholds.prior_share`);
    `train_loss` the last epoch's mean training loss without any L1 penalty (`data_loss`),
    when an epoch has ended (else the recent probes' losses stand in for it); `l1` the L1
    penalty's factor, where the Trainer adds one; `steps_per_epoch` the optimizer steps an
    epoch takes, where the batches have a length."""
    rms = _recent(history.input_rms)
    biases = [row for row in history.bias_mean[-1:] if np.isfinite(row).any()]
    min_bias = float(np.nanmin(biases[-1])) if biases else None
    step = history.step_size()
    loss = train_loss if train_loss is not None and math.isfinite(train_loss) else None
    if loss is None:
        loss = _recent(history.loss)
    decay = weight_decay(optimizer) if optimizer is not None else None
    drop = dropout(model) if model is not None else None
    l1_part = l1_share(model, l1, loss) if model is not None else None
    gains = hidden_gains(model) if model is not None else []
    gain = max(gains, default=None)
    drawn = start_gains(history)
    narrow = bottleneck(history)
    rate = adaptive_rate(optimizer)
    annealed = annealed_by(optimizer)
    return Evidence(
        unscaled_inputs=rms is not None and rms > UNSCALED_RMS,
        negative_bias=min_bias is not None and min_bias < NEGATIVE_BIAS,
        large_steps=(step is not None and step > LARGE_STEP)
        or (rate is not None and rate > LARGE_ADAPTIVE_LR),
        small_steps=(rate is None and step is not None and step * annealed < SMALL_STEP)
        or (rate is not None and rate * annealed < SMALL_ADAPTIVE_LR),
        stalled=loss is not None and stalled(loss, prior_loss, prior_share),
        strong_regularisation=bool(strong_penalty(model, optimizer, l1, loss)),
        oversized_weights=gain is not None and gain > LARGE_GAIN,
        oversized_at_start=max(drawn, default=0.0) > LARGE_GAIN,
        undersized_weights=bool(gains) and (max(gains) < SMALL_GAIN or _silenced(model, gains)),
        bottleneck=narrow is not None,
        slope_limited="sigmoid" in history.activation_kinds,
        few_steps=steps_per_epoch is not None and steps_per_epoch < FEW_STEPS,
        input_rms=rms,
        min_bias_mean=min_bias,
        update_ratio=step,
        adaptive_lr=rate,
        loss=loss,
        prior_loss=prior_loss,
        weight_decay=decay,
        dropout=drop,
        l1_share=l1_part,
        max_gain=gain,
        narrowest=narrow[1] if narrow else None,
        steps_per_epoch=steps_per_epoch,
        momentum=momentum(optimizer),
    )


def adaptive_rate(optimizer: torch.optim.Optimizer | None) -> float | None:
    """The highest rate of an adaptive optimizer's groups (each weight's step is about that
    large); None for others, whose steps scale with the gradients, or none at all."""
    if not isinstance(optimizer, ADAPTIVE):
        return None
    return max(float(group["lr"]) for group in optimizer.param_groups)


def annealed_by(optimizer: torch.optim.Optimizer | None) -> float:
    """How far a schedule has taken the rate below its peak (the one it starts at, or
    OneCycle's top): 1 without a schedule. Steps small at the end of a schedule that anneals
    them are its design, not a rate too low to fit (a dice CNN of two channels under
    one-cycle, at 1e-4 of its 3e-3 by epoch 10 of 12, is too narrow, not too slow)."""
    groups = optimizer.param_groups if optimizer is not None else []
    ratios = [
        max(float(group.get("initial_lr", 0.0)), float(group.get("max_lr", 0.0))) / lr
        for group in groups
        if (lr := float(group["lr"])) > 0
    ]
    return max([1.0, *ratios])


def momentum(optimizer: torch.optim.Optimizer | None) -> float | None:
    """The highest heavy-ball momentum of the optimizer's groups (where a schedule cycles
    it, OneCycle, the live value); None for optimizers without one, or none at all."""
    groups = optimizer.param_groups if optimizer is not None else []
    values = [float(group["momentum"]) for group in groups if "momentum" in group]
    return max(values, default=None)


def strong_penalty(
    model: nn.Module | None,
    optimizer: torch.optim.Optimizer | None = None,
    l1: float = 0.0,
    loss: float | None = None,
) -> Penalty:
    """The regularisation strong enough to keep the network from fitting its training data:
    weight decay, an L1 penalty (factor `l1`, where the Trainer adds one; `loss` the data's
    part of the training loss) or dropout far above their usual values (without a model, the
    optimizer's decay alone). Read from the live model and optimizer, so that the curve rules
    can name the cause of a network that does not fit (`ProbeHistory.penalty`), and the
    repairer weaken it first."""
    decay = weight_decay(optimizer) if optimizer is not None and strong_decay(optimizer) else 0.0
    if model is None:
        return Penalty(weight_decay=decay)
    drop = dropout(model)
    return Penalty(
        weight_decay=decay,
        l1=l1 if l1 and strong_l1(model, l1, loss) else 0.0,
        dropout=drop if drop >= STRONG_DROPOUT else 0.0,
    )


def weight_decay(optimizer: torch.optim.Optimizer) -> float:
    """The strongest weight decay of the optimizer's parameter groups."""
    return max((float(g.get("weight_decay", 0.0)) for g in optimizer.param_groups), default=0.0)


def strong_decay(optimizer: torch.optim.Optimizer) -> bool:
    """Whether the optimizer's weight decay is strong enough to keep a network from fitting."""
    return weight_decay(optimizer) >= decay_limit(optimizer)


def decay_limit(optimizer: torch.optim.Optimizer) -> float:
    """AdamW's decoupled decay is scaled by the learning rate: it takes more to be strong."""
    return STRONG_DECOUPLED_DECAY if isinstance(optimizer, torch.optim.AdamW) else STRONG_DECAY


def dropout(model: nn.Module) -> float:
    """The highest dropout probability of the model's dropout layers (0 without any)."""
    return max((float(m.p) for m in model.modules() if isinstance(m, DROPOUTS)), default=0.0)


def l1_share(model: nn.Module, l1: float, loss: float | None) -> float | None:
    """The share of the training loss that is the L1 penalty on the weight matrices (`l1`
    times their summed absolute values, as the Trainer adds it), where `loss` is the data's
    part (`data_loss`); None without a penalty."""
    if not l1 or loss is None or loss < 0:
        return None
    with torch.no_grad():
        weights = [p for p in model.parameters() if p.dim() > 1 and p.requires_grad]
        penalty = l1 * float(sum(w.abs().sum() for w in weights))
    return penalty / (loss + penalty) if loss + penalty > 0 else None


def strong_l1(model: nn.Module, l1: float, loss: float | None) -> bool:
    """Whether an L1 penalty keeps the network from fitting: it is half the loss or more, or
    it has pulled a layer's weights to zero (where the penalty itself is small)."""
    if not l1:
        return False
    share = l1_share(model, l1, loss)
    return (share is not None and share >= STRONG_L1_SHARE) or collapsed(model) is not None


# modules that rescale the signal whatever the weights: the gains' product says nothing there
NORMS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _silenced(model: nn.Module, gains: list[float]) -> bool:
    """Whether the hidden gains multiply to below `VANISHED_SIGNAL` in a plain stack: a
    network with normalisation layers (a ResNet's batch norm, a transformer's layer norm)
    rescales its signal whatever the weights, and its default initialisation multiplies
    to 9e-5 over 17 layers (review)."""
    if math.prod(gains) >= VANISHED_SIGNAL:
        return False
    return not any(isinstance(m, NORMS) for m in model.modules())


def hidden_gains(model: nn.Module) -> list[float]:
    """The gains (weight RMS x sqrt(fan-in)) of the weight matrices and kernels before the
    last one: the output layer's grows with confidence, and says nothing about the
    initialisation. Empty for a network of one layer."""
    weights = [w.detach() for _, w in weighted_layers(model)]
    return [float(w.float().norm()) / math.sqrt(w.shape[0]) for w in weights[:-1]]


def start_gains(history: ProbeHistory) -> list[float]:
    """The hidden gains at the history's first look, where that was the run's first step:
    what the initialisation drew, not what steps made of it (weights that large steps blew
    up look the same on the live model). Empty where unknown."""
    gains = _hidden_gains(history, 0) if history.steps[:1] == [0] else None
    return [] if gains is None else [float(g) for g in gains]


def collapsed(model: nn.Module) -> float | None:
    """The smallest hidden gain where it is below `COLLAPSED_GAIN`, else None: a penalty has
    pulled that layer's weights to zero, and the signal dies there whatever the others do."""
    gain = min(hidden_gains(model), default=None)
    return gain if gain is not None and gain < COLLAPSED_GAIN else None


def _recent(values: list[float], k: int = 3) -> float | None:
    finite = [v for v in values[-k:] if math.isfinite(v)]
    return float(np.median(finite)) if finite else None
