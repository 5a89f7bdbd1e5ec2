"""Clipping the loop does itself: the gradients' norm when the optimizer steps, against the
norm the doctor read at `doctor.step`.

A loop that calls `clip_grad_norm_` between `doctor.step` and `optimizer.step` applies less
than the doctor read; advice to clip, and a remedy that clips at the same norm again, change
nothing there. Read at probe steps only: one norm at `doctor.step`, one in a one-shot hook
before the optimizer's step, compared at the next busy step (no sync in between). A loop
that clips before `doctor.step` leaves `.grad` a scaled-down copy of what its backward
brought, which the silent-bug checks see (`LoopCheck.shrunk`): `saw` reads those.

A loop that clips after `optimizer.step()` clips gradients the step has applied already and
`zero_grad` then throws away: the clip does nothing. The step's hook keeps a reference to
one small gradient tensor (not a copy) and its norm; `zero_grad` drops `.grad` but not the
tensor, which an in-place clip since has scaled down (`after_step`, read by
`_clip_after_step`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._silent import LoopCheck
from ._tensors import dense

CLIPPED = 0.99  # applied below this share of what the doctor read: something scaled it down
# ... this far below (1e-3 where 1.0 was meant) it may be a gradient scaler's unscale_, which
# divides by its scale (a power of two, 2**16 at first, or whatever init_scale says): a clip
# only where two readings of other gradients applied one norm
FAR_BELOW = 100.0
AGREE = 1e-3  # relative: clip_grad_norm_ applies max_norm, to within its 1e-6 epsilon


class LoopClip:
    """The loop's own clipping threshold, once seen (`norm`)."""

    def __init__(self) -> None:
        self.norm: float | None = None
        self.throttle: float | None = None  # how many times the clip scaled them down
        self._far: tuple[float, float] | None = None  # (read, applied) FAR_BELOW it, once
        self._read: torch.Tensor | None = None  # the total norm at doctor.step
        self._applied: torch.Tensor | None = None  # ... and when the optimizer stepped
        # after the step: one gradient tensor as the step applied it, and its norm then
        self._held: tuple[torch.Tensor, torch.Tensor] | None = None
        self._params: list[torch.Tensor] = []
        self._armed_at = 0
        # per reading: (step, norm the step applied, norm a clip after the step scaled it
        # to; NaN where nothing scaled it)
        self.after_step: list[tuple[int, float, float]] = []
        self._hooks: list = []

    def arm(self, optimizer: torch.optim.Optimizer, params: list[torch.Tensor], step: int) -> None:
        """At a probe's `doctor.step`: read the gradients' norm now and at the step, and
        keep one gradient tensor as the step leaves it."""
        self.close()
        self._read, self._applied, self._held = _total(params), None, None
        self._params, self._armed_at = params, step

        # the first step after `arm` only; removed by the next `read`, not here: torch
        # iterates the optimizer's hooks as it calls them, and another doctor's may follow
        def applied(optimizer, args, kwargs) -> None:
            if self._applied is None:
                self._applied = _total(params)

        def stepped(optimizer, args, kwargs) -> None:
            if self._held is None:
                self._held = _smallest(params)

        self._hooks = [
            optimizer.register_step_pre_hook(applied),
            optimizer.register_step_post_hook(stepped),
        ]

    def read(self) -> bool:
        """Compare the last armed readings (one host transfer). Returns whether they saw a
        clip after the step (for the checks to run)."""
        if self._read is None or self._applied is None:
            return False  # (not stepped yet: micro-batches of an accumulated step)
        self.close()
        held, self._held = self._held, None
        # a tensor `.grad` holds again (zero_grad(set_to_none=False), no zero_grad) holds
        # the gradients of steps since: it says nothing of what happened after the step
        if held is not None and any(p.grad is held[0] for p in self._params):
            held = None
        readings = [self._read, self._applied]
        if held is not None:
            readings += [held[1], torch.linalg.vector_norm(held[0].float())]
        read, applied, *kept = torch.stack(readings).tolist()
        self._read = self._applied = None
        self._note(read, applied)
        return bool(kept) and self._note_after_step(applied, *kept)

    def _note_after_step(self, applied: float, then: float, now: float) -> bool:
        """A gradient the step applied, scaled down since by a factor that is no power of
        two (a gradient scaler's): clipped after the step, to the norm `applied / factor`;
        else NaN (zeroed in place by zero_grad is no clip). Returns whether it was."""
        clipped = math.isfinite(applied) and 0 < now < CLIPPED * then
        factor = then / now if clipped else math.nan
        to = applied / factor if clipped and not _power_of_two(factor) else math.nan
        self.after_step.append((self._armed_at, applied, to))
        return math.isfinite(to)

    def saw(self, check: LoopCheck) -> None:
        """A silent-bug check: `.grad` at doctor.step against what the backward brought,
        every parameter the step applied scaled down alike (clipped before doctor.step);
        a gradient too small to move its parameter (scaled 1e-3) is not read."""
        moving = check.got_grad & np.isfinite(check.carried_shares)
        scaled = check.shrunk is not None and bool(check.shrunk[moving].all())
        if moving.any() and scaled:  # (a scaler's unscale_ before it: a power of two)
            self._note(check.fresh_norm, check.grad_norm, confirm=False)

    def _note(self, brought: float, applied: float, confirm: bool = True) -> None:
        """The norm the loop clips at: the applied norm of the last reading that saw the
        gradients scaled down (one that did not says nothing: a clip leaves gradients below
        its norm alone, and each reading sees one placement). Scaled down alike, every
        parameter, with nothing else in between: no noise to wait out. A clip far below
        the gradients' norm (1e-3 for 1.0) scales them down thousands of times, as a
        gradient scaler's unscale_ does inside `scaler.step`: taken for a clip where the
        factor is no power of two and, read at the optimizer's step (`confirm`), two
        readings of other gradients applied the same norm (a scaler's applied norm follows
        the gradients')."""
        if not (math.isfinite(brought) and 0 < applied < CLIPPED * brought):
            return  # (an infinite gradient made finite in between: no clip to read)
        factor = brought / applied
        if _power_of_two(factor):
            return  # (a clip that scaled by one by chance is read at its next reading)
        if confirm and factor >= FAR_BELOW:
            far, self._far = self._far, (brought, applied)
            other = far is not None and not math.isclose(far[0], brought, rel_tol=AGREE)
            if not (other and math.isclose(far[1], applied, rel_tol=AGREE)):
                return
        self.norm, self.throttle = applied, factor

    def close(self) -> None:
        for hook in self._hooks:
            hook.remove()
        self._hooks = []


def _total(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [dense(p.grad.detach()) for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device if params else None)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)).float())


def _smallest(params: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The smallest dense gradient and its norm (on its device): a clip scales every
    gradient alike, so one tells, and a reference to a small one keeps little alive."""
    grads = [p.grad for p in params if p.grad is not None and not p.grad.is_sparse]
    if not grads:
        return None
    grad = min(grads, key=torch.Tensor.numel)
    return grad, torch.linalg.vector_norm(grad.detach().float())


def _power_of_two(factor: float) -> bool:
    exponent = math.log2(factor)
    return abs(exponent - round(exponent)) < AGREE
