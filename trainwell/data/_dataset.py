"""From a config to train/val/test arrays: load, split, corrupt, standardise."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig
from ..errors import DataError, InputError
from ._builtin import NAMES, load_builtin
from ._corrupt import corrupt_splits
from ._defects import generate_defects
from ._files import load_file
from ._split import Split, Standardizer, split_table
from ._table import Table, Task


@dataclass
class DataInfo:
    """What training, evaluation and inference need to know about the data (data.json)."""

    source: str
    task: Task
    input_shape: list[int]
    classes: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    encoding: dict[str, Any] = field(default_factory=dict)
    x_mean: list[float] | None = None
    x_std: list[float] | None = None
    y_mean: float = 0.0  # regression targets are trained standardised
    y_std: float = 1.0
    sizes: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # source columns not used, and why
    capped: dict[str, dict[str, float]] = field(default_factory=dict)  # see `Table.capped`
    fill: list[float] | None = None  # per input, what `impute` filled missing values with

    @property
    def n_outputs(self) -> int:
        return len(self.classes) if self.task == "classification" else 1

    @property
    def is_image(self) -> bool:
        """Images, also digits flattened for an mlp: ε is then a share of the pixel range."""
        return len(self.input_shape) == 3 or self.source == "digits"


@dataclass
class Dataset:
    train: Split
    val: Split
    test: Split
    info: DataInfo
    corruption: dict[str, Any]


def load_table(config: RunConfig) -> Table:
    """The source named by `data.source`, whole and in source order."""
    data = config.data
    if data.source == "defects":
        table = generate_defects(data.defects, config.seed)
    elif data.source in NAMES:
        table = load_builtin(
            data.source,
            as_image=config.model.convolutional,
            synthetic=data.synthetic,
            seed=config.seed,
        )
    elif Path(data.source).suffix or Path(data.source).exists():
        table = load_file(
            data.source,
            target=data.target,
            task=data.task,
            image_size=data.image_size,
            grayscale=data.grayscale,
        )
    else:
        raise DataError(
            f"data.source {data.source!r} is neither a file, a folder nor one of: "
            f"{', '.join(NAMES)}, defects"
        )
    if data.task != "auto" and data.task != table.task:
        raise DataError(f"data.task is {data.task!r} but {data.source} is a {table.task} problem")
    return table


def prepare_data(config: RunConfig) -> Dataset:
    """Load, split (seeded, stratified), corrupt the training split, standardise."""
    return finish_data(load_splits(config), config)


def load_splits(config: RunConfig) -> Dataset:
    """Load, split and corrupt, in source units: what the data audit looks at."""
    table = load_table(config)
    if config.model.convolutional and not table.is_image:
        raise DataError(
            f"model.arch {config.model.arch!r} needs image data; {config.data.source} is a table "
            "(use model.arch: mlp)"
        )
    if table.task == "classification" and len(np.unique(table.y)) < 2:
        raise DataError(f"{config.data.source} has a single class: classification needs two")
    train, val, test = split_table(table, config.data.split, config.seed)
    if len(train) < 2 or not len(val) or not len(test):  # one row has no neighbour to audit
        raise DataError(
            f"{config.data.source} has {len(table.y)} rows: too few to split into training "
            f"({len(train)}), validation ({len(val)}) and test ({len(test)}) rows"
        )
    if table.task == "classification" and len(np.unique(train.y)) < 2:
        raise DataError(
            f"the training split of {config.data.source} holds a single class ({len(train)} "
            "rows): add rows, or keep data.split.stratify on"
        )
    train, val, test, corruption = corrupt_splits(
        train,
        val,
        test,
        config.data.corrupt,
        task=table.task,
        n_classes=len(table.classes),
        seed=config.seed,
    )
    info = DataInfo(
        source=config.data.source,
        task=table.task,
        input_shape=list(table.X.shape[1:]),
        classes=table.classes,
        feature_names=table.feature_names,
        encoding=table.encoding,
        left_out=table.left_out,
        capped=table.capped,
    )
    return Dataset(train, val, test, info, corruption)


def finish_data(data: Dataset, config: RunConfig) -> Dataset:
    """Standardise (when configured) and scale regression targets, fitted on training rows."""
    train, val, test, info = data.train, data.val, data.test, data.info
    info.sizes = {"train": len(train), "val": len(val), "test": len(test)}
    if config.data.standardize or "standardize" in config.data.remedies:
        scaler = Standardizer.fit(train.X)
        train, val, test = (Split(scaler.transform(s.X), s.y, s.rows) for s in (train, val, test))
        info.x_mean, info.x_std = scaler.mean.ravel().tolist(), scaler.std.ravel().tolist()
    if info.task == "regression":
        info.y_mean, info.y_std = float(train.y.mean()), float(train.y.std() or 1.0)
        train, val, test = (
            Split(s.X, ((s.y - info.y_mean) / info.y_std).astype(np.float32), s.rows)
            for s in (train, val, test)
        )
    return Dataset(train, val, test, info, data.corruption)


def source_masks(config: RunConfig) -> np.ndarray | None:
    """The defect masks of the source, by source row (None when it has none): generated for
    `defects`, read from `masks/` for an image folder."""
    source = config.data.source
    if source != "defects" and not (Path(source) / "masks").is_dir():
        return None
    return load_table(config).masks


def fill_missing(X: Any, info: DataInfo) -> tuple[np.ndarray, int]:
    """Raw rows with their missing values filled as training filled them (`DataInfo.fill`,
    the `impute` remedy's medians), else with the training mean (what a standardised 0
    stands for, and what the audit reads a missing value as); and how many rows had one.
    A NaN fed to the network makes every output NaN: class 0 for every such row."""
    X = np.array(X, dtype=np.float32)
    rows = X.reshape(len(X), -1)
    missing = ~np.isfinite(rows)
    if not missing.any():
        return X, 0
    if info.fill is not None:
        values = np.asarray(info.fill, np.float32)
    elif info.x_mean is not None and len(info.x_mean) == rows.shape[1]:
        values = np.asarray(info.x_mean, np.float32)
    else:
        values = np.zeros(rows.shape[1], np.float32)
    rows[missing] = np.broadcast_to(values, rows.shape)[missing]
    return rows.reshape(X.shape), int(missing.any(axis=1).sum())


def standardise(X: Any, info: DataInfo) -> np.ndarray:
    """Raw rows in `info`'s feature order -> the network's input: shaped as `input_shape`,
    standardised by the training split's mean and std (per feature, or per image channel)."""
    shape = list(info.input_shape)
    X = np.asarray(X, dtype=np.float32)
    try:
        X = X.reshape(-1, *shape)
    except ValueError:
        raise InputError(
            f"input rows of shape {X.shape[1:]} do not fit the model's input {shape}"
        ) from None
    if info.x_mean is not None:
        axis = (-1, 1, 1) if len(shape) == 3 else (-1,)
        X = (X - np.asarray(info.x_mean, np.float32).reshape(axis)) / np.asarray(
            info.x_std, np.float32
        ).reshape(axis)
    return np.ascontiguousarray(X, dtype=np.float32)
