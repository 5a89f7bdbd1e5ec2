"""Putting a kept state back into a loop whose model or optimizer changed since it was kept.

A hand-written loop may prune (`torch.nn.utils.prune` renames a layer's `weight` to
`weight_orig` beside a `weight_mask` buffer), add a parametrization (`parametrizations.
weight.original`) or add a group to its optimizer (gradual unfreezing's `add_param_group`)
between the healthy state the doctor keeps and the problem it rolls back from. Loaded as it
was kept, such a state raises in the user's loop; these functions put back what still
fits, and leave the rest as it is now.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

# where torch moves a tensor it wraps: its key in the kept state is the live key without it
_WRAPPED = (
    re.compile(r"^(?P<module>.*?)(?P<name>[^.]+)_orig$"),  # prune: weight -> weight_orig
    re.compile(r"^(?P<module>.*?)parametrizations\.(?P<name>[^.]+)\.original$"),
)


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
