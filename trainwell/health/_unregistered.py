"""Learnable tensors a model holds where `model.parameters()` does not look.

Layers kept in a plain Python list (`self.blocks = [nn.Linear(...), ...]` where
`nn.ModuleList` was meant) or a learnable tensor that is not an `nn.Parameter` still take
part in the forward pass and get gradients, but `model.parameters()` leaves them out: an
optimizer built from it never updates them, `state_dict()` does not save them and `.to()`
does not move them. The reader (`held_outside`) walks each module's own attributes once;
the check (`unregistered_parameters`) reads only the record, like the other loop checks.
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


def in_use(
    outside: dict[str, list[torch.Tensor]], optimizer: torch.optim.Optimizer | None
) -> dict[str, bool]:
    """Of `outside`, those a backward reached (a gradient is there: a frozen teacher kept in
    a list on purpose, run under no_grad, gets none), each with whether the optimizer was
    given all its tensors anyway (None: it is not known)."""
    given = (
        None
        if optimizer is None
        else {id(p) for group in optimizer.param_groups for p in group["params"]}
    )
    return {
        name: given is not None and all(id(t) in given for t in tensors)
        for name, tensors in outside.items()
        if any(t.grad is not None for t in tensors)
    }


def unregistered_parameters(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Tensors that got gradients but are held outside `model.parameters()`
    (`LoopRecord.unregistered`): an error where the optimizer was not given them (they never
    learn), a warning where it was (they learn, but are not saved nor moved)."""
    if not r.unregistered:
        return None
    names = list(r.unregistered)
    untrained = [name for name, given in r.unregistered.items() if not given]
    effect = (
        "an optimizer built from it never updates them"
        if untrained
        else "the optimizer updates them, but state_dict() does not save them"
    )
    return loop_finding(
        "frozen_parameters",
        "error" if untrained else "warning",
        f"The model holds layers or tensors that get gradients in {few_names(names)}, a plain "
        f"Python list, dict or tensor where nn.ModuleList, nn.ModuleDict or nn.Parameter would "
        f"register them: model.parameters() leaves them out, so {effect}, and .to(device) "
        f"does not move them.",
        r,
        r.step,
        fix=FIX,
        unregistered=names,
        never_updated=untrained,
    )
