"""The reference a window is compared with: `reference.npz` from fit, or for a run trained
before it existed, the same arrays rebuilt from the run's own data source."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data import finish_data, load_splits
from ...errors import InputError
from ...pipeline import Run, calibrated, reference_arrays


@dataclass
class Reference:
    X: np.ndarray | None  # training rows in source units (tables)
    y: np.ndarray
    embedding: np.ndarray | None  # penultimate layer of training images
    val_y: np.ndarray
    val_probabilities: np.ndarray | None  # calibrated (classification)
    val_predictions: np.ndarray | None  # regression, in target units
    temperature: float
    test_counts: tuple[int, int] | None  # correct, rows
    rebuilt: bool  # no reference.npz: rebuilt from the data source


def load_reference(run: Run) -> Reference:
    path = Path(run.run_dir) / "reference.npz"
    rebuilt = not path.is_file()
    arrays = _rebuild(run) if rebuilt else _read(path)
    temperature = float(arrays.get("temperature", 1.0))
    logits = arrays.get("val_logits")
    counts = arrays.get("test_counts")
    return Reference(
        arrays.get("X"),
        arrays["y"],
        arrays.get("embedding"),
        arrays["val_y"],
        calibrated(logits, temperature) if logits is not None else None,
        arrays.get("val_predictions"),
        temperature,
        (int(counts[0]), int(counts[1])) if counts is not None else None,
        rebuilt,
    )


def _read(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None


def _rebuild(run: Run) -> dict[str, np.ndarray]:
    """The run's splits again (same config, same seed), as fit would have stored them."""
    source = run.config.data.source
    try:
        data = finish_data(load_splits(run.config), run.config)
    except (InputError, OSError) as exc:
        raise InputError(
            f"{run.run_dir} has no reference.npz (trained before monitoring existed) and its "
            f"data source {source!r} cannot be loaded to rebuild it: {exc}"
        ) from None
    if run.info is None or list(data.info.input_shape) != list(run.info.input_shape):
        raise InputError(
            f"{run.run_dir} has no reference.npz and its data source {source!r} no longer "
            "matches the model's inputs: refit the run"
        )
    data.info = run.info  # standardise exactly as the model was trained
    return reference_arrays(run.model, data, run.config.seed)
