"""Run every data check on a dataset, timing each."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from threadpoolctl import threadpool_limits

from ...findings import Finding
from .._dataset import Dataset
from ._classes import class_imbalance, small_dataset
from ._columns import (
    category_variants,
    constant_features,
    identifier_columns,
    many_categories,
    missing_values,
    unscaled_features,
)
from ._labels import label_issues
from ._neighbours import duplicates, outliers, train_test_leakage
from ._target import target_outliers
from ._thresholds import Thresholds
from ._view import AuditData

Check = Callable[[AuditData, Thresholds], list[Finding]]

CHECKS: dict[str, Check] = {
    "missing_values": missing_values,
    "identifier_columns": identifier_columns,
    "many_categories": many_categories,
    "category_variants": category_variants,
    "constant_features": constant_features,
    "unscaled_features": unscaled_features,
    "class_imbalance": class_imbalance,
    "small_dataset": small_dataset,
    "duplicates": duplicates,
    "train_test_leakage": train_test_leakage,
    "outliers": outliers,
    "target_outliers": target_outliers,
    "label_issues": label_issues,
}


@dataclass
class AuditResult:
    findings: list[Finding]
    seconds: dict[str, float] = field(default_factory=dict)  # per check, in CHECKS order


def audit_dataset(
    data: Dataset,
    *,
    standardized: bool = True,
    n_params: int | None = None,
    thresholds: Thresholds | None = None,
    checks: dict[str, Check] | None = None,
    on_check: Callable[[str], None] | None = None,
) -> AuditResult:
    """Every check on the training split of `data` (in source units, before standardising).

    `standardized` says whether the run will standardise the inputs; `n_params` is the size
    of the model to be trained; `on_check` is told each check's name as it starts.
    """
    view = AuditData(data, standardized=standardized, n_params=n_params)
    t = thresholds or Thresholds()
    findings: list[Finding] = []
    seconds: dict[str, float] = {}
    # one BLAS thread: these small problems run 10-30x slower when threads oversubscribe
    with threadpool_limits(1):
        for name, check in (checks or CHECKS).items():
            if on_check:
                on_check(name)
            started = time.perf_counter()
            findings += check(view, t)
            seconds[name] = round(time.perf_counter() - started, 4)
    return AuditResult(findings, seconds)
