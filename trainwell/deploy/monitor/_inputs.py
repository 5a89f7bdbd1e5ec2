"""What `trainwell monitor` reads as DATA: a CSV/Parquet file with the training columns (the
target optional), an NPZ with `X` (and optionally `y`), or the service's request log (a
`.jsonl` file or a folder of them, interfaces.md). Everything becomes raw rows in the
model's feature order, as `Run.predict` takes them; a mismatch is one InputError line."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...data import DataInfo, frame_features, read_frame
from ...data._encode import names as _names
from ...errors import InputError

LABELS = ["label", "target"]  # the label column's names when none is given, as fit's
UNLABELLED = -1  # the class id of a row whose label is missing: accuracy leaves it out


@dataclass
class Batch:
    """Rows to monitor, oldest first."""

    X: np.ndarray  # raw inputs, (n, *input_shape)
    y: np.ndarray | None  # class ids or targets, when the data has labels
    times: list[str] | None  # per row, from a request log
    source: str
    notes: list[str] = field(default_factory=list)  # what was ignored or could not be read


def read_batch(path: str | Path, info: DataInfo, target: str | None) -> Batch:
    path = Path(path)
    if not path.exists():
        raise InputError(f"DATA: no such file or folder: {path}")
    if path.is_dir() or path.suffix.lower() == ".jsonl":
        return _read_log(path, info)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        labels = [target] if target else LABELS
        return frame_rows(read_frame(path, labels), info, target, str(path))
    if suffix == ".npz":
        return _from_npz(path, info)
    raise InputError(
        f"DATA: unsupported file type {suffix or '(none)'!r} for {path}: use a .csv, .parquet "
        "or .npz file, or the service's request log (.jsonl, or a folder of them)"
    )


def frame_rows(
    frame: pd.DataFrame,
    info: DataInfo,
    target: str | None,
    source: str,
    unknown: int | None = None,
) -> Batch:
    """The model's inputs from a table's columns, and its labels where it has them
    (`unknown`: see `class_ids`)."""
    if len(info.input_shape) != 1:
        raise InputError(f"{source}: the model takes images; monitor an .npz or a request log")
    label = next((c for c in ([target] if target else LABELS) if c in frame), None)
    X, notes = frame_features(frame, info, source, label)
    y = class_ids(frame[label].to_numpy(), info, source, unknown) if label else None
    unlabelled = int(np.sum(y == UNLABELLED)) if y is not None and info.classes else 0
    if unlabelled:
        notes.append(f"{unlabelled} row(s) without a label: accuracy is measured on the others")
    return Batch(X, y, None, source, [*notes, *_missing(X, info)])


def _missing(X: np.ndarray, info: DataInfo) -> list[str]:
    """A note on the rows with missing values, and what the model reads in their place."""
    rows = int((~np.isfinite(X.reshape(len(X), -1))).any(axis=1).sum())
    if not rows:
        return []
    what = (
        "the training medians (as data.remedies: [impute] did)"
        if info.fill
        else "the training means (the model never saw a missing value)"
    )
    return [f"{rows} row(s) with missing values: read with {what}"]


def _from_npz(path: Path, info: DataInfo) -> Batch:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "X" not in archive.files:
                raise InputError(f"NPZ {path} needs an array 'X'; it has: {_names(archive.files)}")
            X = archive["X"]
            y = archive["y"] if "y" in archive.files else None
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read NPZ {path}: {str(exc).splitlines()[0]}") from None
    X = shaped(X, info, str(path))
    if y is not None and len(y) != len(X):
        raise InputError(f"arrays 'X' and 'y' in {path} differ in length: {len(X)} vs {len(y)}")
    y = class_ids(y, info, str(path)) if y is not None else None
    return Batch(X, y, None, str(path), _missing(X, info))


def _read_log(path: Path, info: DataInfo) -> Batch:
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files:
        raise InputError(f"DATA: the folder {path} holds no request log (*.jsonl)")
    rows: list[list[float]] = []
    times: list[str] = []
    skipped = 0
    for file in files:
        for line in file.read_text().splitlines():
            try:
                record = json.loads(line)
                inputs = [[float(v) for v in row] for row in record["inputs"]]
            except (ValueError, TypeError, KeyError):  # a line cut by a rotation, or foreign
                skipped += line.strip() != ""
                continue
            rows += inputs
            times += [str(record.get("time", ""))] * len(inputs)
    order = np.argsort(np.asarray(times, dtype=object), kind="stable") if times else []
    width = int(np.prod(info.input_shape))
    if any(len(r) != width for r in rows):
        bad = next(len(r) for r in rows if len(r) != width)
        raise InputError(f"request log {path}: a row has {bad} inputs; the model takes {width}")
    X = shaped(np.asarray(rows, dtype=np.float32).reshape(len(rows), width), info, str(path))
    notes = [f"skipped {skipped} line(s) of the log that are not requests"] if skipped else []
    return Batch(X[order], None, [times[i] for i in order], str(path), notes)


def shaped(X: np.ndarray, info: DataInfo, source: str) -> np.ndarray:
    if X.dtype.kind not in "biuf":
        raise InputError(f"{source}: inputs must be numeric; got dtype {X.dtype}")
    shape = list(info.input_shape)
    if len(X) and list(X.shape[1:]) != shape:
        try:
            X = X.reshape(len(X), *shape)
        except ValueError:
            raise InputError(
                f"{source}: rows of shape {list(X.shape[1:])} do not fit the model's input {shape}"
            ) from None
    return np.asarray(X, dtype=np.float32).reshape(len(X), *shape)


def class_ids(
    values: np.ndarray, info: DataInfo, source: str, unknown: int | None = None
) -> np.ndarray:
    """Class ids by class name ("3", not "3.0"), or float targets for regression; a label
    the model does not know is refused, or read as `unknown` where given."""
    if info.task == "regression":
        return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(np.float32)
    names = [None if _unlabelled(v) else _name(v) for v in values]
    index = {c: i for i, c in enumerate(info.classes)} | {None: UNLABELLED}
    new = sorted({n for n in names if n not in index})
    if new and unknown is None:
        raise InputError(
            f"{source}: labels the model does not know: {_names(new)} "
            f"(its classes: {_names(info.classes)})"
        )
    return np.array([index.get(n, unknown) for n in names], dtype=np.int64)


def _unlabelled(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or bool(pd.isna(value))


def _name(value: object) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)
