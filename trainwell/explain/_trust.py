"""Can the explanation be trusted? Two measurements, each a number in the report.

- Faithfulness, the deletion curve (Petsiuk et al., RISE 2018): remove inputs (pixels) in the
  order the attribution ranks them, replacing them by the baseline, and follow the predicted
  class's probability. A faithful map makes it fall faster than a random order does; the area
  under the curve (AUC) against the random order's is the ratio reported.
- Sanity, parameter randomisation (Adebayo et al. 2018): re-initialise the weights, the top
  layer first, and measure the rank correlation of the new attributions with the old. A map
  that barely changes when the model is destroyed shows the input, not the model.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from ._attribute import per_position
from ._model import probabilities

RANDOM_ORDERS = 3
MAX_STEPS = 32  # points on a deletion curve; tables with fewer inputs get one per input
SANITY_ROWS = 100


@dataclass
class Faithfulness:
    deletion_auc: float
    random_deletion_auc: float
    fractions: list[float]
    deletion_curve: list[float]  # mean probability of the predicted class
    random_curve: list[float]
    start: float  # probability with nothing removed
    end: float  # probability with everything removed

    @property
    def ratio(self) -> float:
        return self.deletion_auc / self.random_deletion_auc if self.random_deletion_auc else 1.0


@dataclass
class Sanity:
    randomized_rank_correlation: float  # every layer re-initialised
    cascade: list[dict[str, float | str]] = field(default_factory=list)  # layer by layer


def deletion(
    model: nn.Module, X: torch.Tensor, targets: np.ndarray, attributions: np.ndarray, seed: int = 0
) -> Faithfulness:
    """Deletion curves of the attribution order and of random orders, on the same rows."""
    scores = per_position(attributions)
    units = scores.shape[1]
    steps = min(units, MAX_STEPS)
    counts = np.unique(np.round(np.linspace(0, units, steps + 1)).astype(int))
    fractions = (counts / units).tolist()
    ranked = np.argsort(-scores, axis=1, kind="stable")
    curve = _curve(model, X, targets, ranked, counts)
    rng = np.random.default_rng(seed)
    random_curves = [
        _curve(model, X, targets, np.argsort(rng.random(scores.shape), axis=1), counts)
        for _ in range(RANDOM_ORDERS)
    ]
    random_curve = np.mean(random_curves, axis=0)
    return Faithfulness(
        float(np.trapezoid(curve, fractions)),
        float(np.trapezoid(random_curve, fractions)),
        fractions,
        curve.tolist(),
        random_curve.tolist(),
        float(curve[0]),
        float(curve[-1]),
    )


def _curve(
    model: nn.Module, X: torch.Tensor, targets: np.ndarray, order: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Mean probability of each row's target class after removing its first `k` units."""
    n, units = order.shape
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(units)  # each unit's place in the order
    rank = torch.from_numpy(rank)
    rows = np.arange(n)
    means = []
    for k in counts:
        keep = (rank >= int(k)).to(X.dtype)
        shape = (n, 1, *X.shape[2:]) if X.ndim == 4 else X.shape  # a pixel: every channel
        keep = keep.view(shape)
        means.append(float(probabilities(model, X * keep)[rows, targets].mean()))
    return np.array(means)


def randomisation(
    model: nn.Module,
    X: torch.Tensor,
    targets: torch.Tensor | None,
    attributions: np.ndarray,
    explain: Callable[[nn.Module, torch.Tensor, torch.Tensor | None], np.ndarray],
) -> Sanity:
    """Cascading randomisation: layers with weights re-initialised from the output down,
    the attributions of the first `SANITY_ROWS` rows compared after each. Spearman's
    correlation of the scores that order the deletion curve (signed where the method gives a
    sign): |attribution| of input-scaled methods stays correlated with |input| whatever the
    weights (Adebayo et al.), which would say more about the input than about the method."""
    rows = slice(0, SANITY_ROWS)
    x, t = X[rows], None if targets is None else targets[rows]
    before = per_position(attributions[rows])
    broken = copy.deepcopy(model)
    layers = [(name, m) for name, m in broken.named_modules() if hasattr(m, "reset_parameters")]
    cascade = []
    for name, module in reversed(layers):
        module.reset_parameters()
        after = per_position(explain(broken, x, t))
        cascade.append({"layer": name, "rank_correlation": rank_correlation(before, after)})
    last = cascade[-1]["rank_correlation"] if cascade else 1.0
    return Sanity(float(last), cascade)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of Spearman's correlation between two maps of the same row."""
    ra, rb = rankdata(a, axis=1), rankdata(b, axis=1)
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    denominator = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    per_row = np.divide((ra * rb).sum(1), denominator, out=np.zeros(len(ra)), where=denominator > 0)
    return float(per_row.mean())
