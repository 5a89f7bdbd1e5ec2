"""Seeded train/val/test splits and standardisation fitted on the training split only."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from ..config import Split as SplitSpec
from ..errors import DataError
from ._table import Table


@dataclass
class Split:
    """One split; `rows` are the source indices of its rows (repeated for leaked copies)."""

    X: np.ndarray
    y: np.ndarray
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, keep: np.ndarray) -> Split:
        return Split(self.X[keep], self.y[keep], self.rows[keep])


MANY_CLASSES = 10  # whole-number classes from which a split error asks: a quantity?


def quantity_hint(classes: Sequence[str]) -> str | None:
    """Where `MANY_CLASSES` or more classes are all numbers (an age, a count read as 48
    classes): that the target may be a quantity, and how to say so; else None."""
    if len(classes) < MANY_CLASSES or not all(map(_is_number, classes)):
        return None
    whole = all(float(name).is_integer() for name in classes)
    return (
        f"{len(classes)} {'whole ' if whole else ''}numbers were taken as classes: if the "
        "target is a quantity, set data.task: regression"
    )


def _is_number(name: str) -> bool:
    try:
        float(name)
    except ValueError:
        return False
    return True


def split_table(table: Table, spec: SplitSpec, seed: int) -> tuple[Split, Split, Split]:
    """Train/val/test, stratified by class for classification when `spec.stratify`. A
    classification target of `MANY_CLASSES` or more classes, more than half as many as its
    rows, is refused: a class per row or two is no task to learn (a price written as text,
    '$392,405.92', read as 600 classes)."""
    rows = np.arange(table.n_rows)
    stratify = spec.stratify and table.task == "classification"
    k = len(table.classes)
    if table.task == "classification" and k >= MANY_CLASSES and k > table.n_rows / 2:
        example = ", ".join(repr(name) for name in table.classes[:2])
        quantity = quantity_hint(table.classes) or (
            "if it is a quantity, write it as plain numbers and set data.task: regression"
        )
        raise DataError(
            f"the target has {k} classes in {table.n_rows} rows ({example}, ...): too few "
            f"rows a class to learn ({quantity})"
        )
    try:
        rest, test = train_test_split(
            rows,
            test_size=spec.test,
            random_state=seed,
            stratify=table.y if stratify else None,
        )
        train, val = train_test_split(
            rest,
            test_size=spec.val / (1 - spec.test),
            random_state=seed,
            stratify=table.y[rest] if stratify else None,
        )
    except ValueError as exc:
        hint = " (a class may be too small: add rows or set data.split.stratify: false)"
        why = str(exc)
        if stratify:  # scikit-learn names classes by index: name the small ones, with a count
            counts = np.bincount(table.y.astype(np.int64), minlength=len(table.classes))
            few = [
                f"{name!r} ({n})" for name, n in zip(table.classes, counts, strict=True) if n < 3
            ]
            if few:
                why = f"each class needs 3 rows or more to stratify; fewer: {', '.join(few[:5])}"
            quantity = quantity_hint(table.classes)
            if quantity is not None:
                hint = f" ({quantity}; else add rows or set data.split.stratify: false)"
        raise DataError(
            f"cannot split {table.n_rows} rows: {why}{hint if stratify else ''}"
        ) from None
    return tuple(
        Split(table.X[i], table.y[i], i) for i in (np.sort(train), np.sort(val), np.sort(test))
    )


@dataclass
class Standardizer:
    """Per-feature (tables) or per-channel (images) mean and std of the training split."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        axes = (0, 2, 3) if X.ndim == 4 else 0
        with warnings.catch_warnings():  # all-NaN columns are the audit's business
            warnings.simplefilter("ignore", RuntimeWarning)
            finite = np.where(np.isfinite(X), X, np.nan)  # an inf is missing, not a scale
            mean = np.nan_to_num(np.nanmean(finite, axis=axes, keepdims=True, dtype=np.float64))
            std = np.nan_to_num(np.nanstd(finite, axis=axes, keepdims=True, dtype=np.float64))
        std[std < 1e-8] = 1.0  # constant features stay constant instead of dividing by zero
        return cls(mean[0].astype(np.float32), std[0].astype(np.float32))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.std).astype(np.float32)


def flat_rows(X: np.ndarray) -> np.ndarray:
    """One float64 row per sample (images flattened), with inf as NaN: what imputers and
    nearest-neighbour checks take."""
    flat = X.reshape(len(X), int(np.prod(X.shape[1:]))).astype(np.float64)
    flat[~np.isfinite(flat)] = np.nan
    return flat
