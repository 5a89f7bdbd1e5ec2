"""Who the model fails: per-group metrics with bootstrap intervals on fairlearn's
`MetricFrame` (imported on first use), and the gap between the best and the worst group.

The gap is the signed difference of one metric between the two groups that are best and
worst on the test rows, bootstrapped by resampling rows within each group: an interval that
excludes zero is a real difference, not sampling noise. Groups smaller than `MIN_ROWS` are
reported as too small to judge, never hidden and never part of a gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from ..errors import InputError

MIN_ROWS = 30  # fewer test rows in a group: its metrics are shown, not judged
BOOTSTRAP = 200
QUANTILES = (0.025, 0.975)
MAX_GROUPS = 20  # a numeric column with more distinct values is split at its median


@dataclass
class GroupReport:
    column: str
    metrics: dict[str, dict[str, Any]]  # group -> {rows, judged, metric: value, metric_ci}
    gaps: dict[str, dict[str, Any]]  # metric -> {best, worst, gap, ci}
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
    if (
        values.dtype.kind in "iuf"
        and np.unique(values[~np.isnan(values.astype(float))]).size > MAX_GROUPS
    ):
        median = float(np.nanmedian(values.astype(float)))
        return np.where(
            values.astype(float) <= median, f"{column} <= {median:.4g}", f"{column} > {median:.4g}"
        )
    return np.array([_name(v) for v in values], dtype=object)


def _name(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return (
        "(missing)"
        if value is None or (isinstance(value, float) and np.isnan(value))
        else str(value)
    )


def group_report(
    column: str,
    groups: np.ndarray,
    y: np.ndarray,
    predicted: np.ndarray,
    n_classes: int,
    seed: int = 0,
) -> GroupReport:
    """Accuracy and macro-F1 per group; for two classes also selection rate, TPR and FPR
    (class 1 positive), demographic-parity and equalized-odds differences."""
    fm = fairlearn_metrics()
    metrics = _metric_functions(fm, n_classes)
    frame = fm.MetricFrame(
        metrics=metrics,
        y_true=y,
        y_pred=predicted,
        sensitive_features=groups,
        n_boot=BOOTSTRAP,
        ci_quantiles=list(QUANTILES),
        random_state=seed,
    )
    by_group, low, high = frame.by_group, *frame.by_group_ci
    names, counts = np.unique(groups, return_counts=True)
    sizes = dict(zip(names.tolist(), counts.tolist(), strict=True))
    table: dict[str, dict[str, Any]] = {}
    for group in by_group.index:
        row: dict[str, Any] = {"rows": sizes[group], "judged": sizes[group] >= MIN_ROWS}
        for metric in metrics:
            row[metric] = _float(by_group.loc[group, metric])
            row[f"{metric}_ci"] = [_float(low.loc[group, metric]), _float(high.loc[group, metric])]
        table[str(group)] = row
    judged = [g for g, row in table.items() if row["judged"]]
    gaps = {m: _gap(metrics[m], m, table, judged, groups, y, predicted, seed) for m in metrics}
    gaps = {m: g for m, g in gaps.items() if g is not None}
    if n_classes == 2 and len(judged) >= 2:
        keep = np.isin(groups, judged)
        for name, function in (
            ("demographic_parity_difference", fm.demographic_parity_difference),
            ("equalized_odds_difference", fm.equalized_odds_difference),
        ):
            gaps[name] = {
                "value": _float(function(y[keep], predicted[keep], sensitive_features=groups[keep]))
            }
    return GroupReport(column, table, gaps, [g for g in table if not table[g]["judged"]])


def _metric_functions(fm: ModuleType, n_classes: int) -> dict[str, Any]:
    metrics: dict[str, Any] = {
        "accuracy": lambda t, p: float(np.mean(t == p)),
        "macro_f1": lambda t, p: float(f1_score(t, p, average="macro", zero_division=0)),
    }
    if n_classes == 2:
        metrics["selection_rate"] = fm.selection_rate
        metrics["true_positive_rate"] = fm.true_positive_rate
        metrics["false_positive_rate"] = fm.false_positive_rate
    return metrics


def _gap(
    function: Any,
    metric: str,
    table: dict[str, dict[str, Any]],
    judged: list[str],
    groups: np.ndarray,
    y: np.ndarray,
    predicted: np.ndarray,
    seed: int,
) -> dict[str, Any] | None:
    """Best minus worst judged group on `metric`, with a bootstrap interval of that difference."""
    values = {g: table[g][metric] for g in judged if table[g][metric] is not None}
    if len(values) < 2:
        return None
    best, worst = max(values, key=values.get), min(values, key=values.get)
    rng = np.random.default_rng(seed)
    at_best, at_worst = np.flatnonzero(groups == best), np.flatnonzero(groups == worst)
    samples = []
    for _ in range(BOOTSTRAP):
        b, w = rng.choice(at_best, at_best.size), rng.choice(at_worst, at_worst.size)
        samples.append(_safe(function, y[b], predicted[b]) - _safe(function, y[w], predicted[w]))
    low, high = np.nanquantile(samples, QUANTILES)
    return {
        "best": best,
        "worst": worst,
        "gap": values[best] - values[worst],
        "ci": [float(low), float(high)],
    }


def _safe(function: Any, true: np.ndarray, predicted: np.ndarray) -> float:
    try:
        return float(function(true, predicted))
    except (ValueError, ZeroDivisionError):
        return float("nan")


def _float(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value
