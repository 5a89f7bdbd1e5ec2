"""Remedies that change the data before training: drop or relabel flagged rows, impute.

Each acts on the training split through the rows a finding names (source indices), marks
that finding as remedied, and returns a repair record ("before training": no epoch).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer

from ..findings import Finding
from ._dataset import Dataset
from ._split import Split, flat_rows

DATA_REMEDIES = (
    "impute",
    "drop_missing",
    "drop_leakage",
    "drop_duplicates",
    "drop_target_outliers",
    "drop_label_issues",
    "relabel_label_issues",
)
_FINDING = {  # the finding each remedy treats
    "impute": "missing_values",
    "drop_missing": "missing_values",
    "drop_leakage": "train_test_leakage",
    "drop_duplicates": "duplicates",
    "drop_target_outliers": "target_outliers",
    "drop_label_issues": "label_issues",
    "relabel_label_issues": "label_issues",
}


def apply_data_remedies(
    data: Dataset, findings: list[Finding], remedies: list[str]
) -> tuple[Dataset, list[dict[str, Any]]]:
    """Apply the data-changing `remedies` in a fixed order (missing values first)."""
    by_code = {f.code: f for f in findings}
    repairs = []
    for name in DATA_REMEDIES:
        if name not in remedies:
            continue
        finding = by_code.get(_FINDING[name])
        data, changed = _apply(name, data, finding)
        if finding is not None:
            finding.remedy, finding.resolved = name, True
        repairs.append(remedy_record(name, finding.code if finding else None, changed))
    return data, repairs


def remedy_record(remedy: str, finding: str | None, changed: str) -> dict[str, Any]:
    """A repair made before training, shaped like the doctor's repairs."""
    return {
        "step": None,
        "epoch": None,
        "remedy": remedy,
        "finding": finding,
        "changed": changed,
        "before": None,
        "after": None,
        "cured": None,
    }


def _apply(name: str, data: Dataset, finding: Finding | None) -> tuple[Dataset, str]:
    if name == "impute":
        return _impute(data)
    if name == "drop_missing":
        return _drop_missing(data)
    rows = finding.evidence["rows"] if finding else []
    if name == "relabel_label_issues":
        return _relabel(data, rows, finding.evidence["predicted_ids"] if finding else [])
    keep = ~np.isin(data.train.rows, rows)
    dropped = int((~keep).sum())
    return _with(data, train=data.train.take(np.flatnonzero(keep))), (
        f"dropped {dropped} training rows"
    )


def _relabel(data: Dataset, rows: list[int], predicted: list[int]) -> tuple[Dataset, str]:
    """Rows an earlier remedy dropped (a leaked or duplicate row) are no longer there."""
    y = data.train.y.copy()
    position = {int(r): i for i, r in enumerate(data.train.rows)}
    relabelled = 0
    for row, cls in zip(rows, predicted, strict=True):
        if int(row) in position:
            y[position[int(row)]] = cls
            relabelled += 1
    train = Split(data.train.X, y, data.train.rows)
    return _with(data, train=train), f"relabelled {relabelled} training rows to the predicted class"


def _impute(data: Dataset) -> tuple[Dataset, str]:
    """Training-split medians fill every split; a column with no value at all gets 0."""
    imputer = SimpleImputer(strategy="median", keep_empty_features=True)
    imputer.fit(flat_rows(data.train.X))
    filled = 0

    def fill(split: Split) -> Split:
        nonlocal filled
        flat = flat_rows(split.X)
        filled += int(np.isnan(flat).sum())
        X = imputer.transform(flat).astype(np.float32).reshape(split.X.shape)
        return Split(X, split.y, split.rows)

    train, val, test = fill(data.train), fill(data.val), fill(data.test)
    data.info.fill = imputer.statistics_.astype(float).tolist()  # predict and monitor fill so
    return _with(data, train=train, val=val, test=test), (
        f"filled {filled} missing values with training medians"
    )


def _drop_missing(data: Dataset) -> tuple[Dataset, str]:
    """Rows with a missing value go from every split (a model cannot score them either)."""
    counts = []

    def drop(split: Split) -> Split:
        keep = np.flatnonzero(~np.isnan(flat_rows(split.X)).any(1))
        counts.append(len(split) - len(keep))
        return split.take(keep)

    train, val, test = drop(data.train), drop(data.val), drop(data.test)
    return _with(data, train=train, val=val, test=test), (
        f"dropped rows with missing values: {counts[0]} training, {counts[1]} validation, "
        f"{counts[2]} test"
    )


def _with(data: Dataset, **splits: Split) -> Dataset:
    parts = {"train": data.train, "val": data.val, "test": data.test, **splits}
    return Dataset(parts["train"], parts["val"], parts["test"], data.info, data.corruption)
