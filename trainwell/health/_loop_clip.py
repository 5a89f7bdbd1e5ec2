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

from ._probes import dense
from ._silent import LoopCheck

CLIPPED = 0.99  # applied below this share of what the doctor read: something scaled it down
# ... but not by a power of two to within this (log2): a gradient scaler's unscale_ divides
# by its scale, 2**16 at first, not a clip
POWER_OF_TWO = 1e-3


class LoopClip:
    """The loop's own clipping threshold, once seen (`norm`)."""

    def __init__(self) -> None:
        self.norm: float | None = None
        self.throttle: float | None = None  # how many times the clip scaled them down
        self._read: torch.Tensor | None = None  # the total norm at doctor.step
        self._applied: torch.Tensor | None = None  # ... and when the optimizer stepped
        self._hook = None

    def arm(self, optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> None:
        """At a probe's `doctor.step`: read the gradients' norm now and at the step."""
        self.close()
        self._read, self._applied = _total(params), None

        def applied(optimizer, args, kwargs) -> None:
            self._applied = _total(params)
            self.close()

        self._hook = optimizer.register_step_pre_hook(applied)

    def read(self) -> None:
        """Compare the last armed pair (one host transfer)."""
        if self._read is None or self._applied is None:
            return
        read, applied = torch.stack([self._read, self._applied]).tolist()
        self._read = self._applied = None
        self._note(read, applied)

    def saw(self, check: LoopCheck) -> None:
        """A silent-bug check: `.grad` at doctor.step against what the backward brought,
        every parameter the step applied scaled down alike (clipped before doctor.step);
        a gradient too small to move its parameter (scaled 1e-3) is not read."""
        moving = check.got_grad & np.isfinite(check.carried_shares)
        scaled = check.shrunk is not None and bool(check.shrunk[moving].all())
        if moving.any() and scaled:
            self._note(check.fresh_norm, check.grad_norm)

    def _note(self, brought: float, applied: float) -> None:
        """The norm the loop clips at: the applied norm of the last reading that saw the
        gradients scaled down (one that did not says nothing: a clip leaves gradients below
        its norm alone, and each reading sees one placement). Scaled down alike, every
        parameter, with nothing else in between: no noise to wait out. A clip far below
        the gradients' norm (1e-3 for 1.0) scales them down thousands of times: told from
        a scaler's unscale_ by the factor, which for a scaler is a power of two."""
        if 0 < applied < CLIPPED * brought and not _power_of_two(brought / applied):
            self.norm, self.throttle = applied, brought / applied

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
    return exponent >= 1 and abs(exponent - round(exponent)) < POWER_OF_TWO
