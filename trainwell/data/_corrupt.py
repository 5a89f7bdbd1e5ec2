"""Controlled corruption of the training split, with the ground truth of what changed.

Everything is drawn from the run's seed, so the same config corrupts the same rows. The
record (`corruption.json`) names rows by their source index, the same index findings use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import Corrupt
from ..errors import DataError
from ._split import Split


def corrupt_splits(
    train: Split, val: Split, test: Split, spec: Corrupt, *, task: str, n_classes: int, seed: int
) -> tuple[Split, Split, Split, dict[str, Any]]:
    """Apply every non-default knob of `spec`; returns the new splits and the record."""
    rng = np.random.default_rng([seed, 0xC0FFEE])
    record: dict[str, Any] = {}
    if spec.imbalance is not None:
        train, record["imbalance"] = _imbalance(
            train, spec.imbalance.class_, spec.imbalance.keep, n_classes, rng
        )
    if spec.label_noise > 0:
        if task != "classification":
            raise DataError("data.corrupt.label_noise needs a classification task")
        train, record["label_noise"] = _label_noise(train, spec.label_noise, n_classes, rng)
    if spec.leak_fraction > 0:
        train, record["leak_fraction"] = _leak(train, test, spec.leak_fraction, rng)
    if spec.nan_fraction > 0:
        train, record["nan_fraction"] = _nans(train, spec.nan_fraction, rng)
    if spec.feature_scale != 1.0:
        train, val, test = (_scaled(s, spec.feature_scale) for s in (train, val, test))
        record["feature_scale"] = {"factor": spec.feature_scale}
    return train, val, test, record


def _imbalance(
    train: Split, cls: int, keep: float, n_classes: int, rng: np.random.Generator
) -> tuple[Split, dict[str, Any]]:
    if cls >= n_classes:
        raise DataError(
            f"data.corrupt.imbalance.class {cls} does not exist (classes are 0..{n_classes - 1})"
        )
    members = np.flatnonzero(train.y == cls)
    n_drop = len(members) - max(1, round(keep * len(members)))
    dropped = rng.choice(members, size=n_drop, replace=False)
    kept = np.setdiff1d(np.arange(len(train)), dropped)
    return train.take(kept), {
        "class": cls,
        "keep": keep,
        "dropped_rows": sorted(train.rows[dropped].tolist()),
    }


def _label_noise(
    train: Split, fraction: float, n_classes: int, rng: np.random.Generator
) -> tuple[Split, dict[str, Any]]:
    picked = np.sort(rng.choice(len(train), size=round(fraction * len(train)), replace=False))
    original = train.y[picked]
    new = (original + rng.integers(1, n_classes, size=len(picked))) % n_classes  # never same
    y = train.y.copy()
    y[picked] = new
    return Split(train.X, y, train.rows), {
        "rows": train.rows[picked].tolist(),
        "original": original.tolist(),
        "new": new.tolist(),
    }


def _leak(
    train: Split, test: Split, fraction: float, rng: np.random.Generator
) -> tuple[Split, dict[str, Any]]:
    picked = np.sort(rng.choice(len(test), size=round(fraction * len(test)), replace=False))
    leaked = Split(
        np.concatenate([train.X, test.X[picked]]),
        np.concatenate([train.y, test.y[picked]]),
        np.concatenate([train.rows, test.rows[picked]]),
    )
    return leaked, {"rows": test.rows[picked].tolist()}


def _nans(train: Split, fraction: float, rng: np.random.Generator) -> tuple[Split, dict[str, Any]]:
    X = train.X.copy()
    flat = X.reshape(len(X), -1)
    cells = rng.choice(flat.size, size=round(fraction * flat.size), replace=False)
    row_pos, col = np.divmod(cells, flat.shape[1])
    flat[row_pos, col] = np.nan
    rows = np.unique(train.rows[row_pos])
    return Split(X, train.y, train.rows), {"rows": rows.tolist(), "cells": len(cells)}


def _scaled(split: Split, factor: float) -> Split:
    return Split((split.X * factor).astype(np.float32), split.y, split.rows)
