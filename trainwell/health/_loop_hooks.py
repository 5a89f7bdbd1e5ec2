"""Optimizer hooks the loop doctor's repairs place: a step skipped where its gradients are
not finite, and gradients another optimizer leaves on the model zeroed after its step."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.hooks import RemovableHandle


def skip_nonfinite_steps(
    optimizer: torch.optim.Optimizer, skipped: Callable[[], None]
) -> RemovableHandle:
    """Before each of `optimizer`'s steps: where a gradient holds a value not finite, drop
    them all (the step then changes nothing) and call `skipped`."""

    def skip(optimizer, args, kwargs) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"]]
        if not all_finite([g for g in grads if g is not None]):
            skipped()
            optimizer.zero_grad(set_to_none=True)  # nothing to step

    return optimizer.register_step_pre_hook(skip)


def zero_after_other_steps(
    model: nn.Module, optimizer: torch.optim.Optimizer, keep: bool
) -> RemovableHandle:
    """After any optimizer's step but `optimizer`'s, the gradients of `model`'s parameters
    it stepped zeroed (`keep`: in place, for a gradient scaler; else dropped). Through
    torch's global hook: the loop hands the doctor one optimizer. Weak references: a model
    freed leaves a hook that does nothing (its parameters' ids may be another's)."""
    mine = {id(p) for p in model.parameters()}
    own, watched = weakref.ref(optimizer), weakref.ref(model)

    def zero_the_models(stepped, args, kwargs) -> None:
        if stepped is own() or watched() is None:
            return
        for group in stepped.param_groups:
            for p in group["params"]:
                if id(p) in mine and p.grad is not None:
                    clear_grad(p, keep and not p.grad.is_sparse)

    return register_optimizer_step_post_hook(zero_the_models)


def clear_grad(p: torch.Tensor, keep: bool) -> None:
    """Take away a parameter's gradient: zeroed in place with `keep` (a gradient scaler's
    `unscale_` and `step` need gradients to exist), else dropped."""
    if keep and p.grad is not None:
        p.grad.zero_()
    else:
        p.grad = None


def all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every value of `tensors` is finite: one device sync for all of them."""
    return not tensors or bool(torch.stack([_finite(t) for t in tensors]).all())


def _finite(grad: torch.Tensor) -> torch.Tensor:
    """Whether every value of a gradient is finite, on its device (a norm of float16 values
    overflows where each is finite; a sparse one's stored values only)."""
    return torch.isfinite(grad.coalesce().values() if grad.is_sparse else grad).all()
