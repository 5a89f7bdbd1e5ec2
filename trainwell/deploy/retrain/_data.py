"""The rows a challenger learns from: the champion's own data source plus new labelled rows,
less the newest rows held out to judge champion against challenger. Written as one file
of the champion's kind (CSV for tables, NPZ for arrays) that the next retrain reads as its
old data, so the history accumulates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...config import RunConfig
from ...data import load_table, read_frame
from ...errors import InputError


@dataclass
class Rows:
    """Labelled rows in the champion's source format: a frame (tables) or arrays (NPZ)."""

    frame: pd.DataFrame | None = None
    X: np.ndarray | None = None
    y: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame) if self.frame is not None else len(self.y)

    def take(self, rows: slice | np.ndarray) -> Rows:
        if self.frame is not None:
            return Rows(frame=self.frame.iloc[rows].reset_index(drop=True))
        return Rows(X=self.X[rows], y=self.y[rows])


def target_name(config: RunConfig, frame: pd.DataFrame | None = None) -> str:
    """The champion's target column: data.target, else "label" or "target" as fit looks."""
    if config.data.target:
        return config.data.target
    if frame is not None and "target" in frame and "label" not in frame:
        return "target"
    return "label"


def old_rows(config: RunConfig) -> Rows:
    """Every row of the champion's data source, in source order."""
    source = Path(config.data.source)
    suffix = source.suffix.lower()
    if suffix in (".csv", ".parquet") and source.is_file():
        names = [config.data.target] if config.data.target else ["label", "target"]
        return Rows(frame=read_frame(source, names))
    table = load_table(config)
    if table.is_image and suffix != ".npz":
        raise InputError(
            f"retrain: the champion learned from {config.data.source}, an image source; "
            "retraining reads tables (CSV/Parquet) and NPZ arrays"
        )
    if suffix == ".npz" or table.is_image:
        return Rows(
            X=table.X,
            y=np.asarray(table.classes, dtype=object)[table.y] if table.classes else table.y,
        )
    frame = pd.DataFrame(table.X, columns=table.feature_names)
    labels = np.asarray(table.classes, dtype=object)[table.y] if table.classes else table.y
    return Rows(frame=frame.assign(**{target_name(config): labels}))


def new_rows(paths: Sequence[str | Path], config: RunConfig, old: Rows) -> Rows:
    """New labelled rows, each file checked against the champion's columns."""
    if not paths:
        raise InputError("retrain needs DATA: one or more files of new labelled rows")
    parts = [_one(Path(p), config, old) for p in paths]
    if old.frame is not None:
        return Rows(frame=pd.concat([p.frame for p in parts], ignore_index=True))
    return Rows(X=np.concatenate([p.X for p in parts]), y=np.concatenate([p.y for p in parts]))


def _one(path: Path, config: RunConfig, old: Rows) -> Rows:
    if not path.is_file():
        raise InputError(f"DATA: no such file: {path}")
    suffix = path.suffix.lower()
    if old.frame is not None:
        if suffix not in (".csv", ".parquet"):
            raise InputError(f"DATA {path}: the champion learned from a table; give CSV or Parquet")
        target = target_name(config, old.frame)
        frame = read_frame(path, [target])
        missing = [c for c in old.frame.columns if c not in frame.columns]
        if missing:
            shown = ", ".join(repr(c) for c in missing[:8])
            what = "the target column" if missing == [target] else "columns of the training data"
            raise InputError(f"DATA {path} lacks {what}: {shown} (retraining needs labels)")
        frame = frame[list(old.frame.columns)]
        if frame[target].isna().any():
            raise InputError(f"DATA {path}: the target column {target!r} has missing labels")
        return Rows(frame=frame)
    if suffix != ".npz":
        raise InputError(f"DATA {path}: the champion learned from arrays; give an .npz")
    with np.load(path, allow_pickle=False) as archive:
        if not {"X", "y"} <= set(archive.files):
            raise InputError(f"NPZ {path} needs arrays 'X' and 'y' (retraining needs labels)")
        X, y = archive["X"].astype(np.float32), archive["y"]
    if X.shape[1:] != old.X.shape[1:]:
        raise InputError(
            f"NPZ {path}: rows of shape {X.shape[1:]}, the champion's {old.X.shape[1:]}"
        )
    return Rows(X=X, y=y)


def write_rows(rows: Rows, path: Path, config: RunConfig) -> Path:
    """The combined rows as a file fit can read; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if rows.frame is not None:
        path = path.with_suffix(".csv")
        rows.frame.to_csv(path, index=False)
    else:
        path = path.with_suffix(".npz")
        y = rows.y
        if y.dtype == object:  # class names back to numbers where they are numbers
            y = pd.to_numeric(pd.Series(y)).to_numpy()
        np.savez_compressed(path, X=rows.X, y=y)
    return path
