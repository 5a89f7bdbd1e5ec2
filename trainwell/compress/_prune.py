"""Structured pruning: remove whole hidden units and conv channels, leaving a smaller dense
network of the same architecture (fewer parameters, a smaller file, less compute).

`torch.nn.utils.prune` only masks weights: the file and the latency stay the same
(pytorch #58846). Here the kept rows and columns are copied into a network built from
the config with the new widths, so the result is an ordinary trainwell model.

Importance of unit j (a hidden unit, or a channel of a conv block), measured on training
rows: the average magnitude of what j sends into the next layer,

    score_j = mean |a_j| · ‖W_next[:, j]‖₂

where a_j is j's output as the next weighted layer receives it (after activation, batch
norm and pooling; for a channel, the mean over its positions) and W_next[:, j] the weights
that read it (for a channel, all kernel taps or flattened positions). A unit that never
fires (a dead ReLU) or whose output nothing reads scores 0 and goes first; removing units
that score exactly 0 leaves the network's outputs unchanged. This is the activation-times-
weight criterion of Molchanov et al. (2017, 2019), a first-order estimate of the change in
the next layer's input when j is removed; the L1 norm of a filter's own weights (Li et al.
2017) ignores both the data and the consumer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from ..config import Model
from ..models import build_model

_WEIGHTED = (nn.Linear, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@dataclass
class Pruned:
    """A pruned network, its model section, and which units each pruned layer kept."""

    model: nn.Module
    spec: Model
    kept: dict[str, list[int]]  # layer name (net.i) -> indices of the kept units
    widths: dict[str, tuple[int, int]]  # layer name -> (units before, units after)


def importance(model: nn.Module, X: torch.Tensor, batch_size: int = 512) -> dict[int, torch.Tensor]:
    """Score of every prunable unit (module docstring), keyed by its layer's index in `net`.

    The prunable layers are every Linear and Conv2d but the last (the output layer).
    """
    layers = list(model.net)
    weighted = [i for i, layer in enumerate(layers) if isinstance(layer, _WEIGHTED)]
    consumers = dict(itertools.pairwise(weighted))
    sums = {i: torch.zeros(_units(layers[i])) for i in consumers}
    hooks = []
    for producer, consumer in consumers.items():

        def record(module, inputs, producer=producer):
            x = inputs[0].detach().abs()
            units = sums[producer].numel()
            per_unit = x.reshape(x.shape[0], units, -1).mean(2)  # channels: mean over positions
            sums[producer] += per_unit.sum(0).float().cpu()

        hooks.append(layers[consumer].register_forward_pre_hook(record))
    model.eval()
    try:
        with torch.no_grad():
            for batch in X.split(batch_size):
                model(batch)
    finally:
        for hook in hooks:
            hook.remove()
    scores = {}
    for producer, consumer in consumers.items():
        units = sums[producer].numel()
        weight = layers[consumer].weight.detach().float().cpu()
        # columns (Linear) or input channels (Conv2d) grouped by the unit they read
        reads = weight.transpose(0, 1).reshape(units, -1)
        scores[producer] = sums[producer] / len(X) * reads.norm(dim=1)
    return scores


def prune_network(
    model: nn.Module,
    spec: Model,
    input_shape: list[int],
    n_outputs: int,
    X: torch.Tensor,
    fraction: float,
    *,
    regression: bool = False,
) -> Pruned:
    """Remove `fraction` of the units of every hidden layer (at least one unit stays),
    those of lowest `importance` on the rows `X` (standardised, as the model takes them)."""
    scores = importance(model, X)
    keep = {}
    for index, score in scores.items():
        count = max(1, round(len(score) * (1 - fraction)))
        keep[index] = torch.sort(torch.topk(score, count).indices).values
    layers = list(model.net)
    hidden = [len(keep[i]) for i in keep if isinstance(layers[i], nn.Linear)]
    channels = [len(keep[i]) for i in keep if isinstance(layers[i], nn.Conv2d)]
    new_spec = spec.model_copy(
        update={"hidden": hidden, "channels": channels if spec.arch == "cnn" else spec.channels}
    )
    state = _sliced_state(model, keep, input_shape)
    smaller = build_model(new_spec, input_shape, n_outputs, regression=regression)
    smaller.load_state_dict(state)  # strict: the slices are exactly the config's network
    smaller.eval()
    return Pruned(
        smaller,
        new_spec,
        {f"net.{i}": k.tolist() for i, k in keep.items()},
        {f"net.{i}": (_units(layers[i]), len(k)) for i, k in keep.items()},
    )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _units(layer: nn.Module) -> int:
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def _sliced_state(
    model: nn.Module, keep: dict[int, torch.Tensor], input_shape: list[int]
) -> dict[str, torch.Tensor]:
    """The state dict with pruned rows (outputs) and columns (inputs) removed, layer by layer,
    following which of its input features each layer still receives."""
    layers = list(model.net)
    shapes = _input_shapes(model, input_shape)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    features: torch.Tensor | None = None  # the kept inputs of the current layer; None: all
    for i, layer in enumerate(layers):
        prefix = f"net.{i}."
        if isinstance(layer, _WEIGHTED):
            out = keep.get(i)
            weight = state[prefix + "weight"]
            if features is not None:
                weight = weight[:, features]
            if out is not None:
                weight = weight[out]
                if layer.bias is not None:
                    state[prefix + "bias"] = state[prefix + "bias"][out]
            state[prefix + "weight"] = weight
            features = out
        elif isinstance(layer, _NORMS) and features is not None:
            for name in ("weight", "bias", "running_mean", "running_var"):
                if prefix + name in state:
                    state[prefix + name] = state[prefix + name][features]
        elif isinstance(layer, nn.Flatten) and features is not None and len(shapes[i]) == 4:
            positions = shapes[i][2] * shapes[i][3]  # a channel becomes that many columns
            features = (features[:, None] * positions + torch.arange(positions)).reshape(-1)
    return state


def _input_shapes(model: nn.Module, input_shape: list[int]) -> list[tuple[int, ...]]:
    """The shape each layer of `net` receives for one row."""
    shapes: list[tuple[int, ...]] = []
    hooks = [
        layer.register_forward_pre_hook(lambda m, inputs: shapes.append(tuple(inputs[0].shape)))
        for layer in model.net
    ]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes
