"""The doctor's rules: small pure functions of the recorded history.

Each rule is `(history, thresholds) -> Finding | None`, documents its criterion and where its
thresholds come from, and never touches the model. Probe rules run after every probe,
curve rules after every epoch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..findings import Finding
from ._history import ProbeHistory


@dataclass(frozen=True)
class Thresholds:
    """Every number a rule compares against, with its origin."""

    sustain: int = 2  # consecutive probes a probe symptom must hold (AutoTrainer alpha: 0..3)
    vanishing_ratio: float = 1e-3  # |g first| / |g last| (AutoTrainer beta1)
    starved_scale: float = 1e-4  # |g first| / |W first| at the prior's loss (healthy: ~1e-2)
    exploding_ratio: float = 70.0  # |g first| / |g last| (AutoTrainer beta3; 40..100 all work)
    exploding_scale: float = 10.0  # a layer's |g| / |W| (DeepDiagnosis flags lr*|dW|/|W| > 0.1)
    exploding_at_once: float = 100.0  # |g| / |W| so large that one probe is enough
    blown_up: float = 2.0  # ... or > exploding_scale, and the weights then grew 2x by the next
    dead_fraction: float = 0.7  # of a layer's ReLU units (AutoTrainer gamma, DeepDiagnosis)
    saturated_fraction: float = 0.5  # of a layer's activations (SageMaker SaturatedActivation)
    runaway_factor: float = 10.0  # loss this many times its first value: runaway divergence
    judge_after: float = 0.3  # curve rules wait for this share of the epochs (AutoTrainer)
    min_epochs: int = 4  # ... and at least this many epochs
    oscillation_rise: float = 0.05  # an epoch whose train loss rises >= 5% over the previous
    oscillation_share: float = 0.3  # flagged when that many of the epochs rise
    oscillation_floor: float = 0.02  # ... each rise >= 2% of the loss's scale (not noise)
    oscillation_path: float = 3.0  # or: the loss travelled 3x its net fall (up and down) ...
    oscillation_travel: float = 1.0  # ... and at least its scale, ...
    oscillation_rebound: float = 0.2  # ... climbing back 20% of it above its lowest so far
    slow_drop: float = 0.1  # train loss fell by less than 10% of its first value
    overfit_rise: float = 0.2  # val loss 20% above its best while train loss keeps falling
    overfit_patience: int = 3  # epochs since the best val loss
    overfit_floor: float = 0.05  # ... and the rise >= 5% of the val loss's scale (not noise)
    overfit_climb: int = 5  # or: val loss rose in each of the last 5 epochs ...
    overfit_climb_rise: float = 0.1  # ... to 10% above its best (a steady climb is no noise)
    underfit_loss: float = 0.3  # train loss above 30% of chance-level loss, at a plateau
    underfit_val_ratio: float = 0.75  # ... unless val loss is below this share of train loss
    reference_share: float = 1.0  # ... or val loss at or below a kernel model's on unseen rows
    plateau_drop: float = 0.02  # last epochs improve the train loss by less than 2% each
    prior_share: float = 0.9  # train loss still >= 90% of predicting the class prior's
    bottleneck_epochs: int = 2  # a layer too narrow for the output: judged after 2 epochs ...
    bottleneck_loss: float = 0.5  # ... when the train loss is still >= half the prior's


Rule = Callable[[ProbeHistory, Thresholds], Finding | None]
# A layer's gain: the RMS of its weights times the square root of its fan-in, what it
# multiplies a unit-variance input by. He init gives sqrt(2), PyTorch's default 0.58, and
# trained hidden layers stay near 0.5..2.5; above 4 each layer amplifies its input several
# times over, and the logits blow up with depth.
LARGE_GAIN = 4.0
COLLAPSED_GAIN = 0.1  # a hidden layer's gain below 0.1: a penalty pulled its weights to zero


def _finding(
    code: str,
    severity: str,
    message: str,
    history: ProbeHistory,
    *,
    layer: str | None = None,
    per_epoch: bool = False,
    **evidence: object,
) -> Finding:
    """A training finding dated at the last probe, or at the last epoch (`per_epoch`)."""
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


# --- probe rules --------------------------------------------------------------------------


def vanishing_gradient(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The first layers' gradients are < `vanishing_ratio` of the last layer's, `sustain`
    probes running (AutoTrainer, ICSE'21, beta1 = 1e-3). The finding names the first layer
    (the one starved most), and the evidence how deep the starvation reaches. A network
    whose every layer is starved alike (tiny weights shrink the signal both ways, the last
    layer's gradient with it) shows no such ratio: it is found by its first layer's
    gradient below `starved_scale` of its weights while its loss is still the class
    prior's. Gradients that vanish behind a layer a strong penalty pulled to zero
    (`collapsed_by_penalty`) are left to `penalised`: the penalty is the cause."""
    grads = h.last("grad_norm", t.sustain)
    if len(grads) < t.sustain or grads.shape[1] < 2 or collapsed_by_penalty(h):
        return None  # a penalty's doing: `penalised` names the cause
    with np.errstate(invalid="ignore"):
        ratio = grads / np.maximum(grads[:, -1:], 1e-30)
    vanished = np.all(ratio[:, :-1] < t.vanishing_ratio, axis=0)
    if not vanished[0]:
        return _starved(h, t, grads)
    deepest = int(np.argmin(vanished)) - 1 if not vanished.all() else len(vanished) - 1
    first = h.layers[0]
    reach = (
        f" (and every layer up to {h.layers[deepest]} gets less than {t.vanishing_ratio:g})"
        if deepest > 0
        else ""
    )
    return _finding(
        "vanishing_gradient",
        "error",
        f"Gradients vanish: layer {first} receives {ratio[-1, 0]:.1e} of the gradient of the "
        f"output layer{reach}, so the first layers barely learn. Use ReLU-family activations "
        f"instead of sigmoid/tanh, He initialisation, or batch normalisation.",
        h,
        layer=first,
        ratio_first_to_last=ratio[-1, 0],
        vanished_through=h.layers[deepest],
        grad_norms=grads[-1],
        layers=h.layers,
        threshold=t.vanishing_ratio,
    )


def collapsed_by_penalty(h: ProbeHistory) -> str | None:
    """The hidden layer a weight decay or L1 penalty far above the usual
    (`ProbeHistory.penalty`) has pulled to zero (gain < `COLLAPSED_GAIN` at the last
    probe), else None. Gradients vanish behind such a layer, but "use ReLU, He init or
    batch norm" would not help: the penalty is the cause, reported as underfitting."""
    if not ("weight decay" in h.penalty or "L1" in h.penalty) or not h.weight_norm:
        return None
    if len(h.rows) != len(h.layers) or len(h.layers) < 2:
        return None  # widths unknown (a history from before they were recorded)
    gains = h.weight_norm[-1][:-1] / np.sqrt(np.maximum(h.rows[:-1], 1))
    smallest = int(np.argmin(gains))
    return h.layers[smallest] if gains[smallest] < COLLAPSED_GAIN else None


def _starved(h: ProbeHistory, t: Thresholds, grads: np.ndarray) -> Finding | None:
    """Every layer starved alike: see `vanishing_gradient`. The loss is read first: in
    plain Python, it spares a learning network the numpy calls."""
    if not all(stalled(loss, h.prior_loss, t.prior_share) for loss in h.loss[-t.sustain :]):
        return None  # a network that learns does not need big gradients
    weights = h.last("weight_norm", t.sustain)[:, 0]
    scale = grads[:, 0] / np.maximum(weights, 1e-30)
    if not np.all(scale < t.starved_scale):
        return None
    first = h.layers[0]
    return _finding(
        "vanishing_gradient",
        "error",
        f"Gradients vanish: layer {first} receives a gradient {scale[-1]:.1e} of its weights' "
        f"size while the loss is still the class prior's, so the first layers barely learn. "
        f"Tiny initial weights do this (they shrink the signal both ways, the output "
        f"layer's gradient too): use the initialisation made for the activation (He for "
        f"ReLU, Xavier for tanh and sigmoid), or batch normalisation.",
        h,
        layer=first,
        grad_to_weight=scale[-1],
        grad_norms=grads[-1],
        layers=h.layers,
        threshold=t.starved_scale,
    )


def exploding_gradient(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A gradient is non-finite while the loss is not; or, `sustain` probes running, a layer's
    gradient norm exceeds `exploding_scale` times its weight norm, or the first layer's
    gradient exceeds `exploding_ratio` times the last's (AutoTrainer beta3 = 70); or, at a
    single probe, the scale exceeds `exploding_at_once` (one SGD step at lr 0.01 would more
    than double the weights: waiting for a second probe lets the run blow up first); or it
    exceeded `exploding_scale` at the previous probe and the layer's weights have grown
    `blown_up` times since (the explosion happened: the units it killed show no gradient
    to sustain it). The gradient-to-weight scale is what an update multiplies by the
    learning rate; healthy runs stay near 0.01..1. Under gradient clipping the applied
    (clipped) gradients count; under an L1 penalty, what its own gradient leaves
    (`ProbeHistory.loss_grads`). Names the layer with the largest scale."""
    if not h.grad_norm or not math.isfinite(h.loss[-1]):
        return None  # a non-finite loss is divergence; its gradients follow from it
    blown = _blown_up(h, t)
    if blown is not None:
        return _exploded(h, t, *blown)
    if _calm(h, t):
        return None
    grads = np.array([h.loss_grads(i) for i in range(-min(t.sustain, h.n_probes), 0)])
    if not np.all(np.isfinite(grads[-1])):
        index, reason = int(np.argmin(np.isfinite(grads[-1]))), "non-finite"
    else:
        weights = h.last("weight_norm", t.sustain)
        applied = grads
        if h.grad_clip:  # clipping scales every layer by clip / total norm: what is applied
            total = np.sqrt((grads**2).sum(axis=1, keepdims=True))
            applied = grads * np.minimum(1.0, h.grad_clip / np.maximum(total, 1e-30))
        scale = np.where(weights > 1e-8, applied / np.maximum(weights, 1e-8), 0.0)
        # against the last layer that gets a gradient at all: an unused head is no evidence
        used = np.flatnonzero((grads > 0).all(axis=0))
        last = used[-1] if len(used) > 1 else None
        ratio = grads[:, 0] / np.maximum(grads[:, last], 1e-30) if last else np.zeros(1)
        lopsided = not h.grad_clip and np.all(ratio > t.exploding_ratio)
        sustained = len(grads) == t.sustain and (
            np.all(scale.max(axis=1) > t.exploding_scale) or lopsided
        )
        if not (sustained or scale[-1].max() > t.exploding_at_once):
            return None
        index = int(np.argmax(scale[-1]))
        reason = f"{grads[-1, index]:.3g}, {scale[-1, index]:.3g} times its weight norm"
    return _exploded(h, t, index, reason)


def _exploded(h: ProbeHistory, t: Thresholds, index: int, reason: str) -> Finding:
    layer = h.layers[index]
    return _finding(
        "exploding_gradient",
        "error",
        f"Gradients explode: the gradient norm of layer {layer} is {reason}. Clip gradients "
        f"(train.grad_clip), lower the learning rate, standardise the inputs, or use a "
        f"smaller initialisation.",
        h,
        layer=layer,
        grad_norms=h.grad_norm[-1],
        layers=h.layers,
        threshold_scale=t.exploding_scale,
        threshold_ratio=t.exploding_ratio,
    )


def _blown_up(h: ProbeHistory, t: Thresholds) -> tuple[int, str] | None:
    """(index, reason) of the layer with the largest gradient-to-weight scale among those
    above `exploding_scale` at the previous probe whose weights have grown `blown_up`
    times since; None if none did (or clipping bounds the steps). Plain Python: it runs
    at every probe of a healthy run."""
    if len(h.grad_norm) < 2 or h.grad_clip:
        return None
    weights, now = h.weight_norm[-2].tolist(), h.weight_norm[-1].tolist()
    if all(grown < t.blown_up * w for w, grown in zip(weights, now, strict=True)):
        return None  # a healthy run's exit: no layer's weights doubled
    before = h.loss_grads(-2)
    blown = [
        (g / w, i, grown / w)
        for i, (g, w, grown) in enumerate(zip(before, weights, now, strict=True))
        if w > 1e-8 and math.isfinite(g) and g > t.exploding_scale * w and grown >= t.blown_up * w
    ]
    if not blown:
        return None
    scale, index, grown = max(blown)
    return index, (
        f"{before[index]:.3g}, {scale:.3g} times its weight norm, at step "
        f"{h.steps[-2]}, and its weights grew {grown:.1f}x by step {h.steps[-1]}"
    )


def _calm(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether the last probe alone rules every explosion criterion out: each layer's
    gradient at most `exploding_scale` (and `exploding_at_once`) times its weight norm, and
    the first layer's at most `exploding_ratio` times each other layer's that has one. The
    healthy runs' exit, in plain Python: a dozen numpy calls cost more after a step."""
    grads, weights = h.loss_grads(), h.weight_norm[-1].tolist()
    if not all(map(math.isfinite, grads)):
        return False
    limit = min(t.exploding_scale, t.exploding_at_once)
    if any(g / w > limit for g, w in zip(grads, weights, strict=True) if w > 1e-8):
        return False
    return bool(h.grad_clip) or all(grads[0] <= t.exploding_ratio * g for g in grads[1:] if g > 0)


def _worst_layer(
    h: ProbeHistory, t: Thresholds, name: str, threshold: float
) -> tuple[int, float, np.ndarray] | None:
    """(index, share, last row) of the activation layer with the largest share of `name`
    (dead or saturated units) among those >= `threshold` for `sustain` probes running."""
    rows = getattr(h, name)
    if len(rows) < t.sustain or not any(v >= threshold for v in rows[-1].tolist()):
        return None  # the last probe must be affected (NaN: not this activation's kind)
    shares = h.last(name, t.sustain)
    if not shares.size:
        return None
    with np.errstate(invalid="ignore"):
        affected = np.all(shares >= threshold, axis=0)
    if not affected.any():
        return None
    index = int(np.argmax(np.where(affected, shares[-1], -1)))
    return index, float(shares[-1, index]), shares[-1]


def dying_relu(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A ReLU-family layer has >= `dead_fraction` of units that output nothing positive for
    a whole batch, `sustain` probes running (AutoTrainer and DeepDiagnosis: 70%; SageMaker's
    DeadRelu says 50%, but healthy CNNs often keep half the units of their dense layer
    off and learn well with the rest: below 70% a layer still has capacity to spare)."""
    worst = _worst_layer(h, t, "dead", t.dead_fraction)
    if worst is None:
        return None
    index, share, row = worst
    leaky = h.activation_kinds[index] == "leaky_relu"  # its negative side still learns, slowly
    state = "barely learn (LeakyReLU's small slope)" if leaky else "no longer learn"
    fixes = "He initialisation" if leaky else "LeakyReLU, He initialisation"
    return _finding(
        "dying_relu",
        "error" if share >= 0.9 else "warning",
        f"{share:.0%} of the units of {h.activations[index]} are dead (never positive over a "
        f"batch) and {state}. Lower the learning rate, use {fixes}, or a smaller negative "
        f"bias.",
        h,
        layer=h.activations[index],
        dead_fraction=share,
        kind=h.activation_kinds[index],
        per_layer=row,
        activations=h.activations,
        threshold=t.dead_fraction,
    )


def saturated_activation(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A sigmoid/tanh layer has >= `saturated_fraction` of its activations (units x
    examples) pinned at an asymptote, `sustain` probes running (SageMaker
    SaturatedActivation: 50% of a layer's activations)."""
    worst = _worst_layer(h, t, "saturated", t.saturated_fraction)
    if worst is None:
        return None
    index, share, row = worst
    return _finding(
        "saturated_activation",
        "error" if share >= 0.9 else "warning",
        f"{share:.0%} of the activations of {h.activations[index]} "
        f"({h.activation_kinds[index]}) are saturated, where their gradient is almost zero. "
        f"Standardise the inputs, use a smaller initialisation, or switch to ReLU.",
        h,
        layer=h.activations[index],
        saturated_fraction=share,
        per_layer=row,
        activations=h.activations,
        threshold=t.saturated_fraction,
    )


def divergence(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The loss is non-finite; or it ran away: `runaway_factor` times its first value at
    `sustain` probes running, or in the mean training loss of the last epoch (a runaway loss
    diverges before it overflows, and may swing too much for probes alone to see it)."""
    if not h.loss:
        return None
    losses, first = h.loss[-t.sustain :], h.loss[0]
    last_epoch = h.curves[-1].get("train_loss", math.nan) if h.curves else math.nan
    if math.isfinite(losses[-1]):
        if not math.isfinite(first) or first <= 0:
            return None
        limit = t.runaway_factor * first
        probes_away = len(losses) == t.sustain and all(loss > limit for loss in losses)
        epoch_away = last_epoch > limit  # False for NaN
        if not (probes_away or epoch_away):
            return None
        worst = losses[-1] if probes_away else last_epoch
        what = f"ran away to {worst:.3g} from {first:.3g}"
    else:
        what = "became non-finite (NaN or inf)"
    return _finding(
        "divergence",
        "error",
        f"Training diverged: the loss {what} at step {h.steps[-1]}. Lower the learning rate "
        f"or clip gradients; if the inputs contain NaN, impute them.",
        h,
        loss=losses[-1],
        first_loss=first,
    )


def weight_growth(h: ProbeHistory, probes: int = 1) -> np.ndarray:
    """Per layer, how many times over its first probe's norm its weights were at each of the
    last `probes` probes (the least of them); NaN where they are not oversized now (gain at
    most `LARGE_GAIN`; without the layers' shapes, growth alone counts)."""
    if h.n_probes < 2:
        return np.full(len(h.layers), np.nan)
    start, recent = h.weight_norm[0], h.last("weight_norm", probes)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(start > 0, recent / start, np.nan).min(0)
        if h.rows:
            growth[~(recent.min(0) / np.sqrt(h.rows) > LARGE_GAIN)] = np.nan
    return growth


def _flown(h: ProbeHistory, t: Thresholds, probes: int) -> tuple[int, float] | None:
    """(index, growth) of the layer whose weights grew most, if `runaway_factor` times
    their first probe's or more at each of the last `probes` probes and oversized now."""
    growth = weight_growth(h, probes)
    if not np.isfinite(growth).any() or np.nanmax(growth) < t.runaway_factor:
        return None
    i = int(np.nanargmax(growth))
    return i, float(growth[i])


def flown_off(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether some layer's weights, at the last probe, have flown off (`_flown`): a state
    no rollback should return to."""
    return _flown(h, t, 1) is not None


def runaway_weights(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """Divergence the loss does not show: a layer's weights grew `runaway_factor` times over
    their first probe's, at `sustain` probes running, while the loss stayed at or above its
    first value. Steps far too large do this: the weights fly off, the units they feed die
    or saturate, and the loss, stuck near chance, never overflows. Checked after the rules
    that name what it did to the units, which are reported first. The weights must also be
    oversized now (gain above `LARGE_GAIN`): tiny initial weights that grow tenfold to a
    normal size have not flown off."""
    if h.n_probes <= t.sustain or not math.isfinite(h.loss[0]):
        return None
    first, losses = h.loss[0], h.loss[-t.sustain :]
    if not all(math.isfinite(loss) and loss >= first for loss in losses):
        return None
    flown = _flown(h, t, t.sustain)
    if flown is None:
        return None
    i, growth = flown
    steps = h.steps[-1] - h.steps[0]
    return _finding(
        "divergence",
        "error",
        f"Training diverged: the weights of {h.layers[i]} grew {growth:.0f}x in {steps} "
        f"steps while the loss did not fall below its first value ({losses[-1]:.3g}, first "
        f"{first:.3g}). Steps this large fly off instead of descending: lower the learning "
        f"rate or clip gradients.",
        h,
        layer=h.layers[i],
        weight_growth=growth,
        loss=losses[-1],
        first_loss=first,
    )


# --- curve rules (per epoch) ------------------------------------------------------------


def _judged(h: ProbeHistory, t: Thresholds) -> bool:
    done = len(h.curves)
    return done >= t.min_epochs and done >= t.judge_after * max(h.total_epochs, 1)


def _finite(values: list[float]) -> bool:
    return all(map(math.isfinite, values))


def _scale(first: float, h: ProbeHistory) -> float:
    """The scale a curve's swings are measured against: its first value, or the class
    prior's loss when lower (a first epoch that spiked would hide the swings after it)."""
    return abs(first) if not h.prior_loss else min(abs(first), h.prior_loss)


def stalled(loss: float, prior_loss: float | None, share: float) -> bool:
    """Whether `loss` is still at the level of predicting the class prior (`share` of it):
    the fallback rule's test, and the repairer's for a network that does not learn."""
    return bool(prior_loss) and math.isfinite(loss) and loss >= share * prior_loss


def _held_back_by_data(loss: list[float], val: list[float], t: Thresholds) -> bool:
    """Held-out data fitted far better than the training data: noisy labels or augmentation
    hold the network back, not its capacity."""
    return math.isfinite(val[-1]) and val[-1] < t.underfit_val_ratio * loss[-1]


def _as_good_as_reference(h: ProbeHistory, val: list[float], t: Thresholds) -> bool:
    """The validation loss has reached `reference_share` of a kernel model's loss on rows it
    never saw (`ProbeHistory.reference_loss`): the loss left is what the data allows
    (overlapping classes, noisy labels), not capacity the network lacks."""
    reached = min((v for v in val if math.isfinite(v)), default=math.inf)
    return bool(h.reference_loss) and reached <= t.reference_share * h.reference_loss


def oscillating_loss(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The epoch train loss rises by >= `oscillation_rise` in >= `oscillation_share` of the
    epochs (AutoTrainer counts accuracy swings >= 0.03 in >= 20% of epochs; loss is
    comparable across tasks where accuracy is not). Near a perfect fit a relative rise is
    easy: each rise must also be `oscillation_floor` of the loss's scale, or it is the noise
    of a few batches an epoch (a small dataset), as for overfitting (`_scale`). Or steps
    that overshoot: the loss went up and down more than it went down, the path it travelled
    (the sum of its epoch-to-epoch moves) >= `oscillation_path` times its net fall and >=
    `oscillation_travel` of its scale, and it climbed back `oscillation_rebound` of its
    scale above its lowest so far, in two separate swings up or more (a healthy loss
    travels 1.0-1.3 times its fall; a slow one made noisy by heavy dropout travels more,
    but rebounds by 15% at most; a lone spike, even over two epochs, is no oscillation)."""
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
    if rises / len(pairs) < t.oscillation_share and not wanders:
        return None
    return _finding(
        "oscillating_loss",
        "warning",
        f"The training loss oscillates: it rose in {rises} of {len(pairs)} epochs and "
        f"travelled {travelled:.3g} up and down for a net fall of {fall:.3g}. The learning "
        f"rate is probably too high: lower it, use Adam, or a larger batch.",
        h,
        per_epoch=True,
        train_loss=loss,
        rising_epochs=rises,
        travelled=travelled,
        net_fall=fall,
        threshold=t.oscillation_share,
    )


def _drop(loss: list[float]) -> float:
    """How far the train loss has fallen at its lowest, as a share of its first value (> 0)."""
    return (loss[0] - min(loss)) / loss[0]


def slow_convergence(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """After `judge_after` of the budget, the train loss has fallen by less than `slow_drop`
    of its first value (AutoTrainer: best one-epoch accuracy gain < 0.01). Not under a
    strong penalty: it is why, and `penalised` names it."""
    if h.penalty or not _judged(h, t):
        return None
    loss = h.curve("train_loss")
    if not _finite(loss) or loss[0] <= 0:
        return None
    drop = _drop(loss)
    if drop >= t.slow_drop:
        return None
    return _finding(
        "slow_convergence",
        "warning",
        f"Training converges too slowly: after {len(loss)} epochs the training loss fell only "
        f"{drop:.1%}. Raise the learning rate or use an adaptive optimizer (Adam).",
        h,
        per_epoch=True,
        train_loss=loss,
        relative_drop=drop,
        threshold=t.slow_drop,
    )


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
    its best is enough then."""
    train, val = h.curve("train_loss"), h.curve("val_loss")
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
    if not train[-1] < 0.9 * train[best]:
        return None
    steadily = f", rising in each of the last {t.overfit_climb} epochs," if climbing else ""
    return _finding(
        "overfitting",
        "warning",
        f"The model overfits: validation loss is {val[-1] / val[best] - 1:.0%} above its best "
        f"(epoch {h.curves[best].get('epoch', best)}){steadily} while training loss keeps "
        f"falling. Use early stopping, dropout, weight decay or more data.",
        h,
        per_epoch=True,
        val_loss=val,
        train_loss=train,
        best_epoch=int(h.curves[best].get("epoch", best)),
        threshold=t.overfit_rise,
    )


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
    if (falling and _on_course(h, loss, t)) or _as_good_as_reference(h, val, t):
        return None  # still on its way down, or already as good as the data allows
    layer = collapsed_by_penalty(h)
    collapse = f" (it pulled layer {layer}'s weights to zero: gradients vanish there)"
    return _finding(
        "underfitting",
        "warning",
        f"The model underfits: {h.penalty} keeps it from fitting the training data"
        f"{collapse if layer else ''}; after {len(loss)} epochs the training loss is still "
        f"{loss[-1] / loss[0]:.0%} of where it started. Weaken it (weight decay 1e-5..1e-3, "
        f"or 0.01..0.1 with AdamW; L1 1e-5..1e-4; dropout 0.5 at most).",
        h,
        per_epoch=True,
        train_loss=loss,
        penalty=h.penalty,
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


def underfitting(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The train loss has plateaued (the last epochs improve it < `plateau_drop` each) above
    `underfit_loss` of its first value, after `judge_after` of the budget: the model cannot
    fit even the training data (AutoTrainer's accuracy gate, Theta = 0.6, in loss terms).
    Not when the val loss is below `underfit_val_ratio` of the train loss: a model that does
    better on held-out data than on its training data is held back by the training data
    (noisy labels, augmentation), not by its capacity. Nor when the val loss is as low as
    a kernel model's on unseen rows (`_as_good_as_reference`): the rest is the data's."""
    if not _judged(h, t):
        return None
    loss, val = h.curve("train_loss"), h.curve("val_loss")
    if not _finite(loss) or loss[0] <= 0:
        return None
    if _held_back_by_data(loss, val, t) or _as_good_as_reference(h, val, t):
        return None
    if (
        not _plateau(loss, t)
        or loss[-1] < t.underfit_loss * loss[0]
        or (loss[0] - loss[-1]) < (t.slow_drop * loss[0])
    ):
        return None  # still learning, good enough, or not learning at all (slow convergence)
    reference = ""
    if h.reference_loss and val and math.isfinite(val[-1]):
        reference = (
            f"; its validation loss ({val[-1]:.3g}) is above the {h.reference_loss:.3g} a "
            f"kernel model reaches on rows it never saw"
        )
    return _finding(
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
    """(name, units, outputs) of the narrowest hidden dense layer of a classifier where it is
    narrower than the output needs. Softmax logits matter up to a shift, so K classes span
    K - 1 directions; logits computed from fewer units cannot place the classes freely, and
    the network fits slowly and poorly whatever its training does: only a wider layer cures
    it. Classifiers only (their class prior is known): an autoencoder's or a regression's
    narrow layer is there by design."""
    if not h.prior_loss:
        return None
    if len(h.dense) != len(h.layers) or len(h.rows) != len(h.layers):
        return None  # widths unknown (a history from before they were recorded)
    dense = [(name, rows) for name, rows, d in zip(h.layers, h.rows, h.dense, strict=True) if d]
    if len(dense) < 2 or not h.dense[-1]:  # the output layer must be the last dense one
        return None
    name, units = min(dense[:-1], key=lambda layer: layer[1])
    outputs = dense[-1][1]
    return (name, units, outputs) if units < outputs - 1 else None


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
    return _finding(
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
    if _held_back_by_data(loss, val, t) or _as_good_as_reference(h, val, t):
        return None  # e.g. labels the inputs say little about: nothing more to learn
    if loss[-1] < h.prior_loss and not _plateau(loss, t):
        return None  # past the prior and learning now: a slow start, no fault
    return _finding(
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


# In the order of what causes what, as the doctor treats them: dead or saturated units cut
# the backward path, so gradients vanish behind them; found on the same probe, the cause is
# reported first. Runaway weights come last: they add the cause (steps too large) to dead or
# saturated units found on the same probe, and name it alone where nothing else shows.
PROBE_RULES: tuple[Rule, ...] = (
    divergence,
    exploding_gradient,
    dying_relu,
    saturated_activation,
    vanishing_gradient,
    runaway_weights,
)
CURVE_CODES = frozenset(
    ("oscillating_loss", "slow_convergence", "overfitting", "underfitting")
)  # judged on epoch curves only
# divergence is judged at epoch ends too: a loss that ran away between probes shows in the
# epoch's mean before the next probe, and before the epoch's state is kept as healthy.
CURVE_RULES: tuple[Rule, ...] = (
    divergence,
    narrow_layer,
    penalised,
    oscillating_loss,
    slow_convergence,
    overfitting,
    underfitting,
    learned_nothing,
)
FALLBACK_RULES: tuple[Rule, ...] = (learned_nothing,)  # only while no problem has been found
