"""The mlp, cnn and resnet architectures, built from the `model` section of a config."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import Model
from ._init import initialise
from ._input_norm import InputNorm
from ._resnet import resnet_layers

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


class Network(nn.Module):
    """A plain `nn.Sequential` under `net`, so layers are named `net.0`, `net.1`, ..."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_model(
    spec: Model, input_shape: Sequence[int], n_outputs: int, *, regression: bool
) -> Network:
    """An mlp (any input, flattened), a cnn or a resnet (inputs of shape channels x height x
    width; a resnet's hidden layers after pooling are `hidden`, usually none).

    Regression heads output one value per row, shape (batch,), to match the targets.
    """
    layers: list[nn.Module] = []
    if spec.input_norm:
        # as `data.standardize` scales them: images per channel (per pixel, an MLP memorises
        # the rare bright pixels of raw images), tables per feature
        if len(input_shape) == 3:
            layers.append(InputNorm(input_shape[0]))
        else:
            layers += [nn.Flatten(), InputNorm(int(torch.Size(input_shape).numel()))]
    if spec.arch == "resnet":
        layers += resnet_layers(spec, input_shape, ACTIVATIONS[spec.activation])
        n_in = spec.channels[-1]
    elif spec.arch == "cnn":
        layers += _conv_blocks(spec, input_shape)
        n_in = _flat_size(layers, input_shape)
    else:
        n_in = int(torch.Size(input_shape).numel())
    layers.append(nn.Flatten())
    for width in spec.hidden:
        layers.append(nn.Linear(n_in, width))
        if spec.batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[spec.activation]())
        if spec.dropout > 0:
            layers.append(nn.Dropout(spec.dropout))
        n_in = width
    layers.append(nn.Linear(n_in, n_outputs))
    if regression:
        layers.append(nn.Flatten(0))
    model = Network(layers)
    initialise(model, spec.init, spec.activation)
    return model


def _conv_blocks(spec: Model, input_shape: Sequence[int]) -> list[nn.Module]:
    channels, height, width = input_shape
    layers: list[nn.Module] = []
    for out in spec.channels:
        layers.append(nn.Conv2d(channels, out, kernel_size=3, padding=1))
        if spec.batchnorm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(ACTIVATIONS[spec.activation]())
        if min(height, width) >= 2:  # pool while there is something left to pool
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        if spec.dropout > 0:
            layers.append(nn.Dropout(spec.dropout))
        channels = out
    return layers


def _flat_size(layers: list[nn.Module], input_shape: Sequence[int]) -> int:
    with torch.no_grad():
        return int(nn.Sequential(*layers).eval()(torch.zeros(1, *input_shape)).numel())
