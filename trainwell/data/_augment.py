"""Augmentation of training batches (the `augment` remedy), drawn from a seeded generator.

Images: a random rotation of up to 10 degrees and a shift of up to 1/8 of the side, then
Gaussian noise. Tables: Gaussian noise of 5% of each feature's spread, then mixup (Zhang et
al., ICLR 2018, alpha 0.2), which mixes pairs of rows and their (one-hot) targets.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

NOISE = 0.05  # in units of each feature's (or channel's) std
ROTATION_DEGREES = 10.0
SHIFT = 0.125  # of the image side
MIXUP_ALPHA = 0.2


def augmentation_of(ndim: int) -> str:
    """What augmenting inputs of `ndim` dimensions does, in words (4: images)."""
    return "rotations, shifts, noise" if ndim == 4 else "Gaussian noise, mixup"


def augment_images(x: torch.Tensor, std: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """x: (n, c, h, w); std: per-channel spread (c,)."""
    n = len(x)
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(ROTATION_DEGREES)
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * SHIFT * 2  # grid coordinates span 2
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    ).to(x)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    moved = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    noise = torch.randn(x.shape, generator=g).to(x) * NOISE * std.view(1, -1, 1, 1).to(x)
    return moved + noise


def augment_table(
    x: torch.Tensor, y: torch.Tensor, std: torch.Tensor, n_classes: int, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise, then mixup. Classification targets become class probabilities (n, k).

    Each row draws its own mixing weight: with one per batch, the batch's loss swings with
    it (mixed targets have an entropy floor), and rules that read the loss curve see an
    oscillation, or a loss that runs away, where there is none."""
    x = x + torch.randn(x.shape, generator=g).to(x) * NOISE * std.to(x)
    seed = int(torch.randint(2**31, (1,), generator=g))
    lam = torch.from_numpy(np.random.default_rng(seed).beta(MIXUP_ALPHA, MIXUP_ALPHA, len(x)))
    lam = torch.maximum(lam, 1 - lam).to(x)  # each row keeps most of itself
    partner = torch.randperm(len(x), generator=g).to(x.device)
    target = F.one_hot(y, n_classes).float() if n_classes else y
    return _mix(x, x[partner], lam), _mix(target, target[partner], lam.to(target))


def _mix(a: torch.Tensor, b: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """lam * a + (1 - lam) * b, one weight per row."""
    lam = lam.view(-1, *([1] * (a.ndim - 1)))
    return lam * a + (1 - lam) * b
