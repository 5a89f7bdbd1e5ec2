"""The model a service answers with: a registry version or a run directory, loaded without
running pickled code, plus what turns a request's rows into the network's inputs.

Rows by name carry the training file's source columns; a text column becomes its one-hot
`column=category` inputs, exactly as `trainwell.data` encoded it for training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...data import DataInfo
from ...errors import InputError
from ...pipeline import Run, load_run
from .._ref import resolve_model


@dataclass(frozen=True)
class Column:
    """A source column of the training file: a number, or text from `categories`."""

    name: str
    categories: tuple[str, ...] | None = None  # None: numeric
    others: bool = False  # other text too (`DataInfo.capped`): a value no input stands for


@dataclass(frozen=True)
class Served:
    """One loaded model: `name`/`version` label every answer it makes."""

    name: str
    version: int
    run: Run
    info: DataInfo
    columns: tuple[Column, ...]  # empty when inputs have no names (images)
    ref: str  # what was asked for: NAME@ALIAS, NAME:V or a run directory

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self.info.input_shape))

    @property
    def signature(self) -> tuple[Any, ...]:
        """What the request schema depends on: a version with another one needs a restart."""
        info = self.info
        return (tuple(info.input_shape), tuple(info.feature_names), info.task, tuple(info.classes),
                self.columns)  # fmt: skip

    def label(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version}


def load_served(ref_or_path: str | Path, home: str | Path | None = None) -> Served:
    """Resolve (checking the registry's hashes), load with `weights_only`, describe the inputs."""
    path, version = resolve_model(ref_or_path, home)
    run = load_run(path)
    if run.info is None:
        raise InputError(f"{path} has no data description (data.json): it cannot be served")
    run.model.eval()
    name = version.name if version else Path(path).resolve().name
    number = version.version if version else 0
    return Served(name, number, run, run.info, columns(run.info), str(ref_or_path))


def columns(info: DataInfo) -> tuple[Column, ...]:
    """The training file's source columns, in order (one-hot inputs grouped back)."""
    out: list[Column] = []
    seen: set[str] = set()
    for feature in info.feature_names:
        column, sep, category = feature.partition("=")
        if sep and column in info.encoding and category in map(str, info.encoding[column]):
            if column not in seen:
                kept = tuple(str(c) for c in info.encoding[column])
                out.append(Column(column, kept, others=column in info.capped))
                seen.add(column)
        else:
            out.append(Column(feature))
            seen.add(feature)
    return tuple(out)


def encode_rows(rows: list[dict[str, Any]], served: Served) -> np.ndarray:
    """Rows by source column -> inputs in `data.json`'s feature order (validated); float64,
    so the request log keeps the numbers as sent (the network gets float32)."""
    names = served.info.feature_names
    X = np.zeros((len(rows), len(names)))
    for j, feature in enumerate(names):
        column, sep, category = feature.partition("=")
        if sep and column in served.info.encoding:
            X[:, j] = [row[column] == category for row in rows]
        else:
            X[:, j] = [row[feature] for row in rows]
    return X


@torch.inference_mode()
def predict(served: Served, X: np.ndarray) -> tuple[list[Any], list[list[float]] | None]:
    """Predictions (class names, or values for regression) and class probabilities, from
    the outputs `Run.predict` reads."""
    info = served.info
    out = served.run.outputs(X)
    if info.task == "classification":
        ids = out.argmax(1).tolist()
        return [info.classes[i] for i in ids], torch.softmax(out, 1).tolist()
    return (out[:, 0] * info.y_std + info.y_mean).tolist(), None
