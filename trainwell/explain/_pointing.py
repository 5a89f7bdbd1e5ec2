"""The pointing game (Zhang et al. 2016): does an attribution map's maximum fall on the
defect? Judged against the true masks of sources that have them (`data.source: defects`,
image folders with `masks/`), on the correctly detected defects only: a map of a wrong
prediction explains that mistake, not the defect."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

ORIGINAL_TOLERANCE = 15 / 224  # the original's 15 pixels on images of about 224


def tolerance_for(side: int) -> int:
    """The original's tolerance scaled to the image: 2 pixels at 32, at least 1."""
    return max(1, round(ORIGINAL_TOLERANCE * side))


@dataclass
class PointingGame:
    """`score`: share of the judged maps whose maximum lies in the (grown) mask; `chance`:
    the score of a point drawn at random (the mean share of the image the masks cover)."""

    score: float | None
    hits: int
    rows: int
    chance: float | None
    tolerance: int
    by_class: dict[str, float] = field(default_factory=dict)


def pointing_game(
    maps: np.ndarray,
    masks: np.ndarray,
    y: np.ndarray,
    predicted: np.ndarray,
    classes: list[str],
    tolerance: int | None = None,
) -> PointingGame:
    """`maps`: per-pixel scores (n, height, width); `masks`: (n, height, width) bool. Rows
    judged: a non-empty mask and a correct prediction. A hit: the map's maximum within
    `tolerance` pixels of the mask (None: `tolerance_for` the image's side)."""
    if tolerance is None:
        tolerance = tolerance_for(min(masks.shape[1:]))
    judged = masks.reshape(len(masks), -1).any(1) & (y == predicted)
    pixels = int(np.prod(masks.shape[1:]))
    grown = _grow(masks[judged], tolerance).reshape(-1, pixels)
    peaks = maps[judged].reshape(-1, pixels).argmax(1) if judged.any() else np.zeros(0, int)
    hit = grown[np.arange(len(grown)), peaks]
    by_class = {classes[c]: float(hit[y[judged] == c].mean()) for c in np.unique(y[judged])}
    return PointingGame(
        float(hit.mean()) if len(hit) else None,
        int(hit.sum()),
        len(hit),
        float(grown.mean()) if len(hit) else None,
        tolerance,
        by_class,
    )


def _grow(masks: np.ndarray, pixels: int) -> np.ndarray:
    """Each mask dilated by `pixels` in every direction (a square neighbourhood)."""
    grown = masks.copy()
    for _ in range(pixels):
        padded = np.pad(grown, ((0, 0), (1, 1), (1, 1)))
        near = np.zeros_like(grown)
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                near |= padded[:, dy : dy + grown.shape[1], dx : dx + grown.shape[2]]
        grown = near
    return grown
