"""Another network trained in the same loop: a GAN's other half, a critic beside an actor.

Their losses are players' of a game, not a fit to fixed targets: a discriminator's hovers
near ln 2 by design, an actor's policy loss climbs back towards 0 as its advantages shrink.
Read as a curve training minimises they look like an oscillation or a stall, and a lower
rate for one player alone throws the game out of step (a healthy GAN's mode coverage went
from 0.98 to 0.04 under such a repair). The loop gives the doctor one optimizer; the others
are seen through torch's global optimizer hook, once one of them steps parameters outside
the doctor's model.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.hooks import RemovableHandle

from ..findings import Finding
from ._rules import CURVE_CODES

# The hooks of doctors dropped without `close`, removed when the next one starts: torch
# iterates its hooks while it calls them, and a garbage collection then (which runs the
# finaliser) must not remove one.
_DROPPED: list[RemovableHandle] = []


class OtherPlayers:
    """Notes the first optimizer other than the doctor's to step parameters that are not
    its model's; then only returns at once."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        while _DROPPED:
            _DROPPED.pop().remove()
        self.seen: str | None = None  # the other optimizer's class, once one stepped
        self._optimizer = optimizer
        self._mine = {id(p) for p in model.parameters()}
        self._checked: set[int] = set()  # optimizers known to step only the model's
        ref = weakref.ref(self)

        def stepped(other: torch.optim.Optimizer, args: object, kwargs: object) -> None:
            players = ref()
            if players is not None:
                players._note(other)

        self._handle = register_optimizer_step_post_hook(stepped)
        weakref.finalize(self, _DROPPED.append, self._handle)

    def _note(self, other: torch.optim.Optimizer) -> None:
        if other is self._optimizer or id(other) in self._checked or self.seen:
            return
        params = (p for group in other.param_groups for p in group["params"])
        if all(id(p) in self._mine for p in params):
            self._checked.add(id(other))  # a second optimizer of the same model (sparse)
            return
        self.seen = type(other).__name__  # (the hook stays till `close`: torch iterates
        # its hooks while it calls them, and one removed then breaks the step)

    def qualify(self, finding: Finding) -> None:
        """A curve finding of one player's loss is a note, not a problem to treat."""
        if self.seen is None or finding.code not in CURVE_CODES or finding.severity == "info":
            return
        finding.severity = "info"
        finding.evidence["other_optimizer"] = self.seen
        finding.message += (
            f" Noted only: another optimizer ({self.seen}) trains another network's "
            f"parameters in this loop (a GAN's other half, a critic beside an actor), so "
            f"this loss is one player's of a game, whose curve need not fall; repair leaves "
            f"the rate alone."
        )

    def close(self) -> None:
        self._handle.remove()
