"""Find where a forward pass first goes non-finite, by replaying one batch with hooks.

Only called after the loss has gone bad, so healthy steps pay nothing for it.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def first_nonfinite_layer(model: nn.Module, x: torch.Tensor) -> str | None:
    """The name of the first module (in execution order) whose output is not finite.

    "input" if the batch itself holds NaN or inf; None if the whole pass is finite.
    """
    if not torch.isfinite(x).all():
        return "input"
    found: list[str] = []
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):  # leaves only: they do the arithmetic
            handles.append(module.register_forward_hook(_check(name, found)))
    was_training = model.training
    model.eval()  # no dropout noise, no batch-norm statistics updated by the replay
    try:
        model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return found[0] if found else None


def _check(name: str, found: list[str]):
    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if not found and isinstance(output, torch.Tensor) and not torch.isfinite(output).all():
            found.append(name)

    return hook
