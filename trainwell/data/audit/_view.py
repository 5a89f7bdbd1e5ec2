"""What the checks look at: the splits as flat float matrices, with shared, lazily built
helpers (a standardised space and a nearest-neighbour graph) so no check computes them twice."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sklearn.neighbors import NearestNeighbors

from .._dataset import Dataset
from .._split import flat_rows


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
    def index(self) -> NearestNeighbors:
        return NearestNeighbors().fit(self.X_space)

    @cached_property
    def neighbours(self) -> tuple[np.ndarray, np.ndarray]:
        """Distances and positions of each training row's nearest other training rows."""
        k = min(6, len(self.X))
        distances, positions = self.index.kneighbors(n_neighbors=k - 1)
        return distances, positions

    @cached_property
    def typical_distance(self) -> float:
        """Median distance of a training row to its nearest neighbour (0 if all coincide)."""
        return float(np.median(self.neighbours[0][:, 0]))
