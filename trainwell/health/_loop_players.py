"""Another network trained in the same loop: a GAN's other half, a critic beside an actor.

Their losses are players' of a game, not a fit to fixed targets: a discriminator's hovers
near ln 2 by design, an actor's policy loss climbs back towards 0 as its advantages shrink.
Read as a curve training minimises they look like an oscillation or a stall, and a lower
rate for one player alone throws the game out of step (a healthy GAN's mode coverage went
from 0.98 to 0.04 under such a repair): such findings say so and are not treated. The
loop gives the doctor one optimizer; the others are seen through torch's global optimizer
hook, once one of them steps weight matrices outside the doctor's model.
"""

from __future__ import annotations

import weakref

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook
from torch.utils.hooks import RemovableHandle

from ..findings import Finding
from ._graph_walk import tensors_below
from ._other_stale import CarriedGradients
from ._rules import CURVE_CODES
from ._watch import LoopWatch

# units lost in one player: their remedies change its rate or weights alone
UNIT_CODES = ("dying_relu", "saturated_activation")
# optimizer steps another optimizer of the model's own parameters takes while the doctor's
# takes none, before the loop is read as having replaced the doctor's with it
SUCCESSION_STEPS = 8

# The hooks of doctors dropped without `close`, removed when the next one starts: torch
# iterates its hooks while it calls them, and a garbage collection then (which runs the
# finaliser) must not remove one.
_DROPPED: list[RemovableHandle] = []


class OtherPlayers:
    """Watches, through torch's global optimizer hook, the optimizers other than the
    doctor's: which step another network, whether that network plays against the model
    (`against`) or partners it, and whether it clears its gradients (`_other_stale`)."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer | None, watch: LoopWatch
    ) -> None:
        while _DROPPED:
            _DROPPED.pop().remove()
        self.seen: str | None = None  # the other optimizer's class, once one stepped
        self._theirs: set[int] = set()  # ... and its parameters outside the model
        # the doctor's loss runs through those (a generator's through its discriminator, an
        # actor's through its critic: `read_loss`), or theirs through the model (the
        # discriminator's or critic's doctor: `_note`): the two play against each other
        self.against: str | None = None  # "ours" or "theirs": whose loss runs through whom
        self.watch = watch  # the doctor's (`LoopWatch.backward_after_step`)
        self._model, self._optimizer = model, optimizer
        self._checked: set[int] = set()  # optimizers known to step no other network
        self._networks: set[int] = set()  # ... and those known to step one
        # of those, the ones that step the gradients the doctor's loss leaves in their
        # network (a head of its own optimizer on the same loss): no game (`_judge_reached`)
        self._partners: set[int] = set()
        # the other network's weights the doctor's loss reached at a look, with the
        # gradients it left there, till their optimizer steps
        self._reached: list[tuple[torch.Tensor, torch.Tensor, int]] | None = None
        # one of the other network's tensors the doctor's loss reached, watched from a look
        # to that network's next step: are its gradients cleared (`_other_stale`)
        self._carried = CarriedGradients()
        self.carried_by: torch.optim.Optimizer | None = None  # ... its optimizer, once seen
        self._own: dict[int, bool] = {}  # per optimizer: it steps the model's parameters
        self._idle = 0  # such steps by another since the doctor's own last stepped
        self.successor: torch.optim.Optimizer | None = None  # ... once SUCCESSION_STEPS
        ref = weakref.ref(self)

        def stepped(other: torch.optim.Optimizer, args: object, kwargs: object) -> None:
            players = ref()
            if players is not None:
                players._note(other)

        self._handle = register_optimizer_step_post_hook(stepped)
        weakref.finalize(self, _DROPPED.append, self._handle)

    def _note(self, other: torch.optim.Optimizer) -> None:
        """Another optimizer stepped: if it steps another network (`_a_network`) just after
        a backward pass reached the model's weights (since the model's own optimizer
        stepped), that network's loss runs through the model: the two play against each
        other (`against`)."""
        if other is self._optimizer:
            self._idle = 0
            if self._carried.armed:
                self._carried.own_stepped()
            return
        self._succession(other)
        if id(other) in self._checked:
            return
        if id(other) not in self._networks:
            if not self._a_network(other):
                self._checked.add(id(other))
                return
            self._networks.add(id(other))
        if self._reached is not None:
            self._judge_reached(other)
        if self._carried.armed and self._carried.holds(other):
            self._judge_carried(other)
        if self.against is None and self.watch.backward_after_step():
            self.against = "theirs"

    def _a_network(self, other: torch.optim.Optimizer) -> bool:
        """Whether `other` steps another network: two weight matrices or more outside the
        model, or a layer's weight and bias (as the model is now: a head replaced since is
        the model's); not a second optimizer of the model's own parameters (sparse
        embeddings under SparseAdam), nor one of tensors the same loss trains beside it (a
        center loss's class centres, learned loss weights, a temperature). The first such
        is `seen`."""
        mine = {id(p) for p in self._model.parameters()}
        params = [p for group in other.param_groups for p in group["params"] if id(p) not in mine]
        matrices = [p for p in params if p.dim() >= 2]
        # a layer: a weight matrix and a bias of one value per row (a one-Linear critic or
        # discriminator); class centres or a temperature have none
        rows = {p.shape[0] for p in params if p.dim() == 1}
        layer = any(m.shape[0] in rows for m in matrices)
        if len(matrices) < 2 and not layer:
            return False
        # the hook stays till `close`: torch iterates its hooks while it calls them, and
        # one removed then breaks the step
        self.seen = self.seen or type(other).__name__
        self._theirs |= {id(p) for p in params}
        return True

    def read_loss(self, loss: torch.Tensor) -> None:
        """At a look, once another network is seen: whether the loss's graph reaches its
        weights, as a generator's loss runs through the discriminator and an actor's
        through its critic; its optimizer's next step tells which (`_judge_reached`). A
        second network trained on its own task beside the model (an ensemble, a linear
        probe) is not reached."""
        if self.seen is None or self._partners_only():
            return
        if self.against and (self._carried.armed or self.against == "theirs"):
            return
        reached = tensors_below([getattr(loss, "grad_fn", None)])
        theirs = [t for t in reached if id(t) in self._theirs and t.grad is not None]
        if theirs and self.against is None:
            self._reached = [(t, t.grad, t.grad._version) for t in theirs]
        if theirs and not self._carried.armed:
            self._carried.arm(min(theirs, key=torch.Tensor.numel))

    def _judge_carried(self, other: torch.optim.Optimizer) -> None:
        """The other network's optimizer steps: whether what it applies holds gradients
        never cleared since the doctor's loss left its own there (`_other_stale`)."""
        carried = self._carried.judge()
        if carried is None or id(other) in self._partners:
            return
        record = self.watch.record
        record.other_optimizer = type(other).__name__
        if carried:
            record.other_carried += 1
            record.other_carried_step = record.step
            self.carried_by = other
        else:
            record.other_cleared += 1

    def _judge_reached(self, other: torch.optim.Optimizer) -> None:
        """The other network's optimizer steps the gradients the doctor's loss left in its
        weights, untouched since (the same tensor, not added to): a head of its own
        optimizer on the same loss, a partner. Or it steps others, having cleared those for
        its own loss's (a discriminator's): the two play against each other."""
        held = {id(p) for group in other.param_groups for p in group["params"]}
        mine = [(t, grad, version) for t, grad, version in self._reached if id(t) in held]
        if not mine:
            return  # another optimizer's
        self._reached = None
        if any(t.grad is grad and grad._version == version for t, grad, version in mine):
            self._partners.add(id(other))
        elif self.against is None:
            self.against = "ours"

    def _partners_only(self) -> bool:
        """Every other network seen is a partner (`_judge_reached`): none plays against."""
        return bool(self._networks) and self._networks <= self._partners

    def _succession(self, other: torch.optim.Optimizer) -> None:
        """Count the steps of another optimizer of parameters the doctor's holds while the
        doctor's takes none: after SUCCESSION_STEPS, the loop has replaced it (a new
        optimizer built mid-run, to switch to SGD or after unfreezing), and `successor`
        names the one that steps now. Two optimizers of one model that both step (SparseAdam
        beside Adam) reset the count each step; a critic's optimizer stepped five times for
        each of its actor's holds none of the actor's parameters."""
        if self._optimizer is None or self.successor is not None:
            return
        own = self._own.get(id(other))
        if own is None:
            mine = {id(p) for group in self._optimizer.param_groups for p in group["params"]}
            params = (p for group in other.param_groups for p in group["params"])
            own = self._own[id(other)] = any(id(p) in mine for p in params)
        if own:
            self._idle += 1
            if self._idle >= SUCCESSION_STEPS:
                self.successor = other

    def follow(self, optimizer: torch.optim.Optimizer) -> None:
        """The doctor's optimizer is `optimizer` from now on."""
        self._optimizer, self.successor, self._idle = optimizer, None, 0
        self._own.clear()

    def qualify(self, finding: Finding) -> None:
        """A curve finding of a loss that may be one player's: said so, and not treated; and
        units lost in one player, whose remedy (a lower rate for it alone) would throw the
        game out of step (a healthy WGAN-GP critic with dead units, its rate cut, scored
        -7.6 against -0.75, stress 24): told, not treated. A curve finding of a loss whose
        graph runs through the other network's weights (`against`) is a note: that loss
        is a game's, which need not fall (a healthy GAN's generator loss oscillates, stress
        26). Elsewhere its severity stays: a second network trained on its own task in the
        same loop (an ensemble, a probe) looks the same from here, and its findings are
        real, and so are those of a model whose other network is a partner."""
        if self.seen is None or finding.severity == "info" or self._partners_only():
            return
        if finding.code in CURVE_CODES and self.against:
            finding.severity = "info"
            finding.evidence["other_optimizer"] = self.seen
            finding.evidence["against"] = self.against
            through = (
                "This loss runs through the weights of another network, which another "
                f"optimizer ({self.seen}) trains"
                if self.against == "ours"
                else f"Another network's loss, which another optimizer ({self.seen}) steps, "
                "runs through this model's weights"
            )
            finding.message += (
                f" {through}: the two play against each other (a GAN's generator and "
                f"discriminator, an actor and its critic), and one player's loss need not "
                f"fall; repair leaves the rate alone."
            )
            return
        if finding.code in UNIT_CODES:
            finding.evidence["other_optimizer"] = self.seen
            finding.message += (
                f" Another optimizer ({self.seen}) trains another network in this loop: if "
                f"the two play against each other (a GAN, an actor and its critic), a rate "
                f"for this one alone throws the game out of step; repair leaves it alone."
            )
            return
        if finding.code not in CURVE_CODES:
            return
        finding.evidence["other_optimizer"] = self.seen
        finding.message += (
            f" Another optimizer ({self.seen}) trains another network in this loop: if the "
            f"two play against each other (a GAN, an actor and its critic), this loss is one "
            f"player's, which need not fall, and this can be ignored; repair leaves the rate "
            f"alone."
        )

    def close(self) -> None:
        self._handle.remove()
