"""Weight initialisation schemes: the cure for many vanishing or exploding starts."""

from __future__ import annotations

import math

from torch import nn

from ..config import Init

# torch.nn.init's gain names for each activation (gelu behaves like relu for this purpose)
_GAIN = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "gelu": "relu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}


def initialise(model: nn.Module, init: Init, activation: str) -> int:
    """Re-initialise every Linear, Conv1d and Conv2d layer of `model` with `init`; returns
    how many."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]
    for layer in layers:
        _init_weight(layer.weight, init, activation)
        if layer.bias is not None and (init.weights != "default" or init.bias != 0.0):
            nn.init.constant_(layer.bias, init.bias)
    return len(layers)


def _init_weight(weight: nn.Parameter, init: Init, activation: str) -> None:
    std = init.std if init.std is not None else 0.01
    nonlinearity = _GAIN[activation]
    match init.weights:
        case "default":
            pass  # PyTorch's own (Kaiming-uniform with a=sqrt(5))
        case "he":
            nn.init.kaiming_normal_(
                weight, a=0.01 if activation == "leaky_relu" else 0, nonlinearity=nonlinearity
            )
        case "xavier":
            nn.init.xavier_normal_(weight, gain=nn.init.calculate_gain(nonlinearity))
        case "normal":
            nn.init.normal_(weight, 0.0, std)
        case "uniform":
            bound = std * math.sqrt(3)  # the uniform law with that standard deviation
            nn.init.uniform_(weight, -bound, bound)
        case "zeros":
            nn.init.zeros_(weight)
