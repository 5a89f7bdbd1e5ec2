"""A classifier whose loss starts far above chance's: "verify the loss at init".

A freshly initialised classifier predicts about uniformly, so its cross entropy starts near
ln(classes). One that starts several times higher has outputs blown up before any step.
Where the output layer's weights are measured far above a fresh layer's, they did it: an
`nn.Embedding` tied to it keeps its N(0, 1) draw, which gives logits of std ~sqrt(width).
(A margin softmax starts high by its scale, a pretrained head on new labels by its
training: neither is read here.) Training from
there can still lower the loss and end far below where a sane start gets (a small
transformer on next-token prediction: 0.11 accuracy against 1.0, and no other finding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..findings import Finding
from ._layers import weighted_layers
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding

HIGH_START = 5.0  # the first loss over chance's that only outputs blown up reach
OVERSIZED_OUTPUT = 3.0  # the output layer's weights' RMS over what nn.Linear draws
# ... a hidden layer's: normal_(w) draws 27x, uniform_(w) 16x; He's draw for its fan-in
# is 2.4x, for its fan-out (a ResNet's 1x1 convolutions, 256 -> 64) 4.9x
OVERSIZED_HIDDEN = 8.0
DRAWN = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # hidden layers a redraw may draw


@dataclass(frozen=True)
class InitialLoss:
    """The loss at the doctor's first look, and what sets the outputs' scale."""

    step: int
    loss: float
    chance: float  # a cross entropy's at uniform predictions (ln of its classes)
    output_layer: str | None  # the last layer with a weight matrix, in module order
    output_scale: float | None  # its weights' RMS over nn.Linear's draw for its fan-in
    tied: bool = False  # its weight is an nn.Embedding's too
    # the hidden Linear and Conv layers drawn `OVERSIZED_HIDDEN` times nn.Linear's size or
    # more: each multiplies the signal on its way to the output (normal_(w) everywhere)
    oversized: tuple[str, ...] = ()


def read_initial(model: nn.Module, loss: float, chance: float, step: int) -> InitialLoss:
    """What `high_initial_loss` reads: the loss, chance's, and the output layer's scale
    against the draw of `nn.Linear` (Kaiming uniform, a = sqrt(5): RMS 1 / sqrt(3 fan_in))."""
    layers = weighted_layers(model)
    if not layers:
        return InitialLoss(step, loss, chance, None, None)
    name, weight = layers[-1]
    tied = any(
        isinstance(m, nn.Embedding) and m.weight is weight and n != name
        for n, m in model.named_modules()
    )
    modules = dict(model.named_modules())
    hidden = tuple(  # not an embedding (its own N(0, 1) draw), nor the output's weight
        n
        for n, w in layers[:-1]
        if isinstance(modules.get(n), DRAWN) and w is not weight
        and _scale(w) >= OVERSIZED_HIDDEN
    )  # fmt: skip
    return InitialLoss(step, loss, chance, name, _scale(weight), tied, hidden)


def _scale(weight: torch.Tensor) -> float:
    """A layer's weights' RMS over what nn.Linear draws for its fan-in."""
    with torch.no_grad():
        rms = float(weight.detach().float().pow(2).mean().sqrt())
    return rms * math.sqrt(3 * weight[0].numel())


def high_initial_loss(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The cross entropy at the first look is `HIGH_START` times chance's or more, and the
    output layer's weights `OVERSIZED_OUTPUT` times what nn.Linear draws or more: the
    cause measured. A start that high on weights of a sane size is a loss made so (a
    margin softmax's scale, CosFace's s = 30) or weights trained elsewhere (a pretrained
    head on new labels), not an initialisation to redraw."""
    start = r.initial
    if start is None or not start.loss >= HIGH_START * start.chance:
        return None
    if start.output_scale is None or start.output_scale < OVERSIZED_OUTPUT:
        return None
    tied = " (an nn.Embedding tied to it keeps its N(0, 1) draw)" if start.tied else ""
    small = (
        "nn.init.normal_(weight, std=0.02) for a tied embedding"
        if start.tied
        else "nn.Linear's own initialisation, or He's for ReLU"
    )
    count = len(start.oversized)
    also = (
        f", and those of {count} hidden layer{'s' if count > 1 else ''} "
        f"({few_names(list(start.oversized))}) {OVERSIZED_HIDDEN:.0f}x or more: each "
        f"multiplies the signal on its way"
        if start.oversized
        else ""
    )
    layers = f"{start.output_layer}'s" + (" and those layers'" if start.oversized else "")
    return loop_finding(
        "high_initial_loss",
        "warning",
        f"The loss starts at {start.loss:.3g}, {start.loss / start.chance:.0f}x the "
        f"{start.chance:.3g} of predicting every class alike (ln of the classes): the "
        f"network's outputs are far too large before any step. The output layer "
        f"{start.output_layer}'s weights are {start.output_scale:.0f}x the size nn.Linear "
        f"draws for its inputs{tied}{also}.",
        r,
        start.step,
        fix=f"draw {layers} weights small ({small}), so that the loss starts near "
        f"{start.chance:.3g}",
        loss=start.loss,
        chance_loss=start.chance,
        output_layer=start.output_layer,
        output_scale=start.output_scale,
        oversized_layers=list(start.oversized),
    )
