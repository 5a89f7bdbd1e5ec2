"""What the checks look at: the splits as flat float matrices, with shared, lazily built
helpers (a standardised space, nearest neighbours, a tree of the distinct rows) so no check
computes them twice.

Cost at scale: exact nearest neighbours of every row cost n^2 distances (7 s of one core for
60,000 rows of 20 features), so past `REFERENCE_ROWS` training rows each row's neighbours are
sought among a fixed random reference of that many rows (Zimek et al., "Subsampling for
efficient and effective unsupervised outlier detection ensembles", KDD 2013), and the median
nearest-neighbour distance is estimated from `SAMPLE_ROWS` rows. Duplicates and leakage stay
exact at any size: hashing for identical rows, radius queries of a k-d tree for near ones.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.neighbors import KDTree, NearestNeighbors
from threadpoolctl import threadpool_limits

from ...cpus import available_cpus
from .._dataset import Dataset
from .._split import flat_rows

REFERENCE_ROWS = 60_000  # exact neighbours up to this many training rows (a 100k-row table)
SAMPLE_ROWS = 2_000  # rows whose nearest-neighbour distance estimates the median past it
NEIGHBOURS = 5  # per row, for the outlier score


@dataclass
class AuditData:
    """The training split is audited; val and test are only compared against it."""

    data: Dataset
    standardized: bool  # the run standardises inputs (data.standardize or the remedy)
    n_params: int | None = None  # of the model to be trained, when known

    @property
    def task(self) -> str:
        return self.data.info.task

    @property
    def classes(self) -> list[str]:
        return self.data.info.classes

    @property
    def y(self) -> np.ndarray:
        return self.data.train.y

    @property
    def rows(self) -> np.ndarray:
        return self.data.train.rows

    @cached_property
    def X(self) -> np.ndarray:
        """Training inputs, one row per sample (images flattened), non-finite as NaN."""
        return flat_rows(self.data.train.X)

    @cached_property
    def held_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Validation and test inputs stacked, and their source rows."""
        X = np.concatenate([flat_rows(self.data.val.X), flat_rows(self.data.test.X)])
        return X, np.concatenate([self.data.val.rows, self.data.test.rows])

    @cached_property
    def scaler(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature mean and std of the training rows, ignoring NaN (std 0 -> 1)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            mean = np.nan_to_num(np.nanmean(self.X, axis=0))
            std = np.nan_to_num(np.nanstd(self.X, axis=0))
        std[std < 1e-8] = 1.0
        return mean, std

    def space(self, X: np.ndarray) -> np.ndarray:
        """Standardised with the training statistics; missing values at the mean (0)."""
        mean, std = self.scaler
        return np.nan_to_num((X - mean) / std, nan=0.0, posinf=0.0, neginf=0.0)

    @cached_property
    def X_space(self) -> np.ndarray:
        """The training rows in `space`, computed once for the index and the checks."""
        return self.space(self.X)

    @cached_property
    def distinct(self) -> tuple[np.ndarray, np.ndarray]:
        """The first position of each distinct training row, and each row's distinct id."""
        _, first, inverse = np.unique(
            canonical(self.X), axis=0, return_index=True, return_inverse=True
        )
        return first, inverse.ravel()

    @cached_property
    def tree(self) -> KDTree:
        """A k-d tree of the distinct training rows in `space`, for radius queries: a ball of
        the near-duplicate radius holds a handful of rows, where a brute-force query would
        measure the distance to every training row."""
        return KDTree(self.X_space[self.distinct[0]])

    @cached_property
    def reference(self) -> np.ndarray:
        """Positions of the rows that neighbours are sought among: all up to
        `REFERENCE_ROWS`, else that many drawn at random (seeded)."""
        n = len(self.X)
        if n <= REFERENCE_ROWS:
            return np.arange(n)
        return np.sort(np.random.default_rng(0).choice(n, REFERENCE_ROWS, replace=False))

    @cached_property
    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Distances and positions of each training row's `NEIGHBOURS` nearest other rows
        among the `reference` rows (exact: brute force, all the process's CPUs)."""
        n, ref = len(self.X), self.reference
        k = min(NEIGHBOURS, n - 1)
        with threadpool_limits(available_cpus(), user_api="openmp"):
            index = NearestNeighbors(algorithm="brute").fit(self.X_space[ref])
            if len(ref) == n:
                return index.kneighbors(n_neighbors=k)
            distances, positions = index.kneighbors(self.X_space, n_neighbors=k + 1)
        positions = ref[positions]
        keep = positions != np.arange(n)[:, None]  # a reference row is not its own neighbour
        keep[keep.sum(1) > k, k] = False  # other rows drop the farthest of k + 1
        return distances[keep].reshape(n, k), positions[keep].reshape(n, k)

    @cached_property
    def dimension(self) -> float:
        """The intrinsic dimension of the training rows near each other: the mean of each
        row's maximum-likelihood estimate from its nearest neighbours (Levina & Bickel,
        NeurIPS 2004; unbiased with k - 2). Rows whose neighbours lie at one distance (a
        repeat) are left out; none left: infinite (every row is a repeat)."""
        distances = self.neighbours[0]
        k = distances.shape[1]
        if k < 3:
            return math.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(distances[:, -1:] / distances[:, :-1]).sum(1)
        logs = logs[np.isfinite(logs) & (logs > 0)]
        return float(np.mean((k - 2) / logs)) if len(logs) else math.inf

    @cached_property
    def typical_distance(self) -> float:
        """Median distance of a training row to its nearest neighbour (0 if all coincide);
        past `REFERENCE_ROWS`, over `SAMPLE_ROWS` random rows' exact nearest neighbours."""
        if len(self.reference) == len(self.X):
            return float(np.median(self.neighbours[0][:, 0]))
        n = len(self.X)
        sample = np.random.default_rng(1).choice(n, min(SAMPLE_ROWS, n), replace=False)
        with threadpool_limits(available_cpus(), user_api="openmp"):
            index = NearestNeighbors(algorithm="brute").fit(self.X_space)
            distances, positions = index.kneighbors(self.X_space[sample], n_neighbors=2)
        nearest = np.where(positions[:, 0] == sample, distances[:, 1], distances[:, 0])
        return float(np.median(nearest))


def canonical(X: np.ndarray) -> np.ndarray:
    """Rows as bytes-comparable arrays (-0.0 == 0.0, all NaN alike)."""
    return np.nan_to_num(X + 0.0, nan=np.inf).astype(np.float32)
