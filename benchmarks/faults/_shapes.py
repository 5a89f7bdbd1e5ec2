"""shapes28: a 28x28 image dataset the benchmark draws itself, so nothing is downloaded.

Ten classes of strokes and shapes (ring, disc, square, triangle, plus, cross, bars, ...), each
drawn at a random position, size and stroke width, on a noisy background with a stray
stroke of clutter. Pixels are uint8 in 0..255 (a config that turns `standardize` off sees
raw pixel values, as a user who forgot to scale would). The same seed gives the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SIZE = 28
CLASSES = (
    "ring",
    "disc",
    "square",
    "triangle",
    "plus",
    "cross",
    "hbars",
    "vbars",
    "corner",
    "diamond",
)
_GRID = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)  # (row, column) of every pixel


def write_shapes(path: Path, samples: int = 3000, seed: int = 28) -> Path:
    """Write `X` (samples, 28, 28) uint8 and `y` (samples,) to `path` unless it is there."""
    if not path.is_file():
        X, y = draw(samples, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, X=X, y=y)
    return path


def draw(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Balanced classes in a shuffled order, with noise and clutter."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(samples) % len(CLASSES))
    X = np.stack([_image(int(label), rng) for label in y])
    return X, y.astype(np.int64)


def _image(label: int, rng: np.random.Generator) -> np.ndarray:
    cy, cx = rng.uniform(10, 18, size=2)
    r = rng.uniform(5, 9)
    w = rng.uniform(1.0, 2.2)  # stroke half-width
    dy, dx = _GRID[0] - cy, _GRID[1] - cx
    ink = _SHAPES[CLASSES[label]](dy, dx, r, w)
    ink = np.maximum(ink, 0.6 * _segment(rng, w * 0.6))  # a stray stroke of clutter
    image = ink * rng.uniform(0.6, 1.0) + rng.normal(0.12, 0.1, size=ink.shape)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def _stroke(distance: np.ndarray, w: float) -> np.ndarray:
    """Ink of a stroke of half-width `w` around the zero set of `distance`, antialiased."""
    return np.clip(w + 0.5 - np.abs(distance), 0, 1)


def _filled(inside: np.ndarray) -> np.ndarray:
    return np.clip(0.5 - inside, 0, 1)


def _segment(rng: np.random.Generator, w: float) -> np.ndarray:
    a, b = rng.uniform(0, SIZE, size=(2, 2))
    d = b - a
    t = np.clip(((_GRID[0] - a[0]) * d[0] + (_GRID[1] - a[1]) * d[1]) / (d @ d + 1e-6), 0, 1)
    dist = np.hypot(_GRID[0] - a[0] - t * d[0], _GRID[1] - a[1] - t * d[1])
    return _stroke(dist, w)


def _triangle(dy: np.ndarray, dx: np.ndarray, r: float, w: float) -> np.ndarray:
    angles = np.pi / 2 + np.arange(3) * 2 * np.pi / 3  # the three edges' outward normals
    edges = [(np.cos(a), np.sin(a)) for a in angles]
    inside = np.max([dy * sy + dx * sx for sy, sx in edges], axis=0) - r / 2
    return _stroke(inside, w)


_SHAPES = {
    "ring": lambda dy, dx, r, w: _stroke(np.hypot(dy, dx) - r, w),
    "disc": lambda dy, dx, r, w: _filled(np.hypot(dy, dx) - r * 0.8),
    "square": lambda dy, dx, r, w: _stroke(np.maximum(abs(dy), abs(dx)) - r * 0.8, w),
    "triangle": _triangle,
    "plus": lambda dy, dx, r, w: np.maximum(
        _stroke(dy, w) * (abs(dx) <= r), _stroke(dx, w) * (abs(dy) <= r)
    ),
    "cross": lambda dy, dx, r, w: (
        np.maximum(_stroke((dy - dx) / 1.414, w), _stroke((dy + dx) / 1.414, w))
        * (np.maximum(abs(dy), abs(dx)) <= r * 0.8)
    ),
    "hbars": lambda dy, dx, r, w: (
        np.maximum(_stroke(dy - r / 2, w), _stroke(dy + r / 2, w)) * (abs(dx) <= r)
    ),
    "vbars": lambda dy, dx, r, w: (
        np.maximum(_stroke(dx - r / 2, w), _stroke(dx + r / 2, w)) * (abs(dy) <= r)
    ),
    "corner": lambda dy, dx, r, w: np.maximum(
        _stroke(dy - r / 2, w) * (dx >= -r) * (dx <= r / 2),
        _stroke(dx - r / 2, w) * (dy >= -r) * (dy <= r / 2),
    ),
    "diamond": lambda dy, dx, r, w: _stroke(abs(dy) + abs(dx) - r, w),
}
