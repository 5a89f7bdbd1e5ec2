"""What the loop doctor recommends where it cannot treat a finding itself: the change to the
model or the loop, read from the finding's evidence (`recommend`); and what the loop does
already that a finding's advice would repeat (`note_loop_setup`)."""

from __future__ import annotations

from ..findings import Finding
from ._history import LARGE_STEP
from ._loop_remedies import DEFAULT_EPS
from ._silent import LOOP_FIX
from ._unit_rules import killed_units

# Per code, the change to the model or the loop recommended after the remedies the doctor
# applies itself (`_loop_orders.LOOP_ORDERS`), or instead of them
RECOMMENDED: dict[str, str] = {
    **LOOP_FIX,
    "divergence": "a lower learning rate, gradient clipping, or batch normalisation",
    "exploding_gradient": "He initialisation, standardised inputs, or Adam with clipping",
    "vanishing_gradient": "ReLU with He initialisation, or batch normalisation",
    "dying_relu": "LeakyReLU, or He initialisation with a zero bias",
    "saturated_activation": "standardised inputs, Xavier initialisation, or ReLU",
    "oscillating_loss": "a lower learning rate or momentum, or Adam",
    "slow_convergence": "Adam, or a higher learning rate",
    "underfitting": "a wider network, or a higher learning rate",
    "overfitting": "early stopping, dropout, weight decay or more data",
}


# dead units of a LeakyReLU layer: it is leaky already
LEAKY_DEAD = "He initialisation with a zero bias, or a lower learning rate"
# a finding that targets far from standardised explain (`_rule_base.finding`): the cause
FAR_TARGETS_FIX = "standardised targets (predictions mapped back to their units)"
SUMMED_FIX = "reduction='mean' for the loss (or a rate divided by the batch size)"
# ... and inputs far from standardised (`_rule_base.finding`)
UNSCALED_FIX = "standardised inputs (each feature's mean subtracted, divided by its std)"


# an "overfitting" whose validation never beat knowing nothing (`_val_rules.overfitting`)
VAL_MISMATCH_FIX = "labels the inputs predict, lined up with them alike in training and validation"


# an "underfitting" held at guessing by the loss's other terms (`_underfit_rules`)
PENALTY_FIX = "a far weaker penalty beside the cross entropy (a KL divided by the training rows)"


# a slow_convergence under an optimizer whose eps dwarfs its gradients (`_slow_rules`)
EPS_FIX = f"the optimizer's eps at its default ({DEFAULT_EPS:g})"


# an "underfitting" of a network that predicts one class whatever the input
# (`_underfit_rules.one_class`)
ONE_CLASS_FIX = (
    "labels lined up with their rows, a loss on the outputs the predictions rank, or a "
    "learning rate 10x lower"
)


# under an optimizer whose steps do not grow with the gradient (Adam): not Adam again
ON_ADAPTIVE: dict[str, str] = {
    "exploding_gradient": "He initialisation, standardised inputs, or gradient clipping",
    "oscillating_loss": "a lower learning rate",
    "slow_convergence": "a higher learning rate",
}


CLIP_ADVISED = ("exploding_gradient", "divergence")  # findings that advise clipping


def note_loop_setup(finding: Finding, clip_norm: float | None, scaler_given: bool) -> None:
    """Say what the loop does already that the finding's advice would repeat: clipping the
    gradients (`clip_norm`: the norm it clips at), or scaling the loss (a gradient scaler's
    skipped steps are no explosion: without it the doctor cannot tell them)."""
    if finding.code in CLIP_ADVISED and clip_norm is not None:
        finding.evidence["loop_clip"] = clip_norm
        finding.message += (
            f" (The loop clips the gradients at norm {clip_norm:.3g} already: a lower "
            f"learning rate is what is left.)"
        )
    scale_named = "input_rms" in finding.evidence or "error_signal" in finding.evidence
    if finding.code == "exploding_gradient" and not scaler_given and not scale_named:
        finding.message += (
            " (If the loop scales its loss with a torch.amp.GradScaler, pass it: "
            "trainwell.Doctor(model, optimizer, scaler=scaler).)"
        )


def recommend(finding: Finding, adaptive: bool = False) -> None:
    """Name the change to the model or the loop that would treat `finding`; `adaptive`: the
    loop's optimizer is one whose steps do not grow with the gradient."""
    change = (adaptive and ON_ADAPTIVE.get(finding.code)) or RECOMMENDED.get(finding.code)
    advice = finding.evidence.get("rate_advice")  # as its message advises of the rate
    if finding.code == "slow_convergence":  # ... or nothing
        change = "a lower learning rate" if advice == "lower" else change if advice else None
    elif advice == "lower":  # steps measured too large: never a higher rate
        change = "a lower learning rate"
    if finding.code == "dying_relu" and finding.evidence.get("kind") == "leaky_relu":
        change = LEAKY_DEAD
    if killed_units(finding):
        change = "a lower learning rate, or LeakyReLU"  # alive at the start: steps killed them
    pushed = (finding.evidence.get("step_size") or 0.0) > LARGE_STEP  # (None: not measured)
    if finding.code == "saturated_activation" and pushed:
        change = "a lower learning rate"  # as its message advises: the steps pushed them
    if finding.evidence.get("val_never_learned"):
        change = VAL_MISMATCH_FIX
    if finding.evidence.get("optimizer_eps"):
        change = EPS_FIX
    if finding.evidence.get("frozen_epochs") and not advice:
        change = ONE_CLASS_FIX
    if finding.evidence.get("penalty_outweighs"):
        change = PENALTY_FIX
    if "gain_now" in finding.evidence:  # weights the loss pulls to zero
        change = "a far weaker penalty in the loss (L1 1e-5..1e-4 per weight), or weight_decay"
    if finding.evidence.get("forward_nonfinite"):
        change = "the operation that makes NaN on some batches (see above), not the rate"
    if finding.evidence.get("below_floor"):
        change = "F.log_softmax before nll_loss (or F.cross_entropy on the scores), not the rate"
        if finding.evidence.get("binary_targets"):
            change = "targets in [0, 1] for the binary cross entropy, not the rate"
        if finding.evidence.get("fell_without_bound"):
            change = "the loss's sign (minimise -log_prob, add what was subtracted), not the rate"
    if finding.evidence.get("backward_nonfinite"):
        change = "an epsilon where a derivative is infinite (see above), not the rate"
    if finding.code == "vanishing_gradient" and finding.evidence.get("zero_gradient"):
        # (unused_parameters lists its exactly-zero parameters under the same key)
        change = "the path from that layer to the output (see above), not its activation"
    if change and finding.evidence.get("summed_loss"):
        change = SUMMED_FIX
    elif change and "error_signal" in finding.evidence:
        change = FAR_TARGETS_FIX
    elif change and "input_rms" in finding.evidence:
        change = UNSCALED_FIX
    if change and "recommended" not in finding.evidence:
        finding.evidence["recommended"] = change
        if finding.source == "training" and finding.code not in LOOP_FIX:
            finding.message += f" Recommended change to the model or loop: {change}."
