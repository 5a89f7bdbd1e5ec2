"""A table's rows as a trained model reads them: its columns picked by name, in the order
`data.json` gives (`DataInfo.feature_names`), text columns one-hot encoded as training
encoded them. What `Run.predict`, an ONNX variant and `trainwell monitor` take from a
pandas DataFrame: read by position, a frame whose columns are in another order predicts
silently wrong values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ._dataset import DataInfo

SHOWN = 8  # names listed in an error before "..."


def frame_features(
    frame: pd.DataFrame, info: DataInfo, source: str, label: str | None = None
) -> tuple[np.ndarray, list[str]]:
    """(float32 rows in `info.feature_names`' order, notes on what was ignored); a column
    the model needs that the frame lacks, or text where a number belongs, is one
    InputError naming it. `label`: a column to leave out of the notes."""
    numeric = [n for n in info.feature_names if n.partition("=")[0] not in info.encoding]
    encoded = [c for c in info.encoding if c in frame.columns or not _one_hot(frame, info, c)]
    needed = numeric + encoded  # a text column, or the one-hot columns training made of it
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source} lacks {len(missing)} of the model's feature columns: {names(missing)}"
        )
    notes = []
    used = set(needed) | set(info.feature_names)
    extra = [c for c in frame.columns if c not in used and c != label]
    if extra:
        notes.append(f"ignored {len(extra)} column(s) the model does not use: {names(extra)}")
    columns = []
    for name in info.feature_names:
        column, sep, category = name.partition("=")
        if sep and column in encoded:
            text = (
                frame[column]
                .astype(object)
                .where(frame[column].notna())
                .map(str, na_action="ignore")
            )
            columns.append((text == category).to_numpy(dtype=np.float32))
        else:
            values = pd.to_numeric(frame[name], errors="coerce")
            bad = values.isna() & frame[name].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(f"{source}: column {name!r} is not numeric (row {row})")
            columns.append(values.to_numpy(dtype=np.float32, na_value=np.nan))
    for column in encoded:
        categories = info.encoding[column]
        known = frame[column].dropna().astype(str).isin([str(c) for c in categories])
        if not known.all():
            notes.append(
                f"column {column!r}: {int((~known).sum())} value(s) in categories the model "
                "never saw (encoded as none of them)"
            )
    X = np.stack(columns, axis=1) if columns else np.empty((len(frame), 0), np.float32)
    return X, notes


def _one_hot(frame: pd.DataFrame, info: DataInfo, column: str) -> bool:
    """Whether `frame` holds every one-hot column training made of text `column`."""
    made = [n for n in info.feature_names if n.partition("=")[0] == column]
    return bool(made) and all(n in frame.columns for n in made)


def names(items: list[str]) -> str:
    """`items` quoted and joined, the first `SHOWN` of them."""
    shown = ", ".join(repr(str(n)) for n in items[:SHOWN])
    return shown + (f", ... ({len(items) - SHOWN} more)" if len(items) > SHOWN else "")
