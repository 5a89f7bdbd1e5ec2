"""Learnable tensors a model holds where `model.parameters()` does not look.

Layers kept in a plain Python list (`self.blocks = [nn.Linear(...), ...]` where
`nn.ModuleList` was meant) or a learnable tensor that is not an `nn.Parameter` still take
part in the forward pass and get gradients, but `model.parameters()` leaves them out: an
optimizer built from it never updates them, `state_dict()` does not save them and `.to()`
does not move them. The reader (`held_outside`) walks each module's own attributes once,
`never_updated` compares them with a first `look`, and the check (`unregistered_parameters`)
reads only the record, like the other loop checks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding

_MODULE_ATTRIBUTES = frozenset(vars(nn.Module()))  # torch's own: _parameters, training, ...
_AT_MOST = 256  # items of one list, tuple or dict looked at (a cache of tensors is no layer)
FIX = (
    "hold layers in nn.ModuleList or nn.ModuleDict (not a Python list or dict) and learnable "
    "tensors as nn.Parameter, then build the optimizer from model.parameters()"
)


def held_outside(model: nn.Module) -> dict[str, list[torch.Tensor]]:
    """By attribute (`encoder.blocks`): the tensors that require gradients held in a plain
    list, tuple or dict, or as a plain tensor, by some module of `model`, and in none of
    `model.parameters()` (a list that only refers to registered layers is no bug)."""
    registered = {id(p) for p in model.parameters()}
    found = {}
    for prefix, module in model.named_modules():
        for attribute, value in vars(module).items():
            if attribute in _MODULE_ATTRIBUTES:
                continue
            tensors = [t for t in _learnable(value) if id(t) not in registered]
            if tensors:
                found[f"{prefix}.{attribute}" if prefix else attribute] = tensors
    return found


def _learnable(value: object, depth: int = 0) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value] if value.requires_grad and value.is_leaf else []
    if isinstance(value, nn.Module):
        return [p for p in value.parameters() if p.requires_grad]
    if depth < 2 and isinstance(value, list | tuple | dict):
        items = list(value.values() if isinstance(value, dict) else value)[:_AT_MOST]
        return [t for item in items for t in _learnable(item, depth + 1)]
    return []


Look = dict[int, tuple[int | None, int, int]]  # per tensor: its gradient, as seen, and values


def look(outside: dict[str, list[torch.Tensor]]) -> Look:
    """What each tensor holds now: which gradient (and how often it was added to) and which
    values (torch counts in-place changes: an optimizer's step is one)."""
    return {
        id(t): (id(t.grad) if t.grad is not None else None, _version(t.grad), t._version)
        for tensors in outside.values()
        for t in tensors
    }


def _version(grad: torch.Tensor | None) -> int:
    return grad._version if grad is not None else -1


def never_updated(outside: dict[str, list[torch.Tensor]], first: Look) -> list[str]:
    """Of `outside`, those into which a backward brought a gradient since the `first` look
    while no tensor of theirs changed: used by the loss, trained by no optimizer. A teacher
    kept in a list on purpose (run under no_grad) gets no gradient, whatever an earlier
    training left in `.grad`; a discriminator another optimizer steps changes."""
    now = look(outside)
    found = []
    for name, tensors in outside.items():
        seen = [(first[id(t)], now[id(t)]) for t in tensors]
        reached = any(b[0] is not None and b[:2] != a[:2] for a, b in seen)
        if reached and all(a[2] == b[2] for a, b in seen):
            found.append(name)
    return found


def unregistered_parameters(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Tensors held outside `model.parameters()` that get gradients but never change
    (`LoopRecord.unregistered`): an optimizer built from the model's parameters was never
    given them, so they keep their initial values."""
    if not r.unregistered:
        return None
    return loop_finding(
        "frozen_parameters",
        "error",
        f"The model holds layers or tensors that get gradients but never change in "
        f"{few_names(r.unregistered)}, a plain Python list, dict or tensor where "
        f"nn.ModuleList, nn.ModuleDict or nn.Parameter would register them: "
        f"model.parameters() leaves them out, so an optimizer built from it never updates "
        f"them (and state_dict() does not save them, nor .to(device) move them).",
        r,
        r.step,
        fix=FIX,
        unregistered=list(r.unregistered),
    )
