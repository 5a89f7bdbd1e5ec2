"""What a person looks at after an attack: adversarial images beside their originals, or,
for tables, the features the attack moved most."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._inputs import Inputs

SHOWN = 8  # example images
TOP_FEATURES = 10


@dataclass
class Examples:
    original: np.ndarray  # source units, (n, height, width) or (n, height, width, 3)
    adversarial: np.ndarray
    true: list[str]
    before: list[str]  # predictions
    after: list[str]
    low: float  # the pixel range, for a shared colour scale
    high: float


def fooled(before: torch.Tensor, after: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Rows the model got right that the attack made it get wrong."""
    return (before == y) & (after != y)


def image_examples(
    inputs: Inputs, adv: torch.Tensor, before: torch.Tensor, after: torch.Tensor
) -> Examples | None:
    """Up to `SHOWN` fooled rows, as pictures in source units; None for tables or when the
    attack fooled nothing."""
    if not inputs.info.is_image:
        return None
    index = fooled(before, after, inputs.y.to(before.device)).nonzero().flatten()[:SHOWN].cpu()
    if not len(index):
        return None
    original = _pictures(inputs.to_source(inputs.x[index]), inputs.info.input_shape)
    moved = _pictures(inputs.to_source(adv[index.to(adv.device)]), inputs.info.input_shape)
    classes = inputs.info.classes
    low, high = _pixel_range(inputs)
    return Examples(
        original,
        moved,
        [classes[int(i)] for i in inputs.y[index]],
        [classes[int(i)] for i in before.cpu()[index]],
        [classes[int(i)] for i in after.cpu()[index]],
        low,
        high,
    )


def moved_features(
    model: nn.Module, inputs: Inputs, adv: torch.Tensor, before: torch.Tensor, after: torch.Tensor
) -> list[dict[str, Any]]:
    """Tables: which features the attack used, over the rows it fooled. Under L∞ PGD moves
    nearly every feature by the full ε, so the size of a move says little; what ranks them is
    each feature's share of the loss increase to first order, δ_j · ∂loss/∂x_j (in any units
    the product is the same). Also each feature's mean absolute and mean signed shift, in ε
    units (standard deviations)."""
    if inputs.info.is_image:
        return []
    device = adv.device
    index = fooled(before, after, inputs.y.to(before.device)).to(device)
    if not bool(index.any()):
        return []
    x = inputs.x.to(device)[index].requires_grad_(True)
    loss = F.cross_entropy(model(x), inputs.y.to(device)[index], reduction="sum")
    (grad,) = torch.autograd.grad(loss, x)
    delta = adv[index] - x.detach()
    gain = (delta * grad).sum(0)
    share = gain / gain.sum().clamp(min=1e-12)
    scale = inputs.box.scale.to(device)
    shift = delta / scale.clamp(min=1e-12) * (scale > 0)
    names = inputs.info.feature_names or [f"f{i}" for i in range(len(share))]
    order = torch.argsort(share, descending=True)[:TOP_FEATURES]
    return [
        {
            "feature": names[int(i)],
            "loss_share": round(float(share[i]), 4),
            "mean_abs_shift": round(float(shift[:, i].abs().mean()), 4),
            "mean_shift": round(float(shift[:, i].mean()), 4),
        }
        for i in order
    ]


def _pictures(x: np.ndarray, shape: list[int]) -> np.ndarray:
    """(n, h, w) grey or (n, h, w, 3) colour; digits flattened for an mlp become 8 × 8."""
    if len(shape) == 1:
        side = math.isqrt(shape[0])
        return x.reshape(len(x), side, -1)
    if shape[0] == 3:
        return x.transpose(0, 2, 3, 1)
    return x[:, 0]


def _pixel_range(inputs: Inputs) -> tuple[float, float]:
    box = inputs.box
    low = inputs.to_source(box.low[None].cpu()).min()
    high = inputs.to_source(box.high[None].cpu()).max()
    return float(low), float(high)
