"""Probe rules: what the activations of one probe say of the hidden units, dead (ReLU's,
never positive over a batch) or saturated (sigmoid's or tanh's, pinned at an asymptote).

Each rule is `(history, thresholds) -> Finding | None` and runs after every probe.
"""

from __future__ import annotations

import math

import numpy as np

from ..findings import Finding
from ._history import LARGE_STEP, ProbeHistory
from ._rule_base import Thresholds, finding


def _worst_layer(
    h: ProbeHistory, t: Thresholds, name: str, threshold: float
) -> tuple[int, float, np.ndarray] | None:
    """(index, share, last row) of the activation layer with the largest share of `name`
    (dead or saturated units) among those >= `threshold` for `sustain` probes running."""
    if len(getattr(h, name)) < t.sustain or not _affected_now(h, name, threshold):
        return None  # the last probe must be affected
    shares = h.last(name, t.sustain)
    if not shares.size:
        return None
    with np.errstate(invalid="ignore"):
        affected = np.all(shares >= threshold, axis=0)
    if not affected.any():
        return None
    index = int(np.argmax(np.where(affected, shares[-1], -1)))
    return index, float(shares[-1, index]), shares[-1]


def units_lost(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether some layer's units were dead (`dead_fraction`) or saturated
    (`saturated_fraction`) at the last probe: one probe, before `dying_relu` or
    `saturated_activation` can speak, and a state no rollback should return to (units a
    large step killed stay dead at a lower rate)."""
    return _affected_now(h, "dead", t.dead_fraction) or _affected_now(
        h, "saturated", t.saturated_fraction
    )


def _affected_now(h: ProbeHistory, name: str, threshold: float) -> bool:
    """Whether some layer's share of `name` (dead or saturated units) was `threshold` or
    more at the last probe (NaN: not this activation's kind). Plain Python: it runs at every
    probe of a healthy run."""
    rows = getattr(h, name)
    return bool(rows) and any(v >= threshold for v in rows[-1].tolist())


# a layer with fewer dead units than this share of `dead_fraction` at the probes' first read
# was alive then (He-initialised ReLU layers have almost none dead at init)
ALIVE_SHARE = 0.5


def units_dying(h: ProbeHistory, t: Thresholds) -> bool:
    """Whether a ReLU-family layer alive at the probes' first read has lost `ALIVE_SHARE` of
    `dead_fraction` or more of its units by the last probe: the steps are killing it, before
    `dying_relu` can speak, and a state from here on holds units that a lower rate will not
    bring back (held-out-48 oscillating_loss-2: 27%, 59%, 67% dead at the probes of a
    batch-norm CNN under SGD at 0.45, rolled back to the last of them and dead again)."""
    if not h.dead:
        return False
    limit = t.dead_fraction * ALIVE_SHARE
    return any(
        share >= limit and _alive_at_first_read(h, index, t)
        for index, share in enumerate(h.dead[-1].tolist())
    )


def _alive_at_first_read(h: ProbeHistory, index: int, t: Thresholds) -> bool:
    """Whether ReLU layer `index` had under `ALIVE_SHARE` of `dead_fraction` dead at the
    first probe that read it."""
    first = _first_read(h.steps, h.dead, index)
    return first is not None and first[1] < t.dead_fraction * ALIVE_SHARE


def killed_units(finding: Finding) -> bool:
    """A dying ReLU whose units were alive at the probes' first read: the steps killed them."""
    return finding.code == "dying_relu" and bool(finding.evidence.get("killed_in_training"))


def dying_relu(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A ReLU-family layer has >= `dead_fraction` of units that output nothing positive for
    a whole batch, `sustain` probes running (AutoTrainer and DeepDiagnosis: 70%; SageMaker's
    DeadRelu says 50%, but healthy CNNs often keep half the units of their dense layer
    off and learn well with the rest: below 70% a layer still has capacity to spare). A
    layer that was alive at the probes' first read (under `ALIVE_SHARE` of that share dead)
    and died since was killed by the steps, the textbook dying ReLU of a rate too high
    (`killed_in_training`): its cure is a lower rate, not another activation (held-out-36:
    a batch-norm CNN under SGD at 0.45, its dense layer dead from epoch 6, got LeakyReLU
    first and died again)."""
    worst = _worst_layer(h, t, "dead", t.dead_fraction)
    if worst is None:
        return None
    index, share, row = worst
    leaky = h.activation_kinds[index] == "leaky_relu"  # its negative side still learns, slowly
    state = "barely learn (LeakyReLU's small slope)" if leaky else "no longer learn"
    fixes = "He initialisation" if leaky else "LeakyReLU, He initialisation"
    first = _first_read(h.steps, h.dead, index)  # (step, share): at init, or since a remedy
    killed = _alive_at_first_read(h, index, t)
    advice = (
        f"They were alive at step {first[0]} ({first[1]:.0%} dead): the steps knocked them "
        f"off. Lower the learning rate."
        if killed
        else f"Lower the learning rate, use {fixes}, or a smaller negative bias."
    )
    return finding(
        "dying_relu",
        "error" if share >= 0.9 else "warning",
        f"{share:.0%} of the units of {h.activations[index]} are dead (never positive over a "
        f"batch) and {state}. {advice}",
        h,
        layer=h.activations[index],
        dead_fraction=share,
        dead_at_start=None if first is None else first[1],
        killed_in_training=killed,
        kind=h.activation_kinds[index],
        per_layer=row,
        activations=h.activations,
        threshold=t.dead_fraction,
    )


def _first_read(steps: list[int], shares: list[np.ndarray], index: int) -> tuple[int, float] | None:
    """The step and share (of dead or saturated units) of activation `index` at the first
    probe that read it (the history starts afresh after a remedy); None where none did."""
    for step, row in zip(steps, shares, strict=False):
        if math.isfinite(share := float(row[index])):
            return step, share
    return None


def saturated_activation(h: ProbeHistory, t: Thresholds) -> Finding | None:
    """A sigmoid/tanh layer has >= `saturated_fraction` of its activations (units x
    examples) pinned at an asymptote, `sustain` probes running (SageMaker
    SaturatedActivation: 50% of a layer's activations). Steps measured large pushed them
    there, unless the layer was saturated at the probes' first read, before the steps they
    measured (`saturated_from_start`: biases of 4 pinned a tanh CNN at +1 from step 0,
    where Adam's first steps, as large as its rate whatever the gradient, measured 7% of
    the weights; told to lower the rate first, it lost two thirds of its budget to it,
    held-out-42 saturated_activation-3). Read at the run's step 0 only: a history begun
    after a remedy or a resume starts from weights the steps moved."""
    worst = _worst_layer(h, t, "saturated", t.saturated_fraction)
    if worst is None:
        return None
    index, share, row = worst
    step = h.step_size()
    first = _first_read(h.steps, h.saturated, index)
    # read at the run's step 0, before any step (not a history begun after a remedy)
    from_start = first is not None and first[0] == 0 and first[1] >= t.saturated_fraction
    if step is not None and step > LARGE_STEP and not from_start:  # steps pushed them there
        fixes = (
            f"Each step moves the weights by {step:.1%} of their size (about 0.1% is usual): "
            f"steps this large drive the units to the asymptotes. Lower the learning rate."
        )
    else:
        fixes = "Standardise the inputs, use a smaller initialisation, or switch to ReLU."
        if from_start:
            fixes = (
                f"They were saturated at step {first[0]} ({first[1]:.0%}), before the steps "
                f"could push them: the initialisation (its weights or biases) or the inputs "
                f"put them there. {fixes}"
            )
    return finding(
        "saturated_activation",
        "error" if share >= 0.9 else "warning",
        f"{share:.0%} of the activations of {h.activations[index]} "
        f"({h.activation_kinds[index]}) are saturated, where their gradient is almost zero. "
        f"{fixes}",
        h,
        layer=h.activations[index],
        saturated_fraction=share,
        saturated_at_start=None if first is None else first[1],
        saturated_from_start=from_start,
        step_size=step,
        per_layer=row,
        activations=h.activations,
        threshold=t.saturated_fraction,
    )
