"""The states a hand-written loop's repair keeps (`Kept`), and putting one back into a loop
whose model or optimizer changed since it was kept.

A hand-written loop may prune (`torch.nn.utils.prune` renames a layer's `weight` to
`weight_orig` beside a `weight_mask` buffer), add a parametrization (`parametrizations.
weight.original`) or add a group to its optimizer (gradual unfreezing's `add_param_group`)
between the healthy state the doctor keeps and the problem it rolls back from. Loaded as it
was kept, such a state raises in the user's loop; these functions put back what still
fits, and leave the rest as it is now.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ._watched import optimized_outside

# where torch moves a tensor it wraps: its key in the kept state is the live key without it
_WRAPPED = (
    re.compile(r"^(?P<module>.*?)(?P<name>[^.]+)_orig$"),  # prune: weight -> weight_orig
    re.compile(r"^(?P<module>.*?)parametrizations\.(?P<name>[^.]+)\.original$"),
)


@dataclass
class Kept:
    """A state a loop's repair can roll back to: the model's and the optimizer's state
    dicts, a copy of each tensor the optimizer trains besides the model (a teacher it was
    handed by mistake, a loss's learnable weights: their moments would otherwise go back
    without them), and where in the run it was kept, as a rollback names it ("end of epoch
    3"; "start": before the first step, or weights drawn afresh), and the epochs the loop
    had trained when it was kept (what a rollback to it takes back)."""

    model: dict[str, Any]
    optimizer: dict[str, Any]
    outside: list[tuple[torch.Tensor, torch.Tensor]]
    where: str = "start"
    epochs: int = 0


def keep(
    model: nn.Module, optimizer: torch.optim.Optimizer, where: str = "start", epochs: int = 0
) -> Kept:
    """The loop's state now, kept as `where`, after `epochs` epochs of training."""
    state = copy.deepcopy({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    outside = copies_outside(model, optimizer)
    return Kept(state["model"], state["optimizer"], outside, where, epochs)


def copies_outside(
    model: nn.Module, optimizer: torch.optim.Optimizer
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(live tensor, a copy of it now) for each tensor the optimizer trains besides the
    model."""
    return [(p, p.detach().clone()) for _, p in optimized_outside(model, optimizer)]


def roll_back(model: nn.Module, optimizer: torch.optim.Optimizer, kept: Kept) -> list[str]:
    """Put `kept` back into the live model, the tensors trained besides it and the
    optimizer; returns the model's live entries not put back (`put_back_model`)."""
    left = put_back_model(model, kept.model)
    put_back_tensors(kept.outside)
    # a copy: the optimizer steps the state tensors it is given in place
    put_back_optimizer(optimizer, copy.deepcopy(kept.optimizer))
    return left


def put_back_tensors(kept: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Copy each kept tensor back into its live one (one whose shape changed since stays)."""
    with torch.no_grad():
        for live, old in kept:
            if live.shape == old.shape:
                live.copy_(old)


def put_back_model(model: nn.Module, kept: dict[str, Any]) -> list[str]:
    """Load `kept` (a state dict of `model` taken earlier) into `model` as it is now: each
    live entry from the kept one of its name, of the tensor it wraps since, or (pruned then,
    `prune.remove`d since) the kept weight times its mask; what the model gained since (a
    pruning mask, a new adapter) or changed the shape of stays as it is. Returns the live
    entries not put back."""
    live = model.state_dict()
    state, left = {}, []
    for key, value in live.items():
        old = kept.get(key)
        if old is None:
            old = kept.get(_unwrapped(key))
        if old is None and f"{key}_orig" in kept and f"{key}_mask" in kept:
            old = kept[f"{key}_orig"] * kept[f"{key}_mask"]  # pruned then, made permanent since
        if isinstance(value, torch.Tensor) and (
            not isinstance(old, torch.Tensor) or old.shape != value.shape
        ):
            state[key] = value
            left.append(key)
        else:
            state[key] = value if old is None else old
    model.load_state_dict(state)
    return left


def _unwrapped(key: str) -> str:
    for pattern in _WRAPPED:
        match = pattern.match(key)
        if match:
            return match["module"] + match["name"]
    return key


def put_back_optimizer(optimizer: torch.optim.Optimizer, kept: dict[str, Any]) -> bool:
    """Load `kept` (a state dict of `optimizer` taken earlier) where its groups still hold
    as many parameters each; else clear the optimizer's state (momenta, Adam's moments),
    which belongs to where the run went since. Either way the groups keep their settings as
    they are now: the rate the loop or its schedule set since (a range test's sweep ended,
    then training's rate), a remedy's lower rate or momentum, a group added since. A
    rollback puts back where the weights were, not the rates they were reached at. Returns
    whether `kept` was loaded."""
    groups = optimizer.param_groups
    fits = len(kept["param_groups"]) == len(groups) and all(
        len(k["params"]) == len(g["params"])
        for k, g in zip(kept["param_groups"], groups, strict=True)
    )
    if not fits:
        optimizer.state.clear()
        return False
    settings = [{k: v for k, v in group.items() if k != "params"} for group in groups]
    optimizer.load_state_dict(kept)
    for group, now in zip(optimizer.param_groups, settings, strict=True):
        group.update(now)
    return True
