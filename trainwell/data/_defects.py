"""`data.source: defects`: generated surfaces for visual inspection, with exact defect masks.

Each image is a textured surface (a `family`: brushed metal, woven fabric or granite) under
uneven lighting, with a printed mark; a defective one carries one defect of its kind: a
bright scratch, a dark spot, a branching crack, or the printed mark missing. The mask of a
defect is exactly the pixels the defect changed (for a missing print, the mark's footprint:
the ring and its hole): the ground truth an explanation is checked against. Classes:
`normal` and one per kind.

Everything is numpy and seeded, so a run's config regenerates its data exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import Defects
from ._table import Table

NORMAL = "normal"
NOISE = 0.03  # sensor noise (standard deviation, intensities in [0, 1])
CONTRAST = {"scratch": 0.3, "spot": -0.3, "crack": -0.35}  # added over the defect's mask
PRINT_DEPTH = 0.3  # how much darker the printed mark is than the surface


def generate_defects(spec: Defects, seed: int) -> Table:
    """`spec.count` single-channel images of `spec.size` pixels, `spec.rate` of them defective;
    `Table.masks` holds each image's defect mask (all False for normal images)."""
    rng = np.random.default_rng(spec.seed if spec.seed is not None else seed)
    labels = _labels(spec, rng)
    size = spec.size
    X = np.empty((len(labels), 1, size, size), np.float32)
    masks = np.zeros((len(labels), size, size), bool)
    for i, label in enumerate(labels):
        kind = spec.kinds[label - 1] if label else None
        X[i, 0], masks[i] = _image(spec, kind, rng)
    return Table(X, labels, "classification", [NORMAL, *spec.kinds], masks=masks)


def _labels(spec: Defects, rng: np.random.Generator) -> np.ndarray:
    """Exact counts: round(rate x count) defective images, shared among the kinds by weight
    (largest remainders), every kind at least once when there are enough; shuffled."""
    defective = max(1, round(spec.rate * spec.count))
    weights = np.asarray(spec.weights or [1 / (i + 1) for i in range(len(spec.kinds))], float)
    share = defective * weights / weights.sum()
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share)[: defective - counts.sum()]] += 1
    if defective >= len(counts):
        while (counts == 0).any():
            counts[np.argmax(counts)] -= 1
            counts[np.argmin(counts)] += 1
    labels = np.repeat(np.arange(len(counts) + 1), [spec.count - defective, *counts])
    return rng.permutation(labels).astype(np.int64)


def _image(spec: Defects, kind: str | None, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    size = spec.size
    image = 0.5 + spec.texture * _texture(spec.family, size, rng)
    image += spec.lighting * _lighting(size, rng)
    mark, footprint = _print_mark(size, rng)
    mask = np.zeros((size, size), bool)
    if kind == "missing_print":
        mask = footprint
    else:
        image[mark] -= PRINT_DEPTH
        if kind is not None:
            mask = _DRAW[kind](size, rng)
            image[mask] += CONTRAST[kind] * rng.uniform(0.8, 1.2)
    image += rng.normal(0, NOISE, (size, size))
    return np.clip(image, 0, 1).astype(np.float32), mask


def _texture(family: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean texture of amplitude about 0.1."""
    if family == "brushed":  # streaks along a direction near the horizontal
        noise = rng.normal(0, 1, (size, 3 * size))
        streaks = _box_blur(noise, 1, 15)[:, size : 2 * size]
        streaks = streaks / (streaks.std() + 1e-8) * 0.08
        return streaks
    y, x = np.mgrid[0:size, 0:size].astype(float)
    if family == "woven":  # a regular weave of random period and phase
        period = rng.uniform(4, 6)
        a, b = rng.uniform(0, 2 * np.pi, 2)
        weave = np.sin(2 * np.pi * x / period + a) * np.sin(2 * np.pi * y / period + b)
        return 0.08 * weave + 0.02 * rng.normal(0, 1, (size, size))
    grains = _box_blur(rng.normal(0, 1, (size, size)), 2, 2)  # granite: grains and flecks
    grains = grains / (grains.std() + 1e-8) * 0.06
    flecks = (rng.random((size, size)) < 0.03) * rng.choice([-0.15, 0.15], (size, size))
    return grains + flecks


def _lighting(size: int, rng: np.random.Generator) -> np.ndarray:
    """A linear brightness gradient in a random direction plus a global offset."""
    y, x = (np.mgrid[0:size, 0:size] / max(size - 1, 1)) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    return rng.uniform(-0.1, 0.1) + rng.uniform(0, 0.2) * (np.cos(angle) * x + np.sin(angle) * y)


def _box_blur(a: np.ndarray, ry: int, rx: int) -> np.ndarray:
    """Mean over a (2ry+1) x (2rx+1) window, edges padded by reflection."""
    padded = np.pad(a, ((ry, ry), (rx, rx)), mode="reflect")
    c = padded.cumsum(0).cumsum(1)
    c = np.pad(c, ((1, 0), (1, 0)))
    h, w = a.shape
    wy, wx = 2 * ry + 1, 2 * rx + 1
    total = c[wy : wy + h, wx : wx + w] - c[:h, wx : wx + w] - c[wy : wy + h, :w] + c[:h, :w]
    return total / (wy * wx)


def _print_mark(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A small printed ring near the lower right corner (its position jitters a little), and
    its footprint (the ring with its hole): where a missing print is missing."""
    y, x = np.mgrid[0:size, 0:size]
    cy, cx = size * 0.75 + rng.uniform(-1.5, 1.5), size * 0.75 + rng.uniform(-1.5, 1.5)
    radius = np.hypot(y - cy, x - cx)
    outer = size * 0.12
    return (radius <= outer) & (radius >= outer - max(1.5, size / 20)), radius <= outer


def _points(size: int, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    mask = np.zeros((size, size), bool)
    ys, xs = np.rint(ys).astype(int), np.rint(xs).astype(int)
    inside = (ys >= 0) & (ys < size) & (xs >= 0) & (xs < size)
    mask[ys[inside], xs[inside]] = True
    return mask


def _scratch(size: int, rng: np.random.Generator) -> np.ndarray:
    """A straight one-pixel line of a third to a half of the side, at any angle."""
    length = rng.uniform(0.3, 0.5) * size
    angle = rng.uniform(0, np.pi)
    cy, cx = rng.uniform(0.3, 0.7, 2) * size
    t = np.linspace(-0.5, 0.5, int(3 * length)) * length
    return _points(size, cy + t * np.sin(angle), cx + t * np.cos(angle))


def _spot(size: int, rng: np.random.Generator) -> np.ndarray:
    """A disc of radius 1.5 to 3 pixels (scaled with the side)."""
    y, x = np.mgrid[0:size, 0:size]
    radius = rng.uniform(1.5, 3.0) * size / 32
    cy, cx = rng.uniform(0.15, 0.85, 2) * size
    return np.hypot(y - cy, x - cx) <= radius


def _crack(size: int, rng: np.random.Generator) -> np.ndarray:
    """A jagged random walk of about half the side, with one branch."""
    mask = np.zeros((size, size), bool)
    y, x = rng.uniform(0.3, 0.7, 2) * size
    angle = rng.uniform(0, 2 * np.pi)
    for _branch in range(2):
        steps = int(size * rng.uniform(0.25, 0.4))
        turns = angle + np.cumsum(rng.normal(0, 0.45, steps))
        ys, xs = y + np.cumsum(np.sin(turns)), x + np.cumsum(np.cos(turns))
        mask |= _points(size, ys, xs)
        y, x = ys[steps // 2], xs[steps // 2]  # the branch leaves from the middle
        angle = turns[steps // 2] + rng.choice([-1, 1]) * rng.uniform(0.6, 1.2)
    return mask


_DRAW = {"scratch": _scratch, "spot": _spot, "crack": _crack}


def write_defects(table: Table, folder: str | Path) -> Path:
    """Write a generated table as an image folder with masks (`class/00012.png` and
    `masks/class/00012.png`): the layout trainwell reads for users' own inspection images."""
    from PIL import Image

    folder = Path(folder)
    for row, (image, label) in enumerate(zip(table.X, table.y, strict=True)):
        name = f"{row:05d}.png"
        kind = table.classes[int(label)]
        (folder / kind).mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.rint(image[0] * 255).astype(np.uint8)).save(folder / kind / name)
        if table.masks is not None and table.masks[row].any():
            (folder / "masks" / kind).mkdir(parents=True, exist_ok=True)
            mask = table.masks[row].astype(np.uint8) * 255
            Image.fromarray(mask).save(folder / "masks" / kind / name)
    return folder
