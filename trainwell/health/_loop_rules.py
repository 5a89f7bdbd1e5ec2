"""Silent bugs of hand-written loops: pure checks over what the loop watch recorded.

These bugs raise no error and often still lower the loss: the gradients keep accumulating
because `optimizer.zero_grad()` is missing, some parameters never move, the model trains in
`eval()` mode, a softmax sits before a loss that applies its own, a branch of the model is
never used. Each check is `(record, thresholds) -> Finding | None`, reads only the record,
and gives the evidence and a one-line fix.
"""

from __future__ import annotations

import numpy as np

from ..findings import Finding
from ._silent import (
    LoopCheck,
    LoopRecord,
    LoopRule,
    LoopThresholds,
    few_names,
    loop_finding,
)
from ._unused_rules import unused_parameters


def stale_gradients(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """After the optimizer stepped, `.grad` held more than this step's backward produced, and
    the excess is the previous step's gradient: cosine >= `carried_cosine`, at least
    `carried_share` of the gradient. With `zero_grad()` the excess is exactly zero; gradient
    clipping or unscaling only shrinks `.grad` along the fresh gradient, never along the old
    one; accumulation over micro-batches without an optimizer step is not flagged. Judged
    over every parameter the optimizer changed, then parameter by parameter: a zero_grad
    that clears part of the model (one optimizer of two) leaves the rest carried, diluted
    in the whole."""
    if not r.checks:
        return None
    c = r.checks[-1]
    if not c.stepped or not c.grad_norm > 0 or not c.previous_norm > 0:
        return None
    share = c.carried_norm / c.grad_norm
    scale = _scaled_sum(c, t)
    if scale is None and (share < t.carried_share or c.carried_cosine < t.carried_cosine):
        return _stale_in_part(r, c, t)
    how = f"(cosine {c.carried_cosine:.3f})" if scale is None else "(cosine 1 to within 1%)"
    clipped = scale is not None and abs(scale - 1) > 1e-3  # a sum left as it is: no clipping
    scaled = f", the sum scaled by {scale:.3g} (clipping)" if clipped else ""
    return loop_finding(
        "stale_gradients",
        "error",
        f"Gradients accumulate across steps: at step {c.step} .grad still held the previous "
        f"step's gradient {how} on top of this batch's{scaled}, so its norm is "
        f"{c.grad_norm:.3g} where this batch gave {c.fresh_norm:.3g}; every step applies the "
        f"sum of all past gradients. optimizer.zero_grad() is missing.",
        r,
        c.step,
        grad_norm=c.grad_norm,
        fresh_norm=c.fresh_norm,
        carried_norm=c.carried_norm,
        previous_grad_norm=c.previous_norm,
        carried_cosine=c.carried_cosine,
        scale=scale,
        threshold_share=t.carried_share,
    )


def _scaled_sum(c: LoopCheck, t: LoopThresholds) -> float | None:
    """The scale where .grad is this batch's gradient plus the previous .grad, both
    scaled by it (a clipped sum: `LoopCheck.carried_fit`): the fit leaves < `carried_share`
    of .grad, the two coefficients agree to 1 - `carried_cosine`, and the previous part is
    `carried_share` of .grad or more. With zero_grad and clipping, the previous part is 0."""
    if c.carried_fit is None:
        return None
    a, b, left = c.carried_fit
    if not (a > 0 and left < t.carried_share and abs(b - a) <= (1 - t.carried_cosine) * a):
        return None
    return a if b * c.previous_norm >= t.carried_share * c.grad_norm else None


def _stale_in_part(r: LoopRecord, c: LoopCheck, t: LoopThresholds) -> Finding | None:
    """The parameters whose own .grad carried the previous step's gradient (see
    `stale_gradients`), where the model's as a whole did not."""
    if c.carried_shares is None or c.carried_cosines is None:
        return None
    with np.errstate(invalid="ignore"):
        stale = (c.carried_shares >= t.carried_share) & (c.carried_cosines >= t.carried_cosine)
    if c.shrunk is not None:  # a one-element parameter's cosines are all +-1
        stale &= ~c.shrunk
    names = [name for name, bad in zip(r.params, stale, strict=True) if bad]
    if not names:
        return None
    cosine = float(np.nanmin(c.carried_cosines[stale]))
    return loop_finding(
        "stale_gradients",
        "error",
        f"Gradients accumulate across steps in {len(names)} parameter"
        f"{'s' if len(names) > 1 else ''} ({few_names(names)}): at "
        f"step {c.step} their .grad still held the previous step's gradient (cosine "
        f"{cosine:.3f}) on top of this batch's, so they apply the sum of all past gradients. "
        f"A zero_grad() clears the others: the one for these is missing (an optimizer of "
        f"their own, or zero_grad on part of the model).",
        r,
        c.step,
        parameters=names,
        carried_share=[float(x) for x in c.carried_shares[stale]],
        carried_cosine=cosine,
        threshold_share=t.carried_share,
    )


def frozen_parameters(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Parameters that never change: given to the optimizer with `requires_grad=False`
    (warning: perhaps frozen on purpose, then leave them out of the optimizer), or receiving
    gradients that are never applied (error): in every one of the last `sustain` checks they
    got a gradient of at least `real_gradient` of their norm and kept their values while the
    optimizer changed other parameters — and, when the doctor knows the optimizer, they are
    in none of its param groups (a group at learning rate 0 is a warm-up, not a bug).
    Parameters frozen on purpose (requires_grad=False and left out of the optimizer) are not
    flagged. A network none of whose parameters has changed since the first look, a whole
    epoch on, though they get gradients (`_nothing_moves`), is an error of its own."""
    if _nothing_moves(r, t):
        last = r.checks[-1]
        own = [name for name in r.params if name not in r.optimizer_only]
        if own and set(own) <= set(r.not_in_optimizer or ()):
            return _optimizer_of_another_model(r, own, last.step)
        if last.optimizer_stepped is None:  # no optimizer given: the loop updates by hand
            seen = "the backward passes give them gradients: nothing updates the model"
            cause = (
                "An update by hand that rebinds a name (p = p - lr * p.grad makes a new "
                "tensor and leaves the parameter as it was), or no update at all?"
            )
            fix = (
                "update in place under torch.no_grad(): p -= lr * p.grad (or use a "
                "torch.optim optimizer)"
            )
        else:
            seen = (
                "the optimizer steps and the backward passes give them gradients: its steps "
                "change nothing"
            )
            cause = (
                "Their gradients were gone by doctor.step (.grad is None after backward): "
                "optimizer.zero_grad() runs between loss.backward() and optimizer.step()."
                if _wiped(last)
                else "optimizer.zero_grad() between loss.backward() and optimizer.step(), "
                "optimizer.step() before loss.backward() (each step finds the gradients "
                "cleared), a learning rate of 0 (a warm-up written with integer division), "
                "or no optimizer.step() at all?"
            )
            fix = (
                "call optimizer.zero_grad(), then loss.backward(), then optimizer.step() at "
                "a learning rate above 0"
            )
        return loop_finding(
            "frozen_parameters",
            "error",
            f"No parameter has changed since the first look (step {last.step} now), though "
            f"{seen}. {cause}",
            r,
            last.step,
            fix=fix,
            never_applied=list(r.params),
            whole_model=True,
            requires_grad_false=r.frozen_in_optimizer,
        )
    stepped = [c for c in r.checks if c.stepped][-t.sustain :]
    unapplied: list[str] = []
    if len(stepped) == t.sustain:
        got = np.all([c.fresh_scale >= t.real_gradient for c in stepped], axis=0)
        kept = np.all([~c.changed for c in stepped], axis=0)
        outside = set(r.params if r.not_in_optimizer is None else r.not_in_optimizer)
        bad = got & kept
        unapplied = [n for n, b in zip(r.params, bad, strict=True) if b and n in outside]
    if not unapplied and not r.frozen_in_optimizer:
        return None
    step = stepped[-1].step if unapplied else (r.checks[-1].step if r.checks else r.step)
    parts = []
    if unapplied:
        where = (
            ""
            if r.not_in_optimizer is None
            else ", and they are in none of the optimizer's param groups"
        )
        parts.append(
            f"{len(unapplied)} parameters get gradients but never change ({few_names(unapplied)})"
            f"{where}."
        )
    if r.frozen_in_optimizer:
        parts.append(
            f"{len(r.frozen_in_optimizer)} parameters were given to the optimizer with "
            f"requires_grad=False, so they never learn ({few_names(r.frozen_in_optimizer)}); if "
            f"they are frozen on purpose, leave them out of the optimizer (unless they are to "
            f"be unfrozen later, as in gradual unfreezing)."
        )
    # only frozen ones given to the optimizer: it was built from model.parameters() already
    fix = (
        None
        if unapplied
        else "set requires_grad=True on them if they should learn; if frozen on purpose, "
        "build the optimizer from [p for p in model.parameters() if p.requires_grad]"
    )
    return loop_finding(
        "frozen_parameters",
        "error" if unapplied else "warning",
        "Parameters that never change: " + " ".join(parts),
        r,
        step,
        fix=fix,
        never_applied=unapplied,
        requires_grad_false=r.frozen_in_optimizer,
        not_in_optimizer=r.not_in_optimizer,
    )


def _optimizer_of_another_model(r: LoopRecord, own: list[str], step: int) -> Finding:
    held = f" (it holds {len(r.optimizer_only)} other tensors)" if r.optimizer_only else ""
    return loop_finding(
        "frozen_parameters",
        "error",
        f"None of the model's {len(own)} trainable parameters is in the optimizer's param "
        f"groups{held}: its steps change nothing here (step {step} now). An optimizer built "
        f"for another model, or before the model was re-created, copied or replaced?",
        r,
        step,
        fix="build the optimizer from this model's parameters, after the model is final "
        "(torch.optim.X(model.parameters(), ...))",
        never_applied=own,
        whole_model=True,
        not_in_optimizer=r.not_in_optimizer,
        optimizer_only=r.optimizer_only,
    )


def eval_mode_training(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The model took `sustain` training steps in a row in `eval()` mode with dropout or
    batch norm in eval mode where it acts on parameters that learn: dropout is off and batch
    norm normalises with its running statistics, which stop updating. A frozen backbone
    kept in eval() under a head in train() is not flagged. Error with batch norm, warning
    with dropout alone."""
    if r.eval_steps < t.sustain or not r.eval_modules:
        return None
    effect = (
        "batch norm neither normalises the batch nor updates its running statistics"
        if r.batchnorm
        else "dropout does not regularise"
    )
    return loop_finding(
        "eval_mode_training",
        "error" if r.batchnorm else "warning",
        f"The model is trained in eval() mode since step {r.eval_since}: its dropout/batch-norm "
        f"layers ({few_names(r.eval_modules)}) behave as at inference, so {effect}.",
        r,
        r.step,
        since_step=r.eval_since,
        steps_in_eval=r.eval_steps,
        modules=r.eval_modules,
    )


def probabilities_as_logits(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The loss's autograd graph applies a loss that expects logits (cross entropy's
    log_softmax, binary cross entropy with logits) or log-probabilities (NLL, CTC, KL
    divergence) directly
    to the output of a softmax or sigmoid (only reshapes or a clamp between, or per-class
    sigmoids joined): the network's outputs are squashed twice, their gradients shrink and
    the loss cannot reach zero. So is a Poisson loss that takes log-rates given rates (an
    exp's or softplus' output): its link applied twice, it fits exp(rate) to the counts."""
    if not r.loss_chain:
        return None
    chain = " <- ".join(r.loss_chain)
    if "(poisson_nll)" in r.loss_chain[0]:
        told = (
            f"The loss is computed on rates: its graph reads {chain}, so PoissonNLLLoss with "
            f"log_input=True (its default), which exponentiates its input as a log-rate, gets "
            f"the output of an exp/softplus; it fits exp(rate) to the counts, and the rates it "
            f"learns are wrong."
        )
    else:
        told = (
            f"The loss is computed on probabilities: its graph reads {chain}, so a loss that "
            f"applies its own softmax/sigmoid (or expects log-probabilities) gets the output "
            f"of one; gradients shrink and training stalls well above the reachable loss."
        )
    return loop_finding(
        "probabilities_as_logits",
        "error",
        told,
        r,
        r.loss_chain_step if r.loss_chain_step is not None else r.step,
        autograd_chain=r.loss_chain,
    )


def _nothing_moves(r: LoopRecord, t: LoopThresholds) -> bool:
    """Whether no parameter has changed since the first look, though the optimizer stepped
    before each of the last `sustain` looks (`_steps_change_nothing`) and they saw real
    gradients (a warm-up from rate 0 moves the weights at its second step; micro-batches of
    an accumulated step are not looks with a step between)."""
    checks = _steps_change_nothing(r, t)
    if not checks or checks[-1].moved is None or checks[-1].moved.any():
        return False
    return all(bool((c.fresh_scale >= t.real_gradient).any()) or _wiped(c) for c in checks)


def _steps_change_nothing(r: LoopRecord, t: LoopThresholds) -> list[LoopCheck]:
    """The last `sustain` checks where the optimizer stepped before each of them (or none
    was given: a loop that updates by hand) and no check ever saw a parameter change; empty
    otherwise."""
    checks = r.checks[-t.sustain :]
    if len(checks) < t.sustain or any(c.optimizer_stepped is False for c in checks):
        return []
    return [] if any(c.stepped for c in r.checks) else checks


def _wiped(c: LoopCheck) -> bool:
    """Whether backward gave every parameter that got one a gradient that `.grad` no longer
    held at doctor.step: zero_grad() (set_to_none, its default) ran in between."""
    return c.wiped is not None and bool(c.wiped.any()) and not c.got_grad.any()


def cleared(c: LoopCheck) -> bool:
    """Whether the backward before check `c` gave gradients that `.grad` no longer held at
    doctor.step, None (`_wiped`) or zeroed in place (zero_grad(set_to_none=False)), while
    the optimizer stepped."""
    if not c.optimizer_stepped:
        return False
    if c.got_grad.any():
        return c.grad_norm == 0 and c.fresh_norm > 0
    return _wiped(c)


LOOP_RULES: tuple[LoopRule, ...] = (
    stale_gradients,
    probabilities_as_logits,
    eval_mode_training,
    frozen_parameters,
    unused_parameters,
)
