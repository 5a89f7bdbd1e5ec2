"""Parameters a hand-written loop's loss never reaches: a branch `forward()` never uses, an
output sliced away, factors all initialised to zero; or every parameter, where the loss is
cut off from the model the optimizer steps (rebuilt from its value, or a new model trained
instead). The check reads only the loop watch's record (`_loop_rules`)."""

from __future__ import annotations

import numpy as np

from ..findings import Finding
from ._silent import LOOP_FIX, LoopRecord, LoopThresholds, few_names


def unused_parameters(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Trainable parameters into which no gradient, or only an exactly zero one, flowed in
    any of the checks so far (at least `sustain`, each with a backward that reached other
    parameters), and whose values have not changed since the first look: a branch of the
    model the loss does not depend on, or reads through nothing that varies (an output
    sliced away, factors all initialised to zero). A branch the loop uses on some steps
    only (an auxiliary head every other step, tasks in turn) misses the checks' steps but
    moves."""
    if _cut_off(r, t):
        steps = [c.step for c in r.checks[-t.sustain :]]
        return unused_finding(list(r.params), steps, r.epoch, cut=True, rebuilt=r.reached)
    done = [c for c in r.checks if c.got_grad.any()]
    if len(done) < t.sustain:
        return None
    reached = np.any([c.got_grad for c in done], axis=0)
    never = ~np.any([c.fresh_scale > 0 for c in done], axis=0)
    if r.all_dead:  # exactly zero behind a dead layer: dying_relu is the cause
        never &= ~reached
    if r.checks[-1].symmetric():  # exactly zero behind layers all alike: symmetric_units
        never &= ~reached
    if done[-1].moved is not None:
        never &= ~done[-1].moved
    # what the optimizer holds besides the model and the loss never reads: not the model's
    # unused branch (an optimizer of another model: frozen_parameters names that)
    never &= ~np.isin(r.params, r.optimizer_only)
    never &= ~_cancelled_biases(r.params, reached, never)
    if not never.any():
        return None
    unused = [name for name, bad in zip(r.params, never, strict=True) if bad]
    zero = [name for name, bad, got in zip(r.params, never, reached, strict=True) if bad and got]
    met = all(c.loss_zero for c in done)  # nothing to learn: every row meets its margin
    return unused_finding(unused, [c.step for c in done], r.epoch, zero=zero, met=met)


def _cancelled_biases(params: list[str], reached: np.ndarray, never: np.ndarray) -> np.ndarray:
    """The biases whose gradient was there but exactly zero while their layer's weight
    learned: the loss reads the layer through a difference of two of its outputs (a
    Siamese, triplet or contrastive loss's distance, in which the bias cancels) or a
    normalisation that subtracts it. Harmless: the layer is used, its bias has no say."""
    learned = [name for name, bad in zip(params, never, strict=True) if not bad]
    return np.array(
        [
            name.endswith(".bias") and got and _weight_learned(name.removesuffix("bias"), learned)
            for name, got in zip(params, reached, strict=True)
        ],
        dtype=bool,
    )


def _weight_learned(layer: str, learned: list[str]) -> bool:
    """Whether the weight of `layer` (a prefix such as "fc."), plain or parametrized
    (weight norm, spectral norm, orthogonal: "fc.parametrizations.weight.original0"; the
    older nn.utils.weight_norm's "fc.weight_g", "fc.weight_v", spectral_norm's
    "fc.weight_orig"), learned."""
    parametrized = layer + "parametrizations.weight."
    plain = {layer + suffix for suffix in ("weight", "weight_g", "weight_v", "weight_orig")}
    return any(name in plain or name.startswith(parametrized) for name in learned)


def _cut_off(r: LoopRecord, t: LoopThresholds) -> bool:
    """Whether no parameter got a gradient, nor changed, in the last `sustain` checks,
    though the optimizer stepped before each: the loss backward() is called on reaches none
    of them (from the start, or since the loop built a new model the optimizer and the
    doctor do not hold). (A loop that sets `.grad` itself, per-sample gradients clipped
    for DP-SGD, gives them none by backward, but they change.)"""
    checks = r.checks[-t.sustain :]
    if len(checks) < t.sustain or not all(c.optimizer_stepped for c in checks):
        return False
    if any(c.stepped for c in checks):
        return False
    return not any(c.got_grad.any() or (c.wiped is not None and c.wiped.any()) for c in checks)


def used_since(r: LoopRecord, finding: Finding) -> int | None:
    """The step of the last check where every parameter `finding` (unused_parameters) named
    got a gradient and changed: a branch the loss reads from then on (an auxiliary loss
    switched on after a few epochs), not an unused one. None while any still does not."""
    if not r.checks:
        return None
    c = r.checks[-1]
    index = {name: i for i, name in enumerate(r.params)}
    rows = [index[name] for name in finding.evidence.get("parameters", ()) if name in index]
    if not rows or not all(c.fresh_scale[i] > 0 and c.changed[i] for i in rows):
        return None
    return c.step


def unused_finding(
    unused: list[str],
    checked_steps: list[int],
    epoch: int,
    *,
    zero: list[str] = (),
    cut: bool = False,
    rebuilt: bool = False,
    met: bool = False,
) -> Finding:
    """The unused_parameters finding, from the loop's checks or the Trainer's probes;
    `zero`: those of `unused` whose gradient was there but exactly zero; `cut`: every
    parameter, the loss reaching none (`_cut_off`); `rebuilt`: after it had reached them;
    `met`: the loss was exactly 0 at every step checked."""
    reach, how, fix = (
        "no gradient",
        "the loss does not depend on them, so they never learn and only cost memory (and "
        "fail DistributedDataParallel)",
        LOOP_FIX["unused_parameters"],
    )
    if cut:
        how = (
            "the loss backward() is called on is cut off from the model, so the optimizer "
            "steps nothing (a loss rebuilt from its value, torch.tensor(loss.item(), "
            "requires_grad=True), or computed from outputs detached or made under no_grad)"
        )
        fix = "call backward() on the loss computed from the model's outputs, as it is"
        if rebuilt:
            how = (
                "it reached them before, so the loop trains another model since: one built "
                "or loaded into a new object (model = Net(); model.load_state_dict(...)) "
                "while the optimizer and the doctor hold the first, which the optimizer "
                "steps with no gradient; or " + how
            )
            fix = (
                "load the checkpoint into the model the optimizer holds, or build the "
                "optimizer (and the doctor) anew for the new model; else " + fix
            )
    elif zero:
        reach = "no gradient, or only an exactly zero one,"
        how = (
            "the loss reads them through nothing that varies (an output sliced away, a "
            "product of factors all initialised to zero, as LoRA's A and B, units all dead), "
            "so they never learn"
        )
        fix = (
            "initialise one factor of a product randomly (LoRA: A random, B zero), use the "
            f"output that carries them, or revive the dead units; else {fix}"
        )
    if zero and met:
        how = (
            "the loss is exactly 0 at every step checked: each example already meets the "
            "margin it is held to (a hinge or a triplet loss whose positive is its own anchor, "
            "a margin of 0), so nothing sends them a gradient"
        )
        fix = (
            "check what the loss compares: a margin met from the start teaches nothing (a "
            "triplet's positive is another example of the anchor's class, its negative one of "
            "another class)"
        )
    return Finding(
        code="unused_parameters",
        severity="error" if cut else "warning",  # nothing trains at all
        source="training",
        message=(
            f"{len(unused)} trainable parameters received {reach} in any of "
            f"{len(checked_steps)} checked steps ({few_names(unused)}): {how}. Fix: {fix}."
        ),
        evidence={"parameters": unused, "checked_steps": checked_steps, "zero_gradient": zero},
        epoch=epoch,
        step=checked_steps[-1],
    )
