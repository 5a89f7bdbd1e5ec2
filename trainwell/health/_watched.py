"""What the loop watch reads in a model and its optimizer: the parameters a gradient is to
train, those the optimizer trains besides the model's, and the modules whose training
mode matters."""

from __future__ import annotations

import torch
from torch import nn

BATCHNORM = nn.modules.batchnorm._BatchNorm
# modules whose training mode matters: dropout (its own modules, or the `dropout` of a
# recurrent layer or of attention) and batch norm
MODE_MODULES = (nn.modules.dropout._DropoutNd, BATCHNORM, nn.RNNBase, nn.MultiheadAttention)


def trained_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """(name, parameter) of those a gradient is to train: requires_grad, and not in an
    averaged copy the model holds (an EMA or SWA `AveragedModel`), whose parameters keep
    requires_grad from the copy, but which an average updates, once averaging starts."""
    averaged = tuple(
        f"{name}."
        for name, module in model.named_modules()
        if name and isinstance(module, torch.optim.swa_utils.AveragedModel)
    )
    return [
        (n, p)
        for n, p in model.named_parameters()
        if p.requires_grad and not n.startswith(averaged)
    ]


def optimized_outside(
    model: nn.Module, optimizer: torch.optim.Optimizer | None
) -> list[tuple[str, torch.Tensor]]:
    """(name, tensor) of what the optimizer trains besides the model (a loss's learnable
    weights, a temperature): the loop's steps apply its gradients as well, so a `zero_grad`
    of the model's alone leaves theirs accumulating."""
    if optimizer is None:
        return []
    own = {id(p) for p in model.parameters()}
    return [
        (f"param_groups[{g}][{i}]", p)
        for g, group in enumerate(optimizer.param_groups)
        for i, p in enumerate(group["params"])
        if p.requires_grad and id(p) not in own
    ]


def mode_matters(module: nn.Module) -> bool:
    """Batch norm that keeps running statistics (without them it normalises by the batch in
    eval mode too: the same computation); dropout of p > 0 (a recurrent layer's acts
    between its layers only)."""
    if not isinstance(module, MODE_MODULES):
        return False
    if isinstance(module, BATCHNORM):
        return module.track_running_stats
    rate = getattr(module, "p", getattr(module, "dropout", 1.0))
    return rate > 0 and getattr(module, "num_layers", 2) > 1


def learning_with(name: str, module: nn.Module, modules: dict[str, nn.Module]) -> list:
    """The parameters whose learning `module`'s mode matters to: its own (a batch norm's
    affine ones), else those of the module that holds it (dropout has none)."""
    own = list(module.parameters(recurse=False))
    return own or list(modules[name.rpartition(".")[0]].parameters())


def time_first_parts(model: nn.Module) -> list[str]:
    """The parts that take their sequences time first: an RNN, a transformer or attention
    layer built without `batch_first=True` (torch's default)."""
    return [name for name, m in model.named_modules() if getattr(m, "batch_first", True) is False]
