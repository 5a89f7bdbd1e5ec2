"""A small ResNet (He et al. 2016) for images: a stem convolution, one residual block per
entry of `model.channels` (each after the first halves the resolution), global average
pooling and a linear head. Batch normalisation is part of the design, so `model.batchnorm`
does not apply.

It is a `Network` like the mlp and cnn: top-level layers `net.0` (stem), `net.1` ...
(blocks), then the head, so transfer learning freezes and groups layers by those names.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..config import Model


class ResidualBlock(nn.Module):
    """conv-bn-act-conv-bn plus the input (projected by a 1x1 convolution when its shape
    changes), then the activation. Modules are declared in forward order, so the last
    activation is the block's output: where Grad-CAM reads a resnet."""

    def __init__(self, channels: int, out: int, stride: int, activation: type[nn.Module]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.act1 = activation()
        self.conv2 = nn.Conv2d(out, out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or channels != out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )
        self.act2 = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(y + self.shortcut(x))


def resnet_layers(
    spec: Model, input_shape: Sequence[int], activation: type[nn.Module]
) -> list[nn.Module]:
    """Stem, blocks and global pooling, flattened: the head is added by `build_model`."""
    channels = input_shape[0]
    first = spec.channels[0]
    layers: list[nn.Module] = [
        nn.Sequential(
            nn.Conv2d(channels, first, 3, padding=1, bias=False),
            nn.BatchNorm2d(first),
            activation(),
        )
    ]
    side = min(input_shape[1:])
    for index, out in enumerate(spec.channels):
        stride = 2 if index > 0 and side >= 4 else 1  # halve while there is room
        side = side // stride
        layers.append(ResidualBlock(first, out, stride, activation))
        first = out
    layers.append(nn.AdaptiveAvgPool2d(1))
    if spec.dropout > 0:
        layers.append(nn.Dropout(spec.dropout))
    return layers
