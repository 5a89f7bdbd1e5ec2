"""Checks of the class counts: imbalance and too little data."""

from __future__ import annotations

import numpy as np

from ...findings import Finding
from .._split import quantity_hint
from ._thresholds import Thresholds
from ._view import AuditData


def class_imbalance(data: AuditData, t: Thresholds) -> list[Finding]:
    """The largest class outnumbers the smallest by more than `imbalance_ratio` (10).

    The ratio and threshold are SageMaker Debugger's ClassImbalance rule. Severity `warning`;
    the remedies are `class_weights` and `balanced_sampler`. Evidence: counts per class and
    the rows of the smallest class (score: its share of the training rows).
    """
    if data.task != "classification":
        return []
    counts = np.bincount(data.y, minlength=len(data.classes))
    present = counts[counts > 0]
    ratio = float(present.max() / present.min())
    if ratio <= t.imbalance_ratio:
        return []
    small = int(np.flatnonzero(counts == present.min())[0])
    return [
        Finding(
            code="class_imbalance",
            severity="warning",
            source="data",
            message=(
                f"Class {data.classes[small]!r} has {present.min()} training rows against "
                f"{present.max()} for the largest class (ratio {ratio:.1f}): add data.remedies: "
                f"[class_weights] or [balanced_sampler].{_quantity(data)}"
            ),
            evidence={
                "counts": {data.classes[i]: int(c) for i, c in enumerate(counts)},
                "ratio": round(ratio, 3),
                "smallest_class": data.classes[small],
                "rows": data.rows[data.y == small].tolist(),
                "score": round(float(present.min() / len(data.y)), 4),
            },
        )
    ]


def small_dataset(data: AuditData, t: Thresholds) -> list[Finding]:
    """Too few training rows per class, and rows per model parameter.

    `warning` when a class has fewer than `min_per_class` (10) training rows: cross-validation
    and a validation split then hold one or two of them. Rows per parameter is reported as
    `info` only when there are fewer rows than parameters/1000: networks are routinely
    over-parameterised (iris trains fine at 90 rows for 67k weights), so it is context, not
    a verdict.
    """
    n = len(data.y)
    evidence: dict = {"training_rows": n}
    if data.n_params:
        evidence["parameters"] = data.n_params
        evidence["rows_per_parameter"] = round(n / data.n_params, 6)
    if data.task == "classification":
        counts = np.bincount(data.y, minlength=len(data.classes))
        evidence["per_class"] = {data.classes[i]: int(c) for i, c in enumerate(counts)}
        few = [data.classes[i] for i in np.flatnonzero(counts < t.min_per_class)]
        if few:
            evidence["small_classes"] = few
            return [
                Finding(
                    code="small_dataset",
                    severity="warning",
                    source="data",
                    message=(
                        f"{len(few)} classes have fewer than {t.min_per_class} training rows "
                        f"({', '.join(map(repr, few[:5]))}): collect more, or merge classes."
                        f"{_quantity(data)}"
                    ),
                    evidence=evidence,
                )
            ]
    if data.n_params and n * 1000 < data.n_params:
        return [
            Finding(
                code="small_dataset",
                severity="info",
                source="data",
                message=(
                    f"{n} training rows for {data.n_params} parameters: expect overfitting "
                    "without regularisation or a smaller model."
                ),
                evidence=evidence,
            )
        ]
    return []


def _quantity(data: AuditData) -> str:
    """A sentence saying many number classes may be a quantity (`quantity_hint`), or ""."""
    hint = quantity_hint(data.classes)  # it starts with the count of classes
    return f" {hint}." if hint else ""
