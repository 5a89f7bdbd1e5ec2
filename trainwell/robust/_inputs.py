"""The inputs an attack works on: a run's test rows as its model sees them, their labels,
and the `Box` that gives ε its unit and the valid data range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import DataInfo, load_splits, standardise
from ..errors import InputError
from ..pipeline import Run
from ..train import Box


@dataclass
class Inputs:
    x: torch.Tensor  # test rows in the model's input space (standardised)
    y: torch.Tensor
    rows: np.ndarray  # their indices in the source
    box: Box
    info: DataInfo

    def to_source(self, x: torch.Tensor) -> np.ndarray:
        """Model-space inputs back in source units (pixels, feature values)."""
        mean, std = _standardisation(self.info, x.ndim)
        return x.detach().cpu().numpy() * std + mean

    @property
    def unit(self) -> str:
        return "fraction of the pixel range" if self.info.is_image else "std per feature"


def attack_inputs(run: Run, rows: int) -> Inputs:
    """Reload the run's data as it was split for training, standardise it as the model was
    trained, and keep `rows` test rows (a seeded sample when there are more)."""
    info = run.info
    if info is None:
        raise InputError(f"{run.run_dir} has no data description (data.json): cannot attack it")
    if info.task != "classification":
        raise InputError(
            f"{run.run_dir} is a {info.task} run: attacks measure classification accuracy"
        )
    data = load_splits(run.config)
    if list(data.test.X.shape[1:]) != list(info.input_shape):
        raise InputError(
            f"{run.config.data.source} no longer has the shape the model was trained on "
            f"({list(data.test.X.shape[1:])} vs {info.input_shape})"
        )
    train, test = standardise(data.train.X, info), standardise(data.test.X, info)
    keep = np.arange(len(test))
    if rows < len(test):
        keep = np.sort(
            np.random.default_rng(run.config.seed).choice(len(test), rows, replace=False)
        )
    box = Box.from_training(train, info.x_mean, info.x_std, image=info.is_image)
    return Inputs(
        torch.from_numpy(np.nan_to_num(test[keep])),
        torch.from_numpy(data.test.y[keep].astype(np.int64)),
        data.test.rows[keep],
        box,
        info,
    )


def _standardisation(info: DataInfo, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    view = (-1, 1, 1) if ndim == 4 else (-1,)
    if info.x_mean is None or info.x_std is None:
        return np.zeros(1, np.float32), np.ones(1, np.float32)
    return (
        np.reshape(np.asarray(info.x_mean, np.float32), view),
        np.reshape(np.asarray(info.x_std, np.float32), view),
    )
