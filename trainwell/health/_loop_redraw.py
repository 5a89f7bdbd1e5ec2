"""The loop remedies that change the model's own tensors in place, where a rollback cannot
help: biases far below 0 that kill their units from the start, an output layer drawn too
large. In place: the optimizer and the loop keep stepping the same tensors."""

from __future__ import annotations

import torch
from torch import nn

from ._layers import weighted_layers
from ._rebuild import NotApplicable
from ._rule_base import NEGATIVE_BIAS

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # layers whose bias sets a unit's input


def zero_negative_biases(model: nn.Module, optimizer: torch.optim.Optimizer) -> str:
    """Set to 0, in place, the biases of hidden layers whose mean is far below 0
    (`NEGATIVE_BIAS`): their units get no input above 0, are dead from the start, and a
    lower rate cannot bring them back (biases at -5: 0.10 accuracy after it). The weights
    are kept, and the output layer's bias is left to the loss."""
    layers = [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(m, WEIGHTED) and isinstance(m.bias, torch.Tensor)
    ]
    low = [(n, m) for n, m in layers[:-1] if float(m.bias.detach().mean()) < NEGATIVE_BIAS]
    if not low:
        raise NotApplicable("no hidden layer's biases are far below 0")
    with torch.no_grad():
        for _, m in low:
            m.bias.zero_()
            optimizer.state.pop(m.bias, None)  # its momentum pulled it down
    names = ", ".join(n for n, _ in low)
    return f"biases of {len(low)} hidden layers ({names}), far below 0, set to 0 in place"


def oversized_output(
    model: nn.Module, name: str | None, hidden: list[str] | tuple[str, ...] = ()
) -> list[tuple[str, torch.Tensor]]:
    """[(its name, the output layer's weight)] to draw afresh where it is the oversized one
    (`high_initial_loss`'s `output_layer`, as probed), and the weights of the `hidden`
    layers drawn as large (its `oversized_layers`: the output layer alone redrawn, they
    still blew its input up; a loss at 5e4 for 7 epochs, then a rollback to the start and a
    lower rate ended below doing nothing, stress 23): the loss starts near chance's again.
    Found at the first look, before the loop's order is known: wherever doctor.step sits,
    it acts between two steps. This step's gradients came through the oversized outputs:
    the step they would take is skipped (zeroed, not dropped: a gradient scaler's step
    needs them)."""
    layers = dict(weighted_layers(model))
    weight = layers.get(name) if name else None
    if weight is None:
        raise NotApplicable("the oversized weights are not the output layer's alone")
    model.zero_grad(set_to_none=False)
    weights = {id(w): w for w in [*(layers[n] for n in hidden if n in layers), weight]}
    names = {id(p): n for n, p in model.named_parameters()}
    return [(names[i], w) for i, w in weights.items()]  # (a tensor tied to two: once)
