"""`train.cv_folds: K`: k-fold cross-validation beside the ordinary fit.

The train and val splits are pooled and cut into K folds (stratified for classification when
`data.split.stratify`); the test split stays out of it. Each fold trains a fresh model (same
seed, same config, the doctor included) into `<run>/cv/fold-<k>/`, a complete run directory
of its own. The run's summary gains a `cv` key with each fold's val metrics and their mean
and standard deviation (over the folds with a finite value: those of a fold that diverged
are left out, and the fold named in `left_out`); the run's own model is then trained on
the usual split as always. Inputs were standardised on the training split before pooling,
so each fold's val rows have contributed to the feature means it sees (labels never leak).
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from sklearn.model_selection import KFold, StratifiedKFold

from ..config import RunConfig
from ..data import Dataset, Split
from ..errors import DataError


def make_folds(cfg: RunConfig, data: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train rows, val rows) of the pooled train+val split for each fold; DataError if the
    data cannot be cut into `train.cv_folds` folds."""
    k = cfg.train.cv_folds
    y = np.concatenate([data.train.y, data.val.y])
    stratify = cfg.data.split.stratify and data.info.task == "classification"
    splitter = (StratifiedKFold if stratify else KFold)(k, shuffle=True, random_state=cfg.seed)
    counts = np.bincount(y.astype(np.int64)) if stratify else np.zeros(0, np.int64)
    few = [(name, int(n)) for name, n in zip(data.info.classes, counts, strict=False) if 0 < n < k]
    if few:  # scikit-learn warns with its own source line: said once, in words
        named = ", ".join(f"{name!r} ({n})" for name, n in few[:5])
        Console(stderr=True).print(
            f"train.cv_folds {k}: classes with fewer rows than folds in train+val, {named}: "
            "some folds validate without them",
            highlight=False,
            soft_wrap=True,
        )
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="The least populated class", category=UserWarning
            )
            return list(splitter.split(np.zeros(len(y)), y if stratify else None))
    except ValueError as exc:
        raise DataError(f"cannot cut train+val ({len(y)} rows) into {k} folds: {exc}") from None


def cross_validate(
    data: Dataset,
    folds: list[tuple[np.ndarray, np.ndarray]],
    run_dir: Path,
    train_fold: Callable[[Dataset, Path], Any],
) -> dict[str, Any]:
    """Train each fold with `train_fold(dataset, fold_dir)`; the summary's `cv` object."""
    pool = Split(
        np.concatenate([data.train.X, data.val.X]),
        np.concatenate([data.train.y, data.val.y]),
        np.concatenate([data.train.rows, data.val.rows]),
    )
    per_fold = []
    for k, (train_rows, val_rows) in enumerate(folds):
        fold = Dataset(
            pool.take(train_rows), pool.take(val_rows), data.test, data.info, data.corruption
        )
        run = train_fold(fold, run_dir / "cv" / f"fold-{k}")
        val = {name: v for name, v in run.metrics.items() if name.startswith("val_")}
        per_fold.append({"fold": k, "status": run.status, "epochs": run.metrics["epochs"], **val})
    names = [n for n in per_fold[0] if n.startswith("val_")]
    values = {n: [f[n] for f in per_fold if _finite(f.get(n))] for n in names}
    # a fold that diverged has no metric to average: left out of the mean, and named
    left_out = [f["fold"] for f in per_fold if not all(_finite(f.get(n)) for n in names)]
    return {
        "folds": len(folds),
        "mean": {n: statistics.fmean(v) for n, v in values.items() if v},
        "std": {n: statistics.pstdev(v) for n, v in values.items() if v},
        "left_out": left_out,
        "per_fold": per_fold,
    }


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(value)
