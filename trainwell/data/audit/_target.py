"""Checks of a regression target: a few values far from all the others."""

from __future__ import annotations

import numpy as np

from ...findings import Finding
from ._thresholds import Thresholds
from ._view import AuditData


def target_outliers(data: AuditData, t: Thresholds) -> list[Finding]:
    """A few training targets past Tukey's far-out fence of the target (Q1 - 3 IQR,
    Q3 + 3 IQR; per output column): at most `target_outlier_share` (1%) of the rows, so
    not a heavy tail but a handful of values — codes for "missing" (-999, 999999), another
    unit, a typing error — or more of them, when they are a few values each repeated
    (`_codes`: a missing-value code on 2% of the rows). Standardised with the rest, they
    shrink every other target towards 0, and the squared error is theirs to make.

    Reported (`warning`) when they hold more than `target_outlier_variance` (half) of the
    target's variance: the network then fits them, not the rest (a long tail's last value
    holds a few percent, and is no finding). The remedy
    is `drop_target_outliers` (training rows; validation and test rows past the fence are
    counted, their errors weigh as much in the test metrics). Evidence: the rows, farthest
    first, their targets, the fence and the share of the variance.
    """
    if data.task != "regression" or not len(data.y):
        return []
    y = np.asarray(data.y, dtype=np.float64).reshape(len(data.y), -1)
    q1, q3 = np.percentile(y, [25, 75], axis=0)
    spread = q3 - q1
    low, high = q1 - t.outlier_iqr * spread, q3 + t.outlier_iqr * spread
    past = ((y < low) | (y > high)) & (spread > 0)  # most targets equal: the fence says nothing
    rows = np.flatnonzero(past.any(1))
    if not len(rows) or (len(rows) > t.target_outlier_share * len(y) and not _codes(y[past], t)):
        return []
    squares = (y - y.mean(0)) ** 2
    held = squares[past].sum() / squares.sum()  # their share of the target's variance
    if not held > t.target_outlier_variance:
        return []
    distance = np.where(past, np.abs(y - np.where(y > high, high, low)) / spread, 0).max(1)
    rows = rows[np.argsort(-distance[rows])]
    held_out = np.concatenate([data.data.val.y, data.data.test.y]).reshape(-1, y.shape[1])
    held_out_past = int(((held_out < low) | (held_out > high)).any(1).sum())
    values = y[rows, 0] if y.shape[1] == 1 else y[rows]
    shown = ", ".join(f"{v:.6g}" for v in y[rows[:5], 0])
    also = f"; {held_out_past} validation or test rows are past it too" if held_out_past else ""
    return [
        Finding(
            code="target_outliers",
            severity="warning",
            source="data",
            message=(
                f"{len(rows)} training target{'s' if len(rows) > 1 else ''} ({shown}"
                f"{', ...' if len(rows) > 5 else ''}) lie far outside all the others (past "
                f"Q3 + 3 IQR or Q1 - 3 IQR) and hold "
                f"{held:.0%} of the target's variance{also}: codes for a missing value, "
                "another unit or typing errors? Fix them, or add data.remedies: "
                "[drop_target_outliers]."
            ),
            evidence={
                "rows": data.rows[rows].tolist(),
                "targets": values.tolist(),
                "scores": [round(float(d), 4) for d in distance[rows]],
                "fence": [low.tolist(), high.tolist()],
                "variance_share": round(float(held), 4),
                "held_out_rows": held_out_past,
            },
        )
    ]


def _codes(values: np.ndarray, t: Thresholds) -> bool:
    """At most `target_code_values` distinct values, each on two rows or more: a code that
    stands for "missing" or "not measured", not the tail of a continuous target (whose far
    values are all different)."""
    distinct, counts = np.unique(values, return_counts=True)
    return len(distinct) <= t.target_code_values and bool((counts >= 2).all())
