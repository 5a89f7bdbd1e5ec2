"""The remedies a loop's doctor applies for each finding, in order, as the finding's
evidence narrows them."""

from __future__ import annotations

from ..findings import Finding

# Per code, the remedies the doctor applies in a hand-written loop, in order.
LOOP_ORDERS: dict[str, tuple[str, ...]] = {
    "divergence": ("lower_lr_and_clip", "lower_lr"),
    "exploding_gradient": ("clip_gradients", "lower_lr"),
    "dying_relu": ("zero_biases", "lower_lr"),
    "oscillating_loss": ("lower_momentum", "lower_lr"),
    "stale_gradients": ("zero_grad",),
    "eval_mode_training": ("train_mode",),
    "frozen_parameters": ("add_to_optimizer",),
    "symmetric_units": ("reinitialise",),
    "high_initial_loss": ("redraw_output",),
    "batch_norm_momentum": ("norm_momentum",),
    "clip_after_step": ("clip_before_step",),
    "teacher_trained": ("freeze_teacher",),
}
RATE_CUTS = ("lower_lr", "lower_lr_and_clip")  # one a probe: two cut it 100x in one step


def loop_order(finding: Finding, tried: set[str]) -> list[str]:
    """The remedies for `finding`, those `tried` before left out."""
    code = finding.code
    evidence = finding.evidence
    if evidence.get("eps_underflows"):  # the optimizer's eps, 0 in float16
        return [name for name in ("raise_eps",) if name not in tried]
    if evidence.get("forward_nonfinite") or evidence.get("backward_nonfinite"):
        return [name for name in ("skip_nonfinite",) if name not in tried]  # not the rate's
    if evidence.get("optimizer_eps"):  # the optimizer's eps, not the rate
        return [name for name in ("default_eps",) if name not in tried]
    if evidence.get("network") == "other":  # another network's optimizer, not this one
        return [name for name in ("zero_other_grad",) if name not in tried]
    if evidence.get("below_floor"):
        return []  # scores that are no log-probabilities: the loop's to fix
    if code == "exploding_gradient" and "error_signal" in evidence:
        return []  # large because the targets are: clipping throttles their fit
    if "input_rms" in evidence:
        # inputs far from standardised, named as the cause: the loop's to scale; a clip
        # or a lower rate hides it (R^2 -1.03 -> -6.0 and -1439, stress 26)
        return []
    order = LOOP_ORDERS.get(code, ())
    if code == "dying_relu" and evidence.get("killed_in_training"):
        # alive at the start: the steps killed them
        order = ("lower_lr", *(name for name in order if name != "lower_lr"))
    return [name for name in order if name not in tried]
