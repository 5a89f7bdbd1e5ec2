"""Divergence rules: a loss that became non-finite or ran away, and weights that flew off
while the loss stayed high. Each rule is `(history, thresholds) -> Finding | None` and runs
after every probe (`divergence` after every epoch too).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..findings import Finding
from ._history import FEW_ROWS, ProbeHistory
from ._rule_base import LARGE_GAIN, Thresholds, finding

# an NLL below this is below its floor of 0 by more than rounding
BELOW_ZERO = -1e-4


def divergence(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """The loss is non-finite; or it ran away: `runaway_factor` times its first value at
    `sustain` probes running, or in the mean training loss of the last epoch (a runaway loss
    diverges before it overflows, and may swing too much for probes alone to see it), and
    above the loss of a network that learned nothing: a history that starts from trained
    weights (resumed, or after a remedy) starts at a batch loss that healthy batches can
    be ten times of. That
    epoch must have begun after the history's first probe: in a hand-written loop, the mean
    of an epoch a remedy was applied in holds the losses of the runaway it treated. Batches
    of a few rows (`FEW_ROWS`) start from the first epoch's median probe and are judged on
    the epoch's mean only: one row's squared error swings by orders of magnitude. Nor are
    probes that spiked a run: single batches that hold a few targets far off (a
    missing-value code of -999999 among prices) score 10x the first and fall back, the
    steps between calm (`_spiked`); an epoch's mean is compared with the median of the
    first 3 probes, not the first alone, which may be the rare batch without such targets."""
    if not h.loss:
        return None
    if backward_made(h, t):
        seen = (
            f"The gradients are NaN at step {h.steps[-1]}, where the loss is finite and calm"
            if _sound(h, -1)
            else f"The weights are NaN at step {h.steps[-1]}, the loss calm before: an update "
            f"wrote NaN into them" + ("" if h.eps_underflows else ", so its gradients were NaN")
        )
        made = (
            _EPS_UNDERFLOWS.format(eps=h.eps)
            if h.eps_underflows
            else f"The backward pass made them, not a step too large, and a lower learning "
            f"rate cannot help. {_BACKWARD_NAN}"
        )
        return finding(
            "divergence",
            "error",
            f"{seen}. {made}",
            h,
            loss=h.loss[-1],
            first_loss=h.first_loss(),
            backward_nonfinite=True,
            **({"eps_underflows": h.eps} if h.eps_underflows else {}),
        )
    if below_floor(h):
        why = (
            f"which a binary cross entropy on targets in [0, 1] never is: its targets are "
            f"not probabilities. {_BCE_BELOW_ZERO}"
            if h.binary_cross_entropy
            else f"which a negative log-likelihood of probabilities never is: the scores it "
            f"runs off with are not log-probabilities. {_BELOW_ZERO}"
        )
        return finding(
            "divergence",
            "error",
            f"The loss is {h.loss[-1]:.3g} at step {h.steps[-1]}, below 0, {why}",
            h,
            loss=h.loss[-1],
            first_loss=h.first_loss(),
            below_floor=True,
            **({"binary_targets": True} if h.binary_cross_entropy else {}),
        )
    if (start := fell_without_bound(h)) is not None:
        return finding(
            "divergence",
            "error",
            f"The loss fell to {h.loss[-1]:.3g} at step {h.steps[-1]}, from {start:.3g}: no "
            f"objective a network can fit falls {FELL:g} times as far below 0 as it started. "
            f"{_FELL_WITHOUT_BOUND}",
            h,
            loss=h.loss[-1],
            first_loss=start,
            below_floor=True,
            fell_without_bound=True,
        )
    losses, first = h.loss[-t.sustain :], h.first_loss()
    epoch = h.curves[-1].get("epoch", len(h.curves) - 1) if h.curves else -1
    last_epoch = h.curves[-1].get("train_loss", math.nan) if epoch > h.epochs[0] else math.nan
    if math.isfinite(losses[-1]):
        if not math.isfinite(first) or first <= 0:
            return None
        limit = max(t.runaway_factor * first, h.nothing_learned_loss())
        # a batch of a row or two is ten times the median one time in a few dozen: only
        # its epoch's mean says it ran away
        few = 0 < h.batch_rows < FEW_ROWS
        probes_away = not few and len(losses) == t.sustain and all(loss > limit for loss in losses)
        probes_away = probes_away and not _spiked(h)
        # NaN (no runaway) unless past the limit: the first probes' median read only then
        start = max(first, h.typical_start()) if last_epoch > limit else math.nan
        epoch_away = last_epoch > t.runaway_factor * start
        if not (probes_away or epoch_away) or _weights_still(h) or _objective_grew(h, t):
            return None
        if not probes_away:  # the epoch's mean shows it: dated at the epoch, not a probe
            return finding(
                "divergence",
                "error",
                f"Training diverged: the mean training loss of epoch {epoch} "
                f"ran away to {last_epoch:.3g} from {start:.3g}. "
                f"{_LOWER_THE_RATE}",
                h,
                per_epoch=True,
                loss=last_epoch,
                first_loss=start,
            )
        what = f"ran away to {losses[-1]:.3g} from {first:.3g}"
    elif _forward_made(h, t):
        calm = "after calm steps" if any(map(math.isfinite, h.loss)) else "before any step"
        return finding(
            "divergence",
            "error",
            f"The loss became non-finite (NaN or inf) at step {h.steps[-1]}, on a batch the "
            f"network met with finite weights {calm}: the forward pass computed it from this "
            f"batch, and a lower learning rate cannot help. {_FORWARD_NAN}",
            h,
            loss=losses[-1],
            first_loss=first,
            forward_nonfinite=True,
        )
    else:
        what = "became non-finite (NaN or inf)"
    return finding(
        "divergence",
        "error",
        f"Training diverged: the loss {what} at step {h.steps[-1]}. {_LOWER_THE_RATE}",
        h,
        loss=losses[-1],
        first_loss=first,
    )


def below_floor(h: ProbeHistory) -> bool:
    """Whether a hand-written loop's `nll_loss`, read straight from a layer's scores
    (`nll_of_scores`), is below 0, which no log-likelihood of probabilities is: given raw
    scores, not log-probabilities, it is their mean negated, and falls without end as they
    grow (to -66,000, stress 23). Or its binary cross entropy is: targets outside [0, 1]
    (masks stored as 0/255, labels in {-1, +1}, the arguments swapped) make it fall without
    end as the logits grow, which read as exploding gradients that clipping "cured" (stress
    24). The Trainer's losses are its own."""
    if h.data_at_hand or not (h.nll_of_scores or h.binary_cross_entropy) or not h.loss:
        return False
    return h.loss[-1] < BELOW_ZERO


def fell_without_bound(h: ProbeHistory) -> float | None:
    """The loss the run started at, where the last probe's is `FELL` times as far below 0
    as that is (or 1, if nearer 0): a likelihood maximised where it is to be minimised
    (`loss = log_prob.mean()`, the minus forgotten) falls without end, to -4e10 in 30 epochs
    (stress 24), while the doctor spoke of saturated units and a rate too high. A Gaussian's
    negative log-likelihood goes below 0 as its scale shrinks, by a few units a point."""
    start = h.run_start if h.run_start > 0 else h.first_loss()
    if not h.loss or not math.isfinite(start):
        return None
    return start if h.loss[-1] < -FELL * max(abs(start), 1.0) else None


STILL = 0.05  # every layer's weight norm within this share of where it started: unmoved
GREW = 2.0  # ... and the outputs' RMS under this many times its first: not blown up


def _weights_still(h: ProbeHistory) -> bool:
    """Whether, in a hand-written loop, every layer's weights are within `STILL` of their
    norm at the history's first probe, and the outputs no larger than `GREW` times theirs:
    a loss ten times its start from a network that has not moved is its batches' doing,
    not a runaway, which blows the network up with it (a DQN's TD loss meeting its first
    rewards: 0.0014 to 0.015 in 3 steps of Adam at 1e-3, told as a divergence, its rate
    cut 1,000x; stress 26). Inputs in raw units blow the outputs up on steps too small to
    move the weights. The Trainer's data is the same from epoch to epoch, and judged as
    before."""
    if h.data_at_hand or len(h.weight_norm) < 2:
        return False
    first, now = np.asarray(h.weight_norm[0], float), np.asarray(h.weight_norm[-1], float)
    known = np.isfinite(first) & (first > 0)
    if not known.any() or not np.all(np.isfinite(now[known])):
        return False
    levels = h.output_level[:1] + h.output_level[-1:]  # (NaN: not measured)
    if all(map(math.isfinite, levels)) and levels[-1] >= GREW * levels[0]:
        return False
    return bool(np.all(np.abs(now[known] / first[known] - 1) < STILL))


def _objective_grew(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether, in a hand-written loop, the epochs' training loss rose in each epoch from its
    lowest to its highest (two epochs or more) while the validation loss the loop reports
    fell in each, and stands no higher now: the objective the loop minimises grew under a
    network that got better, as a KL weight warmed up does (beta = epoch / 10: 2.1 -> 24.5
    over ten epochs, the validation NLL falling 1.80 -> 0.105, told as a divergence and
    clipped, stress 31). Weights that run off make validation worse. A probe
    `runaway_factor` times the highest epoch's loss still runs away."""
    if h.data_at_hand:
        return False
    rows = [row for row in h.curves if "val_loss" in row and "train_loss" in row]
    train = [float(row["train_loss"]) for row in rows]
    val = [float(row["val_loss"]) for row in rows]
    if len(rows) < 3 or not all(map(math.isfinite, train + val)):
        return False
    low = train.index(min(train))
    peak = low + train[low:].index(max(train[low:]))
    if peak - low < 2:
        return False
    rose = all(b > a for a, b in itertools.pairwise(train[low : peak + 1]))
    fell = all(b < a for a, b in itertools.pairwise(val[low : peak + 1]))
    return rose and fell and val[-1] <= val[peak] and h.loss[-1] <= t.runaway_factor * train[peak]


def _spiked(h: ProbeHistory) -> bool:
    """Whether the last probe was taken because its loss ran away, steps after the one
    before: the steps between, each read, stayed below (else each had been probed). A loss
    that runs away stays away, step after step."""
    runaway = h.runaway_steps
    return bool(runaway) and runaway[-1] == h.steps[-1] and h.steps[-1] - h.steps[-2] > 1


def _forward_made(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether a hand-written loop's loss became non-finite where no runaway can have made
    it: the weights finite and within `blown_up` of the last probe whose loss was finite
    and no higher than the first (or untrained) one (or no step has moved them). The loop
    reads every step's loss and probes one that runs away 10x: a runaway shows there
    before it overflows, and blows the weights up. An attention row whose every key is
    masked (a padding mask inverted, an empty sequence) makes NaN on the batches that hold
    one, at any rate: the lower rates repair gave it (100x) trained nothing more (stress
    19). Only where every step's loss was read (`every_loss_read`: a loop on a CPU); the
    Trainer replays such a batch to name the layer instead."""
    if not h.every_loss_read or not np.all(np.isfinite(h.weight_norm[-1])):
        return False  # (on a GPU the loss is not read at every step: a NaN batch stepped
        # between probes leaves NaN weights, and no one can tell what made it)
    finite = [i for i, loss in enumerate(h.loss) if math.isfinite(loss)]
    if not finite:
        return True  # no step has moved the weights the doctor saw first
    last = finite[-1]  # the probe before the batches that made NaN (their steps skipped?)
    if h.loss[last] > max(h.loss[0], h.untrained_loss()):
        return False
    grown = h.weight_norm[-1] > t.blown_up * np.maximum(h.weight_norm[last], 1e-12)
    return not grown.any()


def backward_made(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether the gradients became NaN where the loss did not run away: seen at a probe
    whose loss is finite and short of a runaway (as `divergence` reads one), its weights
    finite; or, in a loop whose every step's loss was read (`every_loss_read`: a runaway
    is probed at its step), a loss non-finite on weights that hold NaN, the probe before
    calm with finite weights: one update wrote NaN into them, so its gradient was NaN. A
    step too large grows the weights and the loss first; NaN from a calm loss is an
    operation whose derivative is infinite where it was taken (the square root of a
    pair's distance to itself, stress 22). Infinite gradients (an overflow) are not this.
    A hand-written loop's only: its repair skips such steps; the Trainer's models are built
    from a config."""
    if h.data_at_hand:  # the Trainer's: its repair treats a divergence by the rate
        return False
    if math.isfinite(h.loss[-1]):  # (read at every probe: the cheap tests first)
        if not h.grad_norm or not np.isnan(h.grad_norm[-1]).any():
            return False
        return h.loss[-1] <= _calm(h, t) and _sound(h, -1)
    if not h.every_loss_read or h.n_probes < 2 or not np.isnan(h.weight_norm[-1]).any():
        return False
    return math.isfinite(h.loss[-2]) and h.loss[-2] <= _calm(h, t) and _sound(h, -2)


def _calm(h: ProbeHistory, t: Thresholds) -> float:
    """The loss below which no runaway is read (as `divergence` reads one)."""
    return max(t.runaway_factor * h.first_loss(), h.nothing_learned_loss())


def _sound(h: ProbeHistory, probe: int) -> bool:
    """Whether the weights were all finite at that probe."""
    return bool(np.all(np.isfinite(h.weight_norm[probe])))


_BACKWARD_NAN = (
    "Look for an operation whose derivative is infinite where the loss reads it: a square "
    "root or a norm at 0 (the distance of an embedding to itself: F.pairwise_distance, or "
    "torch.sqrt(x + 1e-12)), a power below 1 at 0, log at 0, acos or asin at +-1, or a "
    "torch.where whose unused branch is NaN; torch.autograd.set_detect_anomaly(True) names "
    "it. Under mixed precision, pass the GradScaler to the doctor: an overflow of scaled "
    "gradients is skipped, not this."
)
_FORWARD_NAN = (
    "Look for an operation that makes NaN on some inputs: a softmax over a row masked "
    "entirely (an attention row whose every key is masked: an empty sequence, or a padding "
    "mask inverted), log or sqrt of 0 or of a negative, a division by a zero count; "
    "torch.autograd.set_detect_anomaly(True) names it. If the inputs hold NaN, impute them."
)
_BELOW_ZERO = (
    "nll_loss takes log-probabilities: give it F.log_softmax(scores, dim=1), or the scores "
    "to F.cross_entropy. A lower learning rate cannot help."
)
_BCE_BELOW_ZERO = (
    "Give it targets in [0, 1] (masks divided by 255, labels mapped from {-1, +1} to {0, 1}), "
    "as its second argument: binary_cross_entropy_with_logits(logits, targets). A lower "
    "learning rate cannot help."
)
# a loss this many times as far below 0 as it started (or 1) has no bound below
FELL = 1e3
_FELL_WITHOUT_BOUND = (
    "A likelihood maximised where it is to be minimised falls so (minimise -log_prob, the "
    "negative log-likelihood), or a loss term subtracted from the total that the network "
    "drives up without bound (loss = task - w * aux where + was meant), or a scale the "
    "network can drive to 0 divides it. A lower learning rate cannot help."
)
_EPS_UNDERFLOWS = (
    "The optimizer's step made them, and a lower learning rate cannot help: its eps ({eps:g}) "
    "is 0 in float16, the weights' dtype, so a weight whose gradients are 0 steps by 0 / 0. "
    "Keep the weights in float32 and run the forward pass under torch.autocast (with a "
    "GradScaler), or raise eps to 1e-4."
)
_LOWER_THE_RATE = (
    "Lower the learning rate or clip gradients; if the inputs contain NaN, impute them."
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
    return finding(
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
