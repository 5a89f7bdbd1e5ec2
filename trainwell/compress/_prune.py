"""Structured pruning: remove whole hidden units and conv channels, leaving a smaller dense
network of the same architecture (fewer parameters, a smaller file, less compute).

`torch.nn.utils.prune` only masks weights: the file and the latency stay the same
(pytorch #58846). Here the kept rows and columns are copied into a network built from
the config with the new widths, so the result is an ordinary trainwell model.

Importance of unit j (a hidden unit, or a channel of a conv block), measured on training
rows: how much the next layer's input varies because of j,

    score_j = std(a_j) · ‖W_next[:, j]‖₂

where a_j is j's output as the next weighted layer receives it (after activation, batch
norm and pooling; for a channel, over rows and positions) and W_next[:, j] the weights that
read it (for a channel, all its kernel taps or flattened positions). The mean of a removed
unit is not lost: its contribution E[a_j] · W_next[:, j] is folded into the next layer's
bias, so only the spread is, and the expected squared change of the next layer's input is
about score_j². A dead unit, a constant one, or one nothing reads scores 0 and goes first,
without changing the outputs. Like ThiNet (Luo et al. 2017) it judges a unit by what its
removal does to the next layer's input, one unit at a time (correlations between units are
ignored); the L1 norm of a filter's own weights (Li et al. 2017) ignores both the data and
the consumer. `benchmarks/compress.py` compares them, with and without the compensation.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..config import Model
from ..models import build_model
from ..train import clone_state

_WEIGHTED = (nn.Linear, nn.Conv2d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@dataclass
class Pruned:
    """A pruned network, its model section, and which units each pruned layer kept."""

    model: nn.Module
    spec: Model
    kept: dict[str, list[int]]  # layer name (net.i) -> indices of the kept units
    widths: dict[str, tuple[int, int]]  # layer name -> (units before, units after)


@dataclass
class _Statistics:
    scores: dict[int, torch.Tensor]  # producer index -> score per unit
    means: dict[int, torch.Tensor]  # consumer index -> mean of each of its input features


def importance(model: nn.Module, X: torch.Tensor) -> dict[int, torch.Tensor]:
    """Score of every prunable unit (module docstring), keyed by its layer's index in `net`.

    The prunable layers are every Linear and Conv2d but the last (the output layer).
    """
    return _statistics(model, X).scores


def _statistics(model: nn.Module, X: torch.Tensor, batch_size: int = 512) -> _Statistics:
    """One pass over `X`: per unit, the sum and sum of squares of what the next layer
    receives from it; per input feature of each consumer, its sum (for the bias)."""
    layers = list(model.net)
    weighted = [i for i, layer in enumerate(layers) if isinstance(layer, _WEIGHTED)]
    consumers = dict(itertools.pairwise(weighted))
    totals: dict[int, list[Any]] = {c: [0.0, 0.0, 0, 0.0, 0] for c in consumers.values()}
    hooks = []
    for producer, consumer in consumers.items():
        units = _units(layers[producer])

        def record(module, inputs, consumer=consumer, units=units):
            x = inputs[0].detach().double().cpu()
            per_unit = x.transpose(0, 1).reshape(units, -1)  # channels: rows x positions
            features = x.sum(0) if x.dim() == 2 else x.sum((0, 2, 3))
            t = totals[consumer]
            t[0], t[1], t[2] = (
                t[0] + per_unit.sum(1),
                t[1] + (per_unit**2).sum(1),
                t[2] + per_unit.shape[1],
            )
            t[3], t[4] = t[3] + features, t[4] + x.numel() // features.numel()

        hooks.append(layers[consumer].register_forward_pre_hook(record))
    model.eval()
    try:
        with torch.no_grad():
            for batch in X.split(batch_size):
                model(batch)
    finally:
        for hook in hooks:
            hook.remove()
    scores, means = {}, {}
    for producer, consumer in consumers.items():
        total, squares, count, features, feature_count = totals[consumer]
        variance = (squares / count - (total / count) ** 2).clamp(min=0)
        weight = layers[consumer].weight.detach().double().cpu()
        # columns (Linear) or input channels (Conv2d) grouped by the unit they read
        reads = weight.transpose(0, 1).reshape(_units(layers[producer]), -1)
        scores[producer] = (variance.sqrt() * reads.norm(dim=1)).float()
        means[consumer] = features / feature_count
    return _Statistics(scores, means)


def prune_network(
    model: nn.Module,
    spec: Model,
    input_shape: list[int],
    n_outputs: int,
    X: torch.Tensor,
    fraction: float,
    *,
    regression: bool = False,
    scores: dict[int, torch.Tensor] | None = None,
    compensate: bool = True,
) -> Pruned:
    """Remove `fraction` of the units of every hidden layer (at least one unit stays),
    those of lowest `importance` on the rows `X` (standardised, as the model takes them);
    or of lowest `scores` (per layer index, as `importance` returns), to compare criteria.
    `compensate=False` drops the removed units' means instead of moving them into the bias
    (to measure what the compensation is worth)."""
    stats = _statistics(model, X)
    scores = stats.scores if scores is None else scores
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
    means = stats.means if compensate else {}
    state = _sliced_state(model, keep, input_shape, means)
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
    model: nn.Module,
    keep: dict[int, torch.Tensor],
    input_shape: list[int],
    means: dict[int, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The state dict with pruned rows (outputs) and columns (inputs) removed, layer by layer,
    following which of its input features each layer still receives; what the removed
    inputs sent on average moves into the bias."""
    layers = list(model.net)
    shapes = _input_shapes(model, input_shape)
    state = clone_state(model)
    features: torch.Tensor | None = None  # the kept inputs of the current layer; None: all
    for i, layer in enumerate(layers):
        prefix = f"net.{i}."
        if isinstance(layer, _WEIGHTED):
            out = keep.get(i)
            weight = state[prefix + "weight"]
            if features is not None:
                if layer.bias is not None and i in means:
                    state[prefix + "bias"] = state[prefix + "bias"] + _lost(
                        weight, features, means[i]
                    )
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


def _lost(weight: torch.Tensor, kept: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    """What the removed input features contributed to each output on average: their mean
    times the weights that read them (for a conv, summed over the kernel; exact away from
    the zero padding at the borders)."""
    removed = torch.ones(weight.shape[1], dtype=torch.bool)
    removed[kept] = False
    reads = weight[:, removed].double()
    if reads.dim() == 4:
        reads = reads.sum((2, 3))
    return (reads @ mean[removed]).to(weight.dtype)


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
