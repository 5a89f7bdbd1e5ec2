"""Clipping the loop does itself: the gradients' norm when the optimizer steps, against the
norm the doctor read at `doctor.step`.

A loop that calls `clip_grad_norm_` between `doctor.step` and `optimizer.step` applies less
than the doctor read; advice to clip, and a remedy that clips at the same norm again, change
nothing there. Read at probe steps only: one norm at `doctor.step`, one in a one-shot hook
before the optimizer's step, compared at the next busy step (no sync in between). A loop
that clips before `doctor.step` leaves `.grad` a scaled-down copy of what its backward
brought, which the silent-bug checks see (`LoopCheck.shrunk`): `saw` reads those.
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
        self._hook = None

    def arm(self, optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> None:
        """At a probe's `doctor.step`: read the gradients' norm now and at the step."""
        self.close()
        self._read, self._applied = _total(params), None

        def applied(optimizer, args, kwargs) -> None:
            # the first step after `arm` only; removed by the next `read`, not here: torch
            # iterates the optimizer's hooks as it calls them, and another doctor's may follow
            if self._applied is None:
                self._applied = _total(params)

        self._hook = optimizer.register_step_pre_hook(applied)

    def read(self) -> None:
        """Compare the last armed pair (one host transfer)."""
        if self._read is None or self._applied is None:
            return  # (not stepped yet: micro-batches of an accumulated step)
        self.close()
        read, applied = torch.stack([self._read, self._applied]).tolist()
        self._read = self._applied = None
        self._note(read, applied)

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
        if self._hook is not None:
            self._hook.remove()
            self._hook = None


def _total(params: list[torch.Tensor]) -> torch.Tensor:
    grads = [dense(p.grad.detach()) for p in params if p.grad is not None]
    if not grads:
        return torch.zeros((), device=params[0].device if params else None)
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)).float())


def _power_of_two(factor: float) -> bool:
    exponent = math.log2(factor)
    return abs(exponent - round(exponent)) < AGREE
