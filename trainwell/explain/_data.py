"""The rows an explanation looks at: the run's own test split, reloaded from its config and
standardised with the statistics saved in the run, so the model sees what it saw in testing;
for images also a sample of its training images, the reference Grad-CAM measures from."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..data import fill_missing, load_splits, source_masks, standardise
from ..errors import InputError
from ..pipeline import Run

REFERENCE_ROWS = 64  # training images whose mean activation is Grad-CAM's reference


@dataclass
class TestRows:
    """Test rows in model units, with what is needed to name and regroup their inputs."""

    X: torch.Tensor  # standardised model inputs
    raw: np.ndarray  # the same rows in source units
    y: np.ndarray  # classes; regression targets standardised as the model was trained
    rows: np.ndarray  # source row indices
    task: str
    classes: list[str]
    features: list[str]  # model input names (tables); [] for images
    columns: dict[str, list[int]] = field(default_factory=dict)  # source column -> inputs
    masks: np.ndarray | None = None  # (rows, height, width): true defect masks, if any
    reference: torch.Tensor | None = None  # images: training images in model units

    @property
    def is_image(self) -> bool:
        return self.X.ndim == 4


def test_rows(run: Run, limit: int, seed: int = 0, reference: bool = False) -> TestRows:
    """Up to `limit` rows of the run's test split (a seeded sample when there are more);
    `reference`: for images, also a sample of the training images (Grad-CAM's)."""
    if run.info is None:
        raise InputError(f"{run.run_dir} has no data description (data.json): rerun fit")
    if limit < 1:
        raise InputError(f"--rows must be at least 1; got {limit}")
    splits = load_splits(run.config)
    test = splits.test
    keep = _sample(len(test), limit, seed)
    raw = test.X[keep].astype(np.float32)
    if list(raw.shape[1:]) != list(run.info.input_shape):
        raise InputError(
            f"the data of {run.run_dir} now has inputs of shape {list(raw.shape[1:])}, "
            f"the model was trained on {run.info.input_shape}: was the source changed?"
        )
    X = torch.from_numpy(standardise(fill_missing(raw, run.info)[0], run.info))
    y = test.y[keep]
    if run.info.task == "regression":  # the model's outputs are on this scale
        y = ((y - run.info.y_mean) / run.info.y_std).astype(np.float32)
    features = list(run.info.feature_names) if X.ndim == 2 else []
    masks = source_masks(run.config) if X.ndim == 4 else None
    return TestRows(
        X.float(),
        raw,
        y,
        test.rows[keep],
        run.info.task,
        list(run.info.classes),
        features,
        source_columns(features, run.info.encoding),
        None if masks is None else masks[test.rows[keep]],
        _reference(splits.train.X, run, seed) if reference and X.ndim == 4 else None,
    )


def reference_images(run: Run, seed: int = 0) -> torch.Tensor:
    """Up to `REFERENCE_ROWS` of the run's training images (a seeded sample), in model units."""
    return _reference(load_splits(run.config).train.X, run, seed)


def _reference(images: np.ndarray, run: Run, seed: int) -> torch.Tensor:
    raw = np.nan_to_num(images[_sample(len(images), REFERENCE_ROWS, seed)].astype(np.float32))
    return torch.from_numpy(standardise(raw, run.info)).float()


def _sample(rows: int, limit: int, seed: int) -> np.ndarray:
    """Every row index, or a seeded sample of `limit` of them in order when there are more."""
    if rows <= limit:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))


def source_columns(features: list[str], encoding: dict[str, list[str]]) -> dict[str, list[int]]:
    """Inputs grouped by the source column they came from: the one-hot columns `col=cat` of
    a categorical column count as one feature, as a person thinks of it."""
    columns: dict[str, list[int]] = {}
    for i, name in enumerate(features):
        column, sep, category = name.partition("=")
        known = sep and column in encoding and category in map(str, encoding[column])
        columns.setdefault(column if known else name, []).append(i)
    return columns
