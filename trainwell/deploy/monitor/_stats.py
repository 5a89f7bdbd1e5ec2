"""The statistics of drift, pure numpy/scipy: per-column two-sample tests with Holm's control
of the family-wise error, effect sizes whose "large" thresholds come from a bootstrap of
the reference at the window's own size, and an MMD permutation test on whole rows.

Why not fixed thresholds: with no drift at all (N(0,1) against N(0,1), 5,000 reference
rows) P(PSI >= 0.1) is 0.86 at a 50-row window and 0.04 at 200; and 20 features tested at
α = 0.05 without correction raise an alarm on 64% of clean windows.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

BINS = 10  # PSI and Jensen-Shannon bins: deciles of the reference
SMOOTH = 0.5  # pseudo-count added to every bin: PSI of an empty bin stays finite and tame
BOOTSTRAP = 200  # clean windows drawn from the reference to calibrate the effect sizes
EFFECT_QUANTILE = 0.99  # an effect is "large" beyond this quantile of clean windows
PERMUTATIONS = 500  # MMD permutation test: smallest p-value 1/501
MMD_ROWS = 500  # rows per side in the MMD test (a seeded subsample beyond)
BOOTSTRAP_ROWS = 20_000  # larger windows are calibrated at this size (a little conservative)
EXACT_KS_PAIRS = 250_000  # ks_2samp's exact p-value below this n*m, asymptotic above


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values: reject hypothesis i at level α when
    adjusted[i] <= α; the family-wise error is then at most α under any dependence."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


@dataclass
class ColumnTest:
    """One column's test and effect sizes (the `features` rows of `monitor --json`)."""

    name: str
    test: str  # ks | chi2
    statistic: float
    p_value: float
    adjusted_p: float = 1.0  # Holm, across the columns of one window
    effect: dict[str, float | None] | None = None  # psi, wasserstein, js
    threshold: dict[str, float | None] | None = None  # the bootstrap's quantile, same size
    drift: bool = False

    def to_dict(self) -> dict[str, object]:
        large = [k for k, v in (self.effect or {}).items() if _beyond(v, self.threshold, k)]
        return {
            "name": self.name,
            "test": self.test,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "adjusted_p": self.adjusted_p,
            "effect": self.effect,
            "threshold": self.threshold,
            "large_effects": large,
            "drift": self.drift,
        }


def _beyond(value: float | None, threshold: dict[str, float | None] | None, key: str) -> bool:
    limit = (threshold or {}).get(key)
    return value is not None and limit is not None and value > limit


def ks_test(name: str, ref: np.ndarray, cur: np.ndarray) -> ColumnTest:
    """Kolmogorov-Smirnov two-sample test (missing values dropped on both sides)."""
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref) == 0 or len(cur) == 0:
        return ColumnTest(name, "ks", 0.0, 1.0)
    method = "auto" if len(ref) * len(cur) <= EXACT_KS_PAIRS else "asymp"
    with warnings.catch_warnings():  # "exact calculation unsuccessful": it falls back itself
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ks_2samp(ref, cur, method=method)
    return ColumnTest(name, "ks", float(result.statistic), float(result.pvalue))


def chi2_test(name: str, ref: np.ndarray, cur: np.ndarray) -> ColumnTest:
    """Chi-squared test of homogeneity on the 2 x k table of category counts (category
    codes are small non-negative integers; categories seen on neither side are dropped)."""
    size = int(max(ref.max(initial=0), cur.max(initial=0))) + 1
    table = np.stack([np.bincount(ref, minlength=size), np.bincount(cur, minlength=size)])
    table = table[:, table.sum(0) > 0]
    if table.shape[1] < 2 or table[1].sum() == 0:
        return ColumnTest(name, "chi2", 0.0, 1.0)
    result = stats.chi2_contingency(table, correction=False)
    return ColumnTest(name, "chi2", float(result.statistic), float(result.pvalue))


def decide(tests: list[ColumnTest], alpha: float) -> None:
    """Holm across the columns of one window: sets `adjusted_p` and `drift`."""
    adjusted = holm([t.p_value for t in tests])
    for t, a in zip(tests, adjusted, strict=True):
        t.adjusted_p, t.drift = float(a), bool(a <= alpha)


def numeric_bins(ref: np.ndarray) -> np.ndarray:
    """Inner edges at the reference's deciles (repeated edges merged)."""
    finite = ref[np.isfinite(ref)]
    if not len(finite):
        return np.array([0.0])
    return np.unique(np.quantile(finite, np.linspace(0, 1, BINS + 1)[1:-1]))


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts (..., bins) as shares that sum to one along the last axis, each bin given
    SMOOTH rows more (Jeffreys' prior)."""
    counts = np.asarray(counts, dtype=float) + SMOOTH
    return counts / counts.sum(-1, keepdims=True)


def psi(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Population stability index of smoothed shares, along the last axis."""
    return ((actual - expected) * np.log(actual / expected)).sum(-1)


def effects(
    ref: np.ndarray,
    cur: np.ndarray,
    codes: bool,
    rng: np.random.Generator,
    bootstrap: int = BOOTSTRAP,
) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """PSI, Wasserstein (in reference standard deviations; numeric only) and
    Jensen-Shannon distance of `cur` against `ref`, and for each the EFFECT_QUANTILE of
    the same effect between two clean samples bootstrapped from the reference, one of the
    window's size and one of the reference's: the spread a clean window of this size
    shows, both samples' noise included."""
    ref = ref[np.isfinite(ref)] if not codes else ref
    cur = cur[np.isfinite(cur)] if not codes else cur
    if not len(ref) or not len(cur):
        return {"psi": None, "wasserstein": None, "js": None}, {}
    if codes:
        size = int(max(ref.max(initial=0), cur.max(initial=0))) + 1
        ref_bin, cur_bin = ref, cur
    else:
        edges = numeric_bins(ref)
        size = len(edges) + 1
        ref_bin, cur_bin = np.searchsorted(edges, ref), np.searchsorted(edges, cur)
    p_ref = shares(np.bincount(ref_bin, minlength=size))
    p_cur = shares(np.bincount(cur_bin, minlength=size))
    effect = {"psi": float(psi(p_ref, p_cur)), "wasserstein": None, "js": _js(p_ref, p_cur)}
    # clean pairs: a window of len(cur) and a reference of len(ref), both from the reference
    window = rng.integers(0, len(ref), (bootstrap, min(len(cur), BOOTSTRAP_ROWS)))
    again = rng.integers(0, len(ref), (bootstrap, len(ref)))
    counts_w, counts_r = _counts(ref_bin[window], size), _counts(ref_bin[again], size)
    q_w, q_r = shares(counts_w), shares(counts_r)
    threshold: dict[str, float | None] = {
        "psi": _quantile(psi(q_r, q_w)),
        "wasserstein": None,
        "js": _quantile(jensenshannon(q_r, q_w, axis=1, base=2)),
    }
    if not codes:
        scale = float(ref.std()) or 1.0
        effect["wasserstein"] = float(stats.wasserstein_distance(ref, cur)) / scale
        weights_w = np.stack([np.bincount(w, minlength=len(ref)) for w in window])
        weights_r = np.stack([np.bincount(r, minlength=len(ref)) for r in again])
        clean = [
            stats.wasserstein_distance(ref, ref, w, r)
            for w, r in zip(weights_w, weights_r, strict=True)
        ]
        threshold["wasserstein"] = _quantile(np.asarray(clean) / scale)
    return effect, threshold


def _counts(bins: np.ndarray, size: int) -> np.ndarray:
    """Row-wise bincount of a (B, n) array of bin ids, in one call."""
    offset = bins + size * np.arange(len(bins))[:, None]
    return np.bincount(offset.ravel(), minlength=size * len(bins)).reshape(len(bins), size)


def _js(p: np.ndarray, q: np.ndarray) -> float:
    return float(jensenshannon(p, q, base=2))


def _quantile(values: np.ndarray) -> float:
    return float(np.quantile(values, EFFECT_QUANTILE))


@dataclass
class Mmd:
    """Maximum mean discrepancy of whole rows with a Gaussian kernel (bandwidth: the median
    distance of the pooled rows), and its permutation p-value."""

    statistic: float
    p_value: float
    rows: tuple[int, int]  # reference rows, current rows used
    permutations: int

    def to_dict(self) -> dict[str, object]:
        return {
            "test": "mmd",
            "statistic": self.statistic,
            "p_value": self.p_value,
            "rows": list(self.rows),
            "permutations": self.permutations,
        }


def mmd_test(
    ref: np.ndarray,
    cur: np.ndarray,
    rng: np.random.Generator,
    permutations: int = PERMUTATIONS,
    max_rows: int = MMD_ROWS,
) -> Mmd:
    """MMD² (biased estimator) between `ref` and `cur` (rows x features), on rows whitened
    by the reference's covariance, with all permutations computed at once as quadratic
    forms of one kernel matrix: w' K w for weights +1/n over one side and -1/m over the other.

    Whitening is what lets the test see relations: two features correlated 0.8 that stop
    being correlated leave every marginal as it was, but in whitened coordinates the
    current rows spread five times wider along the direction the reference hardly used. It
    is fitted on reference rows the test does not use, so that clean rows stay exchangeable.
    """
    ref = np.nan_to_num(np.asarray(ref, np.float64).reshape(len(ref), -1))
    cur = np.nan_to_num(np.asarray(cur, np.float64).reshape(len(cur), -1))
    order = rng.permutation(len(ref))
    tested = order[: min(max_rows, len(ref) // 2)] if len(ref) >= 4 else order
    fitted = order[len(tested) :] if len(ref) >= 4 else order
    whiten = whitener(ref[fitted])
    ref, cur = whiten(ref[np.sort(tested)]), whiten(_subsample(cur, max_rows, rng))
    pooled = np.concatenate([ref, cur])
    sq = (pooled**2).sum(1)
    distances = np.maximum(sq[:, None] + sq[None, :] - 2 * pooled @ pooled.T, 0)
    upper = distances[np.triu_indices(len(pooled), 1)]
    bandwidth = float(np.median(upper[upper > 0])) if (upper > 0).any() else 1.0
    kernel = np.exp(-distances / bandwidth)
    n, m = len(ref), len(cur)
    shuffled = rng.random((permutations, len(pooled))).argsort(1)[:, :n]  # one side's rows
    sides = np.zeros((permutations + 1, len(pooled)), dtype=bool)
    sides[0, :n] = True
    np.put_along_axis(sides[1:], shuffled, True, axis=1)
    weights = np.where(sides.T, 1.0 / n, -1.0 / m)
    values = np.einsum("ik,ik->k", weights, kernel @ weights)
    observed = float(values[0])
    p_value = (1 + int((values[1:] >= observed - 1e-12).sum())) / (permutations + 1)
    return Mmd(observed, p_value, (n, m), permutations)


def whitener(rows: np.ndarray, floor: float = 1e-4):
    """Centre on the rows' mean and rotate and scale by their covariance's eigenvectors
    (directions whose variance is below `floor` of the average are dropped: exact
    constraints such as one-hot columns summing to one, which no row can break by noise)."""
    mean = rows.mean(0)
    scale = rows.std(0)
    scale[scale == 0] = 1.0
    values, vectors = np.linalg.eigh(np.atleast_2d(np.cov((rows - mean) / scale, rowvar=False)))
    keep = values > floor * max(values.mean(), 1e-12)
    projection = vectors[:, keep] / np.sqrt(values[keep])
    return lambda X: ((X - mean) / scale) @ projection


def _subsample(X: np.ndarray, rows: int, rng: np.random.Generator) -> np.ndarray:
    X = np.asarray(X).reshape(len(X), -1)
    if len(X) <= rows:
        return X
    return X[np.sort(rng.choice(len(X), rows, replace=False))]
