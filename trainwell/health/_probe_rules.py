"""Probe rules: what the gradients of one probe say (dead or saturated units:
`_unit_rules.py`; the loss and the weights running away: `_divergence_rules.py`).

Each rule is `(history, thresholds) -> Finding | None` and runs after every probe.
"""

from __future__ import annotations

import math

import numpy as np

from ..findings import Finding
from ._divergence_rules import backward_made, below_floor, fell_without_bound
from ._history import ProbeHistory
from ._rule_base import (
    COLLAPSED_GAIN,
    NEGATIVE_BIAS,
    SMALL_GAIN,
    UNSCALED_RMS,
    VANISHED_SIGNAL,
    Thresholds,
    finding,
    stalled,
)
from ._target_scale import outputs_blown


def vanishing_gradient(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The first layers' gradients are < `vanishing_ratio` of the last layer's, `sustain`
    probes running (AutoTrainer, ICSE'21, beta1 = 1e-3). The finding names the first layer
    (the one starved most), and the evidence how deep the starvation reaches. A network
    whose every layer is starved alike (tiny weights shrink the signal both ways, the last
    layer's gradient with it) shows no such ratio: it is found by its first layer's
    gradient below `starved_scale` of its weights while its loss is still the class
    prior's (`shrunk_starved_scale` where the hidden layers' gains multiply to below
    `VANISHED_SIGNAL`: the signal itself is gone). Gradients that vanish behind a layer a
    strong penalty pulled to zero (`collapsed_by_penalty`) are left to `penalised`: the
    penalty is the cause."""
    reached = [i for i in range(len(h.layers)) if i not in h.idle]
    if h.n_probes < t.sustain or len(reached) < 2 or collapsed_by_penalty(h):
        return None  # a penalty's doing: `penalised` names the cause
    first, out = reached[0], reached[-1]
    last = h.grad_norm[-1]  # read in plain Python first: a healthy probe needs no numpy
    if not last[out] > 0 or not last[first] < t.vanishing_ratio * last[out]:  # no ratio
        return _starved(h, t, first)
    grads = h.last("grad_norm", t.sustain)[:, reached]
    layers = [h.layers[i] for i in reached]
    with np.errstate(invalid="ignore"):
        ratio = grads / np.maximum(grads[:, -1:], 1e-30)
    vanished = np.all(ratio[:, :-1] < t.vanishing_ratio, axis=0)
    if not vanished[0]:
        return _starved(h, t, first)
    deepest = int(np.argmin(vanished)) - 1 if not vanished.all() else len(vanished) - 1
    reach = (
        f" (and every layer up to {layers[deepest]} gets less than {t.vanishing_ratio:g})"
        if deepest > 0
        else ""
    )
    zero = bool(np.all(grads[:, 0] == 0))
    message = (
        f"Layer {layers[0]} receives a gradient of exactly 0 at every probe{reach}: nothing "
        f"the loss reads depends on it, which no activation or initialisation changes. Check "
        f"the path from it to the output: sliced or masked away, or read along the wrong "
        f"dimension (a sequence model fed (batch, time) inputs without batch_first=True)."
        if zero
        else f"Gradients vanish: layer {layers[0]} receives {ratio[-1, 0]:.1e} of the gradient "
        f"of the output layer{reach}, so the first layers barely learn. {_vanishing_fix(h)}"
    )
    return finding(
        "vanishing_gradient",
        "error",
        message,
        h,
        **({"zero_gradient": True} if zero else {}),
        layer=layers[0],
        ratio_first_to_last=ratio[-1, 0],
        vanished_through=layers[deepest],
        grad_norms=grads[-1],
        layers=layers,
        threshold=t.vanishing_ratio,
    )


def _vanishing_fix(h: ProbeHistory) -> str:
    """The usual fix; for a network whose activations the probes do not see (applied as
    functions, `F.relu`), what a dead ReLU would show too: a sigmoid it does not have is
    no advice."""
    if not h.activations:
        return (
            "Its activations are functions the probes do not see: if they are sigmoid/tanh, "
            "use ReLU; if ReLU, its units may be dead (biases far below 0, or a rate too "
            "large: use nn.ReLU modules to have them counted); He initialisation or batch "
            "normalisation help either way."
        )
    if any(kind in ("sigmoid", "tanh") for kind in h.activation_kinds):
        return (
            "Use ReLU-family activations instead of sigmoid/tanh, He initialisation, or "
            "batch normalisation."
        )
    return (
        "He initialisation or batch normalisation; if units are dead, a smaller rate or "
        "biases at 0."
    )


def collapsed_by_penalty(h: ProbeHistory) -> str | None:
    """The hidden layer a weight decay or L1 penalty far above the usual
    (`ProbeHistory.penalty`) has pulled to zero (gain < `COLLAPSED_GAIN` at the last
    probe), else None. Gradients vanish behind such a layer, but "use ReLU, He init or
    batch norm" would not help: the penalty is the cause, reported as underfitting."""
    gains = _hidden_gains(h) if h.penalty.shrinks_weights else None
    if gains is None:
        return None
    smallest = int(np.argmin(gains))
    return h.layers[smallest] if gains[smallest] < COLLAPSED_GAIN else None


def _hidden_gains(h: ProbeHistory, probe: int = -1) -> np.ndarray | None:
    """Each hidden layer's gain at a probe, the last by default (its weights' RMS times the
    square root of its fan-in); None where the widths are unknown (a history from before
    they were recorded) or no probe was taken."""
    if not h.weight_norm or len(h.rows) != len(h.layers) or len(h.layers) < 2:
        return None
    return h.weight_norm[probe][:-1] / np.sqrt(np.maximum(h.rows[:-1], 1))


def _starved(h: ProbeHistory, t: Thresholds, index: int) -> Finding | None:
    """Every layer starved alike, from layer `index` (the first the gradient reaches): see
    `vanishing_gradient`. The loss is read first: in plain Python, it spares a learning
    network the numpy calls."""
    if not all(stalled(loss, h.prior_loss, t.prior_share) for loss in h.loss[-t.sustain :]):
        return None  # a network that learns does not need big gradients
    grads = h.last("grad_norm", t.sustain)
    weights = h.last("weight_norm", t.sustain)[:, index]
    scale = grads[:, index] / np.maximum(weights, 1e-30)
    signal = _signal_gain(h)
    shrunk = signal is not None and signal < VANISHED_SIGNAL
    threshold = t.shrunk_starved_scale if shrunk else t.starved_scale
    if not np.all(scale < threshold):
        return None
    first = h.layers[index]
    return finding(
        "vanishing_gradient",
        "error",
        f"Gradients vanish: layer {first} receives a gradient {scale[-1]:.1e} of its weights' "
        f"size while the loss is still the class prior's, so the first layers barely learn. "
        f"{_starved_cause(h, signal)}",
        h,
        layer=first,
        grad_to_weight=scale[-1],
        signal_gain=signal,
        grad_norms=grads[-1],
        layers=h.layers,
        threshold=threshold,
    )


def _signal_gain(h: ProbeHistory) -> float | None:
    """The product of the hidden layers' gains at the last probe: the share of the input's
    scale a stack without skips passes on to the output layer (None: widths unknown)."""
    gains = _hidden_gains(h)
    return float(np.prod(gains)) if gains is not None else None


def _lowest_hidden_bias(h: ProbeHistory, probe: int) -> float:
    """The lowest mean bias of a hidden layer at probe `probe` (NaN: none measured)."""
    biases = h.bias_mean[probe][:-1] if h.bias_mean else np.array([])
    return float(np.nanmin(biases)) if np.isfinite(biases).any() else math.nan


def _starved_cause(h: ProbeHistory, signal: float | None) -> str:
    """What starves every layer, from the last probe: hidden biases far below 0 (units that
    output nothing; the rate's doing where they were not so at the first probe), or weights
    far smaller than any initialisation gives, each layer's or all together (`signal`, the
    product of their gains); else either."""
    lowest = _lowest_hidden_bias(h, -1)
    if lowest < NEGATIVE_BIAS:
        started = _lowest_hidden_bias(h, 0)
        if started >= NEGATIVE_BIAS:  # the steps drove them there, not the initialisation
            return (
                f"Hidden biases driven far below 0 by the steps (mean {lowest:.2g}, "
                f"{started:.2g} at the first probe) do this: ReLU units that output nothing "
                f"pass no gradient. The learning rate is probably too large: lower it, or "
                f"use batch normalisation."
            )
        return (
            f"Hidden biases far below 0 (mean {lowest:.2g}) do this: ReLU units that output "
            f"nothing pass no gradient. Set the biases to 0 (He initialisation does), or "
            f"batch normalisation."
        )
    gains = _hidden_gains(h)
    shrunk = signal is not None and signal < VANISHED_SIGNAL
    if gains is not None and float(np.max(gains)) >= SMALL_GAIN and not shrunk:
        return (  # dead units, or large steps
            "Units that output nothing (dead ReLUs: biases below 0, or a rate too large) or "
            "tiny weights do this: He initialisation with biases at 0, or batch normalisation."
        )
    passed = f" (the hidden layers pass on {signal:.0e} of the input's scale)" if shrunk else ""
    return (
        f"Tiny initial weights do this{passed}: they shrink the signal both ways, the output "
        f"layer's gradient too. Use the initialisation made for the activation (He for ReLU, "
        f"Xavier for tanh and sigmoid), or batch normalisation."
    )


def exploding_gradient(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A gradient is non-finite while the loss is not; or, `sustain` probes running, a layer's
    gradient norm exceeds `exploding_scale` times its weight norm, or the first layer's
    gradient exceeds `exploding_ratio` times the last's (AutoTrainer beta3 = 70; where the
    layers are modules' weights in a chain, `ProbeHistory.chained`); or, at a
    single probe, the scale exceeds `exploding_at_once` (one SGD step at lr 0.01 would more
    than double the weights: waiting for a second probe lets the run blow up first); or it
    exceeded `exploding_scale` at the previous probe and the layer's weights have grown
    `blown_up` times since (the explosion happened: the units it killed show no gradient
    to sustain it); or it exceeded `exploding_scale` at the first probe of a start that
    blew up (`_blown_start`). The gradient-to-weight scale is what an update multiplies by
    the learning rate; healthy runs stay near 0.01..1. Under gradient clipping the applied
    (clipped) gradients count; under an L1 penalty, what its own gradient leaves
    (`ProbeHistory.loss_grads`). Names the layer with the largest scale. Large gradients
    that are the loss's doing under an optimizer blind to them are not (`_loss_made`), nor
    those of a loss falling without bound below 0 (a subtracted auxiliary loss clipped for
    them, stress 26: `divergence` names its cause)."""
    if not h.grad_norm or not math.isfinite(h.loss[-1]):
        return None  # a non-finite loss is divergence; its gradients follow from it
    if backward_made(h, t):
        return None  # NaN from the backward pass, not an explosion: `divergence` names it
    if below_floor(h) or fell_without_bound(h) is not None:
        return None  # a loss falling without bound: its gradients grow with it (`divergence`)
    loss_made = _loss_made(h, t)
    if loss_made[-1] >= t.exploding_scale and all(map(math.isfinite, h.grad_norm[-1].tolist())):
        return None
    blown = _blown_up(h, t) or _blown_start(h, t)
    if blown is not None:
        return _exploded(h, t, *blown)
    if _calm(h, t):
        return None
    grads = np.array([h.loss_grads(i) for i in range(-min(t.sustain, h.n_probes), 0)])
    if not np.all(np.isfinite(grads[-1])):
        index, reason = int(np.argmin(np.isfinite(grads[-1]))), "non-finite"
    else:
        weights = h.last("weight_norm", t.sustain)
        weights = np.maximum(weights, _floors(h, t, weights.shape[-1]))
        applied = grads
        if h.grad_clip:  # clipping scales every layer by clip / total norm: what is applied
            total = np.sqrt((grads**2).sum(axis=1, keepdims=True))
            applied = grads * np.minimum(1.0, h.grad_clip / np.maximum(total, 1e-30))
        scale = np.where(weights > 1e-8, applied / np.maximum(weights, 1e-8), 0.0)
        scale = scale / np.array(loss_made[-len(scale) :])[:, None]  # what the loss sent
        # against the last layer that gets a gradient at all: an unused head is no evidence
        used = np.flatnonzero((grads > 0).all(axis=0))
        last = used[-1] if len(used) > 1 else None
        ratio = grads[:, 0] / np.maximum(grads[:, last], 1e-30) if last else np.zeros(1)
        # (raw parameters: the last need not lie near the output, nor be a weight the
        # signal passes: a Bayesian layer's spread, whose gradient its softplus shrinks)
        lopsided = h.chained and not h.grad_clip and np.all(ratio > t.exploding_ratio)
        sustained = len(grads) == t.sustain and (
            np.all(scale.max(axis=1) > t.exploding_scale) or lopsided
        )
        if not (sustained or scale[-1].max() > t.exploding_at_once):
            return None
        index = int(np.argmax(scale[-1]))
        reason = f"{grads[-1, index]:.3g}, {scale[-1, index]:.3g} times its weight norm"
        if scale[-1, index] <= t.exploding_scale:  # lopsided alone: say so
            index = 0
            reason = (
                f"{grads[-1, 0]:.3g}, {ratio[-1]:.3g} times that of layer {h.layers[last]} "
                f"near the output"
            )
    return _exploded(h, t, index, reason)


def _exploded(h: ProbeHistory, t: Thresholds, index: int, reason: str) -> Finding:
    layer = h.layers[index]
    # a config's key; a hand-written loop clips itself, between backward and step
    clip = "train.grad_clip" if h.data_at_hand else "clip_grad_norm_ before optimizer.step()"
    return finding(
        "exploding_gradient",
        "error",
        f"Gradients explode: the gradient norm of layer {layer} is {reason}. Clip gradients "
        f"({clip}), lower the learning rate, standardise the inputs, or use a smaller "
        f"initialisation.",
        h,
        layer=layer,
        grad_norms=h.grad_norm[-1],
        layers=h.layers,
        threshold_scale=t.exploding_scale,
        threshold_ratio=t.exploding_ratio,
    )


def _blown_start(h: ProbeHistory, t: Thresholds) -> tuple[int, str] | None:
    """(index, reason) of the layer whose gradient exceeded `exploding_scale` times its
    weight norm at the first probe, where the loss was already `blown_start` times the class
    prior's on standardised inputs: nothing but the weights can blow the outputs up that
    far before training, each layer amplifying the signal (and, backwards, the gradient)
    of the one before. The first steps then throw the weights far off, and the next probe,
    after the damage, may look calm. Raw inputs blow the outputs up too: their rules
    (saturation, divergence) name the inputs' scale. None otherwise."""
    if not h.prior_loss or h.grad_clip or not h.input_rms or h.input_rms[0] > UNSCALED_RMS:
        return None
    if not h.loss[0] >= t.blown_start * h.prior_loss:
        return None
    grads, weights = np.array(h.loss_grads(0)), np.array(_floored(h, h.weight_norm[0].tolist(), t))
    scale = np.where(weights > 1e-8, grads / np.maximum(weights, 1e-8), 0.0)
    if not np.all(np.isfinite(scale)) or scale.max() <= t.exploding_scale:
        return None
    index = int(np.argmax(scale))
    return index, (
        f"{grads[index]:.3g}, {scale[index]:.3g} times its weight norm, at the first step, "
        f"where the loss ({h.loss[0]:.3g}) was already {h.loss[0] / h.prior_loss:.0f} times "
        f"that of predicting the class frequencies: the initialisation amplifies the signal "
        f"layer by layer"
    )


def _blown_up(h: ProbeHistory, t: Thresholds) -> tuple[int, str] | None:
    """(index, reason) of the layer with the largest gradient-to-weight scale among those
    above `exploding_scale` at the previous probe whose weights have grown `blown_up`
    times since; None if none did, or clipping bounds the steps, or the loss fell on them
    (`_learning`). Plain Python: it runs at every probe of a healthy run."""
    if len(h.grad_norm) < 2 or h.grad_clip:
        return None
    weights, now = _floored(h, h.weight_norm[-2].tolist(), t), h.weight_norm[-1].tolist()
    if all(grown < t.blown_up * w for w, grown in zip(weights, now, strict=True)):
        return None  # a healthy run's exit: no layer's weights doubled
    before = h.loss_grads(-2)
    blown = [
        (g / w, i, grown / w)
        for i, (g, w, grown) in enumerate(zip(before, weights, now, strict=True))
        if w > 1e-8 and math.isfinite(g) and g > t.exploding_scale * w and grown >= t.blown_up * w
    ]
    if not blown or _learning(h):
        return None
    scale, index, grown = max(blown)
    return index, (
        f"{before[index]:.3g}, {scale:.3g} times its weight norm, at step "
        f"{h.steps[-2]}, and its weights grew {grown:.1f}x by step {h.steps[-1]}"
    )


def _learning(h: ProbeHistory) -> bool:
    """Whether the loss fell below that of knowing nothing (the class prior's, or a
    loop's uniform guess) by the last probe: weights that grew on such steps learned. An
    explosion leaves it at that level or above (raw pixels into a ReLU MLP: 11.5 at the
    first probe, 2.3 with every unit dead at the next); a first layer started at std 1e-3
    before batch norm grows tenfold and learns (1.53, then 1.26 under the prior's 1.39)."""
    untrained = h.untrained_loss()
    return untrained > 0 and h.loss[-1] < min(h.loss[-2], 0.95 * untrained)


def _floors(h: ProbeHistory, t: Thresholds, layers: int) -> list[float]:
    """Per layer, the least weight norm an update is measured against: `small_init` of what
    torch's default initialisation gives a layer of its output units (a norm of
    sqrt(rows / 3), whatever its inputs); 0 where the layers' shapes are unknown. A layer
    started tiny on purpose (a classifier head scaled by 1e-3, as ConvNeXt's
    `head_init_scale`; std 1e-3 before batch norm) takes steps large next to its own
    weights, small next to any layer's: it grows to its size, it does not explode."""
    if len(h.rows) != layers:
        return [0.0] * layers
    return [t.small_init * norm for norm in h.default_norms()]


def _floored(h: ProbeHistory, weights: list[float], t: Thresholds) -> list[float]:
    """`weights` no lower than their `_floors`, in plain Python: the rules' healthy exits
    run at every probe, where a few numpy calls cost more."""
    floors = _floors(h, t, len(weights))
    return [max(w, floor) for w, floor in zip(weights, floors, strict=True)]


def _loss_made(h: ProbeHistory, t: Thresholds) -> list[float]:
    """Per probe of the last `sustain`, how many times a bounded loss's error signal the loss
    sent (at least 1), where that makes the gradients large and not the network: a
    regression on targets in the thousands, a loss summed over the batch, a Gaussian NLL
    weighting residuals by 1/variance; on standardised inputs, under an optimizer whose
    steps do not grow with the gradient (Adam's, RMSprop's), or under SGD at a rate whose
    step was measured small (`ProbeHistory.error_excess`). Every layer's gradient then
    scales with the error, and neither moves a step: the gradient scales are read divided
    by it, and at `exploding_scale` or more not read; the loss and the weights running away
    (`divergence`, `runaway_weights`) still speak. 1 under SGD whose steps were large, whose
    steps grow with the gradient whatever made it large, and where residuals were as large
    as the outputs at the first probe: the network's blow-up, not the targets'
    (`outputs_blown`)."""
    probes = range(-min(t.sustain, h.n_probes), 0)
    # raw inputs make the gradients large too, and are named; integer inputs (token ids
    # into an embedding) have no scale to read: unknown, not raw
    unscaled = bool(h.input_rms) and h.input_rms[-1] > UNSCALED_RMS  # NaN: no scale read
    if unscaled or outputs_blown(h, t.exploding_scale):
        return [1.0 for _ in probes]
    return [h.error_excess(i) for i in probes]


def _calm(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether the last probe alone rules every explosion criterion out: each layer's
    gradient at most `exploding_scale` (and `exploding_at_once`) times its weight norm, and
    the first layer's at most `exploding_ratio` times each other layer's that has one. The
    healthy runs' exit, in plain Python: a dozen numpy calls cost more after a step."""
    grads, weights = h.loss_grads(), _floored(h, h.weight_norm[-1].tolist(), t)
    if not all(map(math.isfinite, grads)):
        return False
    limit = min(t.exploding_scale, t.exploding_at_once)
    if any(g / w > limit for g, w in zip(grads, weights, strict=True) if w > 1e-8):
        return False
    return bool(h.grad_clip) or all(grads[0] <= t.exploding_ratio * g for g in grads[1:] if g > 0)
