"""Which source columns matter: permutation importance on the test rows (with its spread
over repeats) beside the mean |attribution|, one-hot columns grouped back to their source."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._model import score

REPEATS = 5


@dataclass
class Importance:
    feature: str
    importance: float  # mean drop of the test score when the column is shuffled
    spread: float  # standard deviation of that drop over the repeats
    attribution: float  # mean |attribution| over rows, summed over the column's inputs


def importances(
    model: nn.Module,
    X: torch.Tensor,
    y: np.ndarray,
    task: str,
    columns: dict[str, list[int]],
    attributions: np.ndarray,
    seed: int = 0,
) -> list[Importance]:
    """Most important first. A column's inputs are shuffled together (one row's one-hot
    block moves as a whole), so a category never becomes two categories at once."""
    rng = np.random.default_rng(seed)
    base = score(model, X, y, task)
    magnitude = np.abs(attributions.reshape(len(attributions), -1)).mean(0)
    found = []
    for name, inputs in columns.items():
        drops = []
        for _ in range(REPEATS):
            shuffled = X.clone()
            shuffled[:, inputs] = X[torch.from_numpy(rng.permutation(len(X)))][:, inputs]
            drops.append(base - score(model, shuffled, y, task))
        found.append(
            Importance(
                name, float(np.mean(drops)), float(np.std(drops)), float(magnitude[inputs].sum())
            )
        )
    return sorted(found, key=lambda i: i.importance, reverse=True)
