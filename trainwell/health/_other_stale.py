"""Another network's optimizer that steps on gradients it did not clear, seen from the doctor of the
network whose loss runs through it (a generator's doctor, its loss through the
discriminator; an actor's, through its critic). The doctor's backward leaves gradients in
the other network's weights; that network's optimizer must clear them (`zero_grad`)
before its own backward, or its step applies them, and every gradient of earlier steps,
with its own loss's (stress 26: a GAN whose discriminator's `zero_grad` was missing
diverged, told only as a divergence of the generator).

Read on one of the other network's tensors the doctor's loss reached at a look: hooks see
each backward that arrives there, and whether `.grad` was cleared before it (set to None,
or zeroed in place: its version moved); the other optimizer's next step is judged. Its
gradients are carried where a backward arrived after the doctor's own optimizer stepped
on a `.grad` never cleared since the look, with no clear since: a critic trained every
fifth step, cleared before its own backward, is not; nor is a loss of two backward passes
after one clear (real, then fake). One cleared after its own step, before the doctor's
backward, is: the doctor's gradient is still there when its own backward adds to it.
"""

from __future__ import annotations

import torch
from torch.utils.hooks import RemovableHandle

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, loop_finding

JUDGED = 2  # steps of the other optimizer judged carried, at as many looks, before told


class CarriedGradients:
    """Watches one tensor of the other network from a look to its optimizer's next step."""

    def __init__(self) -> None:
        self._tensor: torch.Tensor | None = None
        self._hooks: list[RemovableHandle] = []

    @property
    def armed(self) -> bool:
        return self._tensor is not None

    def arm(self, tensor: torch.Tensor) -> None:
        """At a look: `tensor` holds in `.grad` what the doctor's backward left there."""
        self._tensor, self._grad, self._version = tensor, tensor.grad, tensor.grad._version
        self._holders: dict[int, bool] = {}  # per optimizer stepping since: it holds `tensor`
        self._stepped = False  # the doctor's optimizer stepped since the look
        self._carried: bool | None = None  # a backward came on it since: on an uncleared .grad
        self._hooks = [
            tensor.register_hook(self._arrives),
            tensor.register_post_accumulate_grad_hook(self._kept),
        ]

    def own_stepped(self) -> None:
        self._stepped = True

    def _arrives(self, grad: torch.Tensor) -> None:
        held = self._tensor.grad
        cleared = held is None or held is not self._grad or held._version != self._version
        if self._stepped and self._carried is not False:  # one clear settles it
            self._carried = not cleared

    def _kept(self, tensor: torch.Tensor) -> None:
        self._grad, self._version = tensor.grad, tensor.grad._version

    def holds(self, optimizer: torch.optim.Optimizer) -> bool:
        """Whether `optimizer` steps the watched tensor: read once per optimizer and look
        (this runs in torch's optimizer hook, at every step of every optimizer)."""
        held = self._holders.get(id(optimizer))
        if held is None:
            groups = optimizer.param_groups
            held = any(p is self._tensor for group in groups for p in group["params"])
            self._holders[id(optimizer)] = held
        return held

    def judge(self) -> bool | None:
        """At the other optimizer's step: whether it steps gradients carried (None: no
        backward came after the doctor's step); the watch ends."""
        carried = self._carried
        for handle in self._hooks:
            handle.remove()
        self._hooks, self._tensor = [], None
        return carried


def other_stale_gradients(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The other network's optimizer stepped carried gradients at `JUDGED` looks or more,
    and never cleared ones (the module's docstring)."""
    if r.other_carried < JUDGED or r.other_cleared:
        return None
    return loop_finding(
        "stale_gradients",
        "error",
        f"Another network's optimizer ({r.other_optimizer}) steps on gradients this loss's "
        f"backward left in that network's weights (a discriminator's, a critic's): they "
        f"were still in its .grad when its own backward added to it, at {r.other_carried} "
        f"of its steps. Its zero_grad() is missing, or runs before this loss's backward "
        f"(after its own step) instead of right before its own backward: its steps apply "
        f"this loss's gradient with its own (and, never cleared, every earlier one).",
        r,
        r.other_carried_step,
        fix=f"call that optimizer's zero_grad() right before its own backward, at every step "
        f"(the {r.other_optimizer} optimizer of the other network)",
        network="other",
        carried_by=r.other_optimizer,
        steps_judged=r.other_carried,
    )
