"""Who the model fails: per-group metrics on fairlearn's `MetricFrame` (imported on first
use) with bootstrap intervals, and the gap between the best and the worst group.

Every metric is a function of a confusion matrix, so the bootstrap (resampling rows within
each group, `BOOTSTRAP` times) counts confusion matrices with one `bincount` instead of
calling a metric thousands of times. The gap is the signed difference of one metric between
the groups that are best and worst on the test rows; its interval comes from the same
resamples: an interval that excludes zero is a real difference, not sampling noise.
Groups smaller than `MIN_ROWS` are reported as too small to judge, never hidden, never
part of a gap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError

MIN_ROWS = 30  # fewer test rows in a group: its metrics are shown, not judged
BOOTSTRAP = 500
QUANTILES = (0.025, 0.975)
MAX_GROUPS = 20  # a numeric column with more distinct values is split at its median

Metric = Callable[[np.ndarray], np.ndarray]  # confusion matrices (..., K, K) -> values (...)
# The metrics whose best-worst gap is judged: selection rate follows each group's base rate,
# so its difference (demographic parity) is reported, not called a performance gap.
PERFORMANCE = ("accuracy", "macro_f1", "true_positive_rate", "false_positive_rate")
LOWER_IS_BETTER = ("false_positive_rate",)


@dataclass
class GroupReport:
    column: str
    metrics: dict[str, dict[str, Any]]  # group -> {rows, judged, metric, metric_ci}
    gaps: dict[str, dict[str, Any]]  # metric -> {best, worst, gap, ci} or {value}
    too_small: list[str] = field(default_factory=list)


def fairlearn_metrics() -> ModuleType:
    try:
        import fairlearn.metrics
    except ImportError:
        raise InputError('--groups needs fairlearn: pip install "trainwell[explain]"') from None
    return fairlearn.metrics


def group_labels(values: np.ndarray, column: str) -> np.ndarray:
    """Group names as strings; a numeric column of many values becomes two halves."""
    values = np.asarray(values)
    if values.dtype.kind in "iuf":
        numbers = values.astype(float)
        if np.unique(numbers[~np.isnan(numbers)]).size > MAX_GROUPS:
            median = float(np.nanmedian(numbers))
            low, high = f"{column} <= {median:.4g}", f"{column} > {median:.4g}"
            halves = np.where(numbers <= median, low, high)
            return np.where(np.isnan(numbers), MISSING, halves).astype(object)
    return np.array([_name(v) for v in values], dtype=object)


MISSING = "(missing)"  # the group of rows without a value (NaN, None, pandas' NA)


def _name(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    return np.divide(top, bottom, out=np.full(np.shape(top), np.nan), where=bottom > 0)


def accuracy(c: np.ndarray) -> np.ndarray:
    return _ratio(np.trace(c, axis1=-2, axis2=-1), c.sum((-2, -1)))


def macro_f1(c: np.ndarray) -> np.ndarray:
    """Mean F1 over the classes that occur (as truth or prediction), as scikit-learn's."""
    tp = np.diagonal(c, axis1=-2, axis2=-1)
    seen = c.sum(-1) + c.sum(-2)  # 2tp + fp + fn
    f1 = _ratio(2 * tp, seen)
    present = seen > 0
    return _ratio(np.where(present, f1, 0).sum(-1), present.sum(-1))


def selection_rate(c: np.ndarray) -> np.ndarray:
    return _ratio(c[..., :, 1].sum(-1), c.sum((-2, -1)))


def true_positive_rate(c: np.ndarray) -> np.ndarray:
    return _ratio(c[..., 1, 1], c[..., 1, :].sum(-1))


def false_positive_rate(c: np.ndarray) -> np.ndarray:
    return _ratio(c[..., 0, 1], c[..., 0, :].sum(-1))


def metrics_for(n_classes: int) -> dict[str, Metric]:
    """Accuracy and macro-F1; for two classes (class 1 positive) also the rates."""
    found: dict[str, Metric] = {"accuracy": accuracy, "macro_f1": macro_f1}
    if n_classes == 2:
        found |= {
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        }
    return found


def confusions(
    y: np.ndarray, predicted: np.ndarray, n_classes: int, samples: np.ndarray
) -> np.ndarray:
    """Confusion matrices (len(samples), K, K) of the rows each sample (a row of indices) picks."""
    k2 = n_classes * n_classes
    codes = (y * n_classes + predicted)[samples] + k2 * np.arange(len(samples))[:, None]
    counts = np.bincount(codes.ravel(), minlength=k2 * len(samples))
    return counts.reshape(len(samples), n_classes, n_classes).astype(float)


def group_report(
    column: str,
    groups: np.ndarray,
    y: np.ndarray,
    predicted: np.ndarray,
    n_classes: int,
    seed: int = 0,
) -> GroupReport:
    """Per-group metrics (MetricFrame) with bootstrap intervals; the best-worst gap of each
    performance metric over the judged groups (always >= 0: for the false positive rate
    the best group is the lowest); demographic-parity and equalized-odds differences."""
    fm = fairlearn_metrics()
    metrics = metrics_for(n_classes)
    y, predicted = np.asarray(y, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    frame = fm.MetricFrame(
        metrics={
            name: (
                lambda t, p, m=m: float(m(confusions(t, p, n_classes, np.arange(len(t))[None]))[0])
            )
            for name, m in metrics.items()
        },
        y_true=y,
        y_pred=predicted,
        sensitive_features=groups,
    )
    rng = np.random.default_rng(seed)
    table: dict[str, dict[str, Any]] = {}
    boot: dict[str, dict[str, np.ndarray]] = {}
    for group in frame.by_group.index:
        rows = np.flatnonzero(groups == group)
        samples = rows[rng.integers(0, rows.size, (BOOTSTRAP, rows.size))]
        matrices = confusions(y, predicted, n_classes, samples)
        row: dict[str, Any] = {"rows": int(rows.size), "judged": rows.size >= MIN_ROWS}
        boot[str(group)] = {}
        for name, metric in metrics.items():
            values = metric(matrices)
            boot[str(group)][name] = values
            row[name] = _float(frame.by_group.loc[group, name])
            row[f"{name}_ci"] = _interval(values)
        table[str(group)] = row
    judged = [g for g, row in table.items() if row["judged"]]
    gaps = {}
    for name in (m for m in PERFORMANCE if m in metrics):
        values = {g: table[g][name] for g in judged if table[g][name] is not None}
        if len(values) < 2:
            continue
        sign = -1.0 if name in LOWER_IS_BETTER else 1.0
        best = max(values, key=lambda g: sign * values[g])
        worst = min(values, key=lambda g: sign * values[g])
        difference = sign * (boot[best][name] - boot[worst][name])
        gaps[name] = {
            "best": best,
            "worst": worst,
            "gap": sign * (values[best] - values[worst]),
            "ci": _interval(difference),
        }
    if n_classes == 2 and len(judged) >= 2:
        keep = np.isin(groups, judged)
        for name, function in (
            ("demographic_parity_difference", fm.demographic_parity_difference),
            ("equalized_odds_difference", fm.equalized_odds_difference),
        ):
            value = function(y[keep], predicted[keep], sensitive_features=groups[keep])
            gaps[name] = {"value": _float(value)}
    return GroupReport(column, table, gaps, [g for g in table if not table[g]["judged"]])


def _interval(values: np.ndarray) -> list[float | None]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return [None, None]
    return [float(q) for q in np.quantile(finite, QUANTILES)]


def _float(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
