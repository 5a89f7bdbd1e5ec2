"""The remedies a hand-written loop's doctor applies in place (`LoopRepairer.treat`).

Each is `(repairer, params) -> what it changed`, `params` the parameters the loop trains:
none needs the model rebuilt, and each raises `NotApplicable` where it would change
nothing. `LOOP_REMEDIES` names them as `LOOP_ORDERS` does. `withdraw` undoes the rate cuts
and clipping a silent bug found since explains.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..findings import Finding
from ._loop_hooks import skip_nonfinite_steps, zero_after_other_steps
from ._loop_players import _DROPPED
from ._loop_redraw import oversized_output, zero_negative_biases
from ._norm_momentum import default_momentum
from ._optimizer_remedies import damp_momentum, scale_group_rates, scale_schedule, schedulers_of
from ._rebuild import NotApplicable
from ._silent import few_names
from ._symmetry import draw_afresh
from ._watched import optimized_outside

if TYPE_CHECKING:
    from ._loop_repair import LoopRepairer

CLIP = 1.0
DEFAULT_EPS = 1e-8  # Adam's, AdamW's, NAdam's, RAdam's, Adamax's and RMSprop's
HALF_EPS = 1e-4  # an eps float16 keeps (its smallest normal is 6e-5)


def lower_lr(repairer: LoopRepairer, params: list) -> str:
    optimizer = repairer.optimizer
    before = [g["lr"] for g in optimizer.param_groups]
    repairer.rate_cuts[len(repairer.repairs)] = (optimizer, before)  # (its record's index)
    set_lrs(optimizer, [lr / 10 for lr in before])
    schedulers = schedulers_of(optimizer)
    for scheduler in schedulers:
        scale_schedule(scheduler, 0.1)
    kept = f" (and the rates {_names(schedulers)} computes it from)" if schedulers else ""
    return f"learning rate {before[0]:g} -> {before[0] / 10:g}{kept}"


def lower_momentum(repairer: LoopRepairer, params: list) -> str:
    return damp_momentum(repairer.optimizer)


def default_eps(repairer: LoopRepairer, params: list) -> str:
    """Each group's eps back to `DEFAULT_EPS`: one that dwarfs the gradients made every
    step the rate x gradient / eps (`_small_steps.eps_dwarfs`)."""
    return _set_eps(repairer.optimizer, DEFAULT_EPS, lower=True)


def raise_eps(repairer: LoopRepairer, params: list) -> str:
    """Each group's eps up to `HALF_EPS`, where float16 weights round a smaller one to 0 and
    a weight whose gradients are 0 steps by 0 / 0 (`_divergence_rules`)."""
    changed = _set_eps(repairer.optimizer, HALF_EPS, lower=False)
    return f"{changed} (float16 rounds it to 0 no longer)"


def _set_eps(optimizer: torch.optim.Optimizer, eps: float, lower: bool) -> str:
    """Set the eps of the groups whose eps is above `eps` (`lower`) or below it; what
    changed, from the farthest of them."""
    groups = [
        g
        for g in optimizer.param_groups
        if "eps" in g and (g["eps"] > eps if lower else g["eps"] < eps)
    ]
    if not groups:
        raise NotApplicable(
            f"the optimizer's eps is {eps:g} {'or less' if lower else 'or more'} already"
        )
    before = (max if lower else min)(g["eps"] for g in groups)
    for group in groups:
        group["eps"] = eps
    return f"eps {before:g} -> {eps:g}"


def set_lrs(optimizer: torch.optim.Optimizer, lrs: list[float]) -> None:
    """Set each group's rate, and the bases a scheduler computes it from."""
    for group, lr in zip(optimizer.param_groups, lrs, strict=False):
        if group["lr"]:
            scale_group_rates(group, lr / group["lr"])
        group["lr"] = lr


def clip_gradients(repairer: LoopRepairer, params: list, norm: float = CLIP) -> str:
    _check_clip(repairer)
    repairer.clip = norm

    def clip(optimizer, args, kwargs) -> None:
        nn.utils.clip_grad_norm_(params, norm)

    repairer.hooks["clip"] = repairer.optimizer.register_step_pre_hook(clip)
    return f"gradients clipped to norm {norm:.3g} before every optimizer.step()"


def clip_before_step(repairer: LoopRepairer, params: list) -> str:
    """The clip the loop applies after the step, before it: at the loop's own norm."""
    return clip_gradients(repairer, params, repairer.evidence_of("clip_after_step")["max_norm"])


def _check_clip(repairer: LoopRepairer) -> None:
    """Clipping at `CLIP` would change nothing: the doctor clips already, or the loop does
    at that norm or below."""
    if repairer.clip is not None:
        raise NotApplicable("gradients are clipped already")
    if repairer.loop_clip is not None and repairer.loop_clip <= CLIP:
        raise NotApplicable(f"the loop clips at norm {repairer.loop_clip:.3g} already")


def lower_lr_and_clip(repairer: LoopRepairer, params: list) -> str:
    _check_clip(repairer)  # before the rate is lowered: else the next remedy lowers it again
    return f"{lower_lr(repairer, params)}, {clip_gradients(repairer, params)}"


def skip_nonfinite(repairer: LoopRepairer, params: list) -> str:
    """Skip every optimizer step whose gradients are not all finite, as a gradient scaler
    does: the batches whose forward pass makes NaN are left out, and the weights stay where
    the other batches take them."""
    alive = weakref.ref(repairer)  # the optimizer holds the hook: not the doctor too

    def count() -> None:
        if (held := alive()) is not None:
            held.skipped += 1

    repairer.hooks["skip_nonfinite"] = skip_nonfinite_steps(repairer.optimizer, count)
    return "optimizer steps whose gradients are not finite are skipped (a step hook)"


def zero_grad(repairer: LoopRepairer, params: list) -> str:
    """The doctor's optimizer zeroes its gradients after each step; another optimizer that
    steps the model's parameters (SparseAdam over a sparse embedding beside Adam over the
    rest) those of the model it stepped, after its own step."""
    repairer.hooks["zero_grad"] = repairer.optimizer.register_step_post_hook(
        lambda optimizer, args, kwargs: optimizer.zero_grad()
    )
    handle = zero_after_other_steps(repairer.model, repairer.optimizer, repairer.keep_grads)
    repairer.hooks["zero_grad_others"] = handle
    # a doctor dropped without `close`: removed when the next one starts (`_DROPPED`)
    weakref.finalize(repairer, _DROPPED.append, handle)
    return "optimizer.zero_grad() after every optimizer.step() (a step hook)"


def zero_other_grad(repairer: LoopRepairer, params: list) -> str:
    """Another network's optimizer that steps on gradients it did not clear (`_other_stale`):
    its gradients are cleared after each of its steps, and those the doctor's loss leaves
    in that network after the doctor's optimizer stepped: its step applies its own
    loss's gradient only. Its state (momentum, Adam's moments) is dropped: it was made of
    the piled sums, and an Adam's second moment, grown with them, would keep its steps
    small for thousands of steps."""
    other = repairer.carried_by
    if other is None:
        raise NotApplicable("the other network's optimizer is not known")
    theirs = [p for group in other.param_groups for p in group["params"]]

    def clear(*hook_args: object) -> None:
        for p in theirs:
            p.grad = None

    other.state.clear()
    clear()
    repairer.hooks["zero_other_grad"] = other.register_step_post_hook(clear)
    repairer.hooks["zero_other_after_own"] = repairer.optimizer.register_step_post_hook(clear)
    return (
        f"the other network's gradients cleared after each step of its optimizer "
        f"({type(other).__name__}) and of the doctor's (step hooks), its optimizer's state "
        f"dropped"
    )


def train_mode(repairer: LoopRepairer, params: list) -> str:
    repairer.train_mode = True
    repairer.model.train()
    return "model.train() at every doctor.step"


def zero_biases(repairer: LoopRepairer, params: list) -> str:
    changed = zero_negative_biases(repairer.model, repairer.optimizer)
    repairer.keep_healthy()  # a rollback must not bring them back
    return changed


def reinitialise(repairer: LoopRepairer, params: list) -> str:
    """Only the tensors whose units are all alike: a module's frozen weights (LoRA's
    pretrained base) and its bias stay."""
    names = set(repairer.evidence_of("symmetric_units").get("parameters", ()))
    drawn = [(n, p) for n, p in repairer.model.named_parameters() if n in names]
    if not drawn:
        raise NotApplicable("no parameter with units alike is the model's")
    return _drawn(repairer, drawn)


def redraw_output(repairer: LoopRepairer, params: list) -> str:
    evidence = repairer.evidence_of("high_initial_loss")
    hidden = evidence.get("oversized_layers", ())
    drawn = oversized_output(repairer.model, evidence.get("output_layer"), hidden)
    return _drawn(repairer, drawn)


def _drawn(repairer: LoopRepairer, drawn: list[tuple[str, torch.Tensor]]) -> str:
    """Draw these (name, tensor) afresh in place (`draw_afresh`): the same tensors, so the
    optimizer and the loop keep stepping them. Neither a rollback nor the best weights may
    bring them back: those are another network's from now on."""
    draw_afresh([p for _, p in drawn], repairer.optimizer)
    repairer.keep_healthy(fresh_start=True)
    repairer.best.forget()
    return f"{few_names([n for n, _ in drawn])} drawn afresh in place (as nn.Linear draws)"


def add_to_optimizer(repairer: LoopRepairer, params: list) -> str:
    optimizer = repairer.optimizer
    given = {id(p) for group in optimizer.param_groups for p in group["params"]}
    missing = [p for p in params if id(p) not in given]
    if not missing:
        raise NotApplicable("every trainable parameter is in the optimizer")
    if isinstance(optimizer, torch.optim.SparseAdam):  # its step refuses the rest
        raise NotApplicable("a sparse optimizer takes the gradients of sparse layers only")
    # into the first group, not a new one: the parameters follow the loop's schedule, and a
    # scheduler holding one entry per group it was built on (LambdaLR's lambdas, OneCycleLR's
    # max_lr) would fail at its next step on a group it does not know
    optimizer.param_groups[0]["params"].extend(missing)
    repairer.keep_healthy()  # the optimizer's groups changed: keep them matched
    return f"{len(missing)} parameters added to the optimizer's first param group"


def freeze_teacher(repairer: LoopRepairer, params: list) -> str:
    """The teacher's tensors put back as the last healthy state kept them, and frozen
    (`requires_grad=False`): the optimizer skips a tensor that gets no gradient, and the
    teacher's outputs carry none to the loss."""
    names = set(repairer.evidence_of("teacher_trained")["tensors"])
    teacher = [
        t for name, t in optimized_outside(repairer.model, repairer.optimizer) if name in names
    ]
    if not teacher:
        raise NotApplicable("the teacher's tensors are frozen already")
    where = repairer.put_back(teacher)
    for tensor in teacher:
        tensor.requires_grad_(False)
        tensor.grad = None
    return f"the teacher's {len(teacher)} tensors put back as at the {where} and frozen"


def norm_momentum(repairer: LoopRepairer, params: list) -> str:
    found = repairer.evidence_of("batch_norm_momentum")
    return default_momentum(repairer.model, found["modules"])


def _names(objects: list[object]) -> str:
    return ", ".join(type(obj).__name__ for obj in objects)


def withdraw(repairer: LoopRepairer, explained: list[Finding], cause: str, since: int = 0) -> None:
    """The rate cuts and clipping applied for `explained` (findings a silent bug found
    since explains: the loss swung because stale gradients summed up, not because the
    rate was too high), from the `since`-th repair on (those after the last look that
    found no bug: a cut made before the bug began was the rate's), are undone, at the
    next rollback too, and their treatments closed: aimed at a symptom, they only slow
    the cured run (a loop whose zero_grad stopped mid-run lost 10-20 points to them).
    The rates go back to what they were before the first of those cuts, on the
    optimizer it was made on (one the loop has replaced since keeps its own)."""
    codes = {f.code for f in explained}
    withdrawn = [
        (i, r)
        for i, r in enumerate(repairer.repairs)
        if i >= since and r["finding"] in codes and "withdrawn_for" not in r
    ]
    for _, record in withdrawn:
        record["withdrawn_for"] = cause
        repairer.treating.pop(record["finding"], None)
    cuts = [repairer.rate_cuts[i] for i, _ in withdrawn if i in repairer.rate_cuts]
    mine = [before for optimizer, before in cuts if optimizer is repairer.optimizer]
    if mine:
        set_lrs(repairer.optimizer, mine[0])
        for scheduler in schedulers_of(repairer.optimizer):
            scale_schedule(scheduler, 10.0 ** len(mine))
    clipped = ("clip_gradients", "lower_lr_and_clip")
    kept = [r for r in repairer.repairs if r["remedy"] in clipped and "withdrawn_for" not in r]
    if "clip" in repairer.hooks and not kept:
        repairer.hooks.pop("clip").remove()
        repairer.clip = None


LOOP_REMEDIES = {
    f.__name__: f
    for f in (
        lower_lr,
        lower_momentum,
        default_eps,
        raise_eps,
        clip_gradients,
        clip_before_step,
        lower_lr_and_clip,
        skip_nonfinite,
        zero_grad,
        zero_other_grad,
        train_mode,
        zero_biases,
        reinitialise,
        redraw_output,
        add_to_optimizer,
        norm_momentum,
        freeze_teacher,
    )
}
