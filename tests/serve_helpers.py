"""Shared by the registry and service tests: a user's own CSV (numbers and a text column),
small runs trained on it, and a real uvicorn server on a free loopback port in a thread."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trainwell

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def write_csv(path: Path, rows: int = 240, seed: int = 0) -> Path:
    """Two numeric columns and a text column that all carry the label, and a customer number
    the run leaves out of its inputs (an identifier), which whole records sent to the
    service still hold."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, rows)
    frame = pd.DataFrame({
        "size": rng.normal(label * 2.0, 1.0),
        "weight": rng.normal(-label, 1.0),
        "colour": np.where(rng.random(rows) < 0.8, np.where(label, "red", "blue"), "green"),
        "customer": [f"C{seed}-{i:05d}" for i in range(rows)],
        "label": np.where(label, "yes", "no"),
    })  # fmt: skip
    frame.to_csv(path, index=False)
    return path


def fit(source: str | Path, out: Path, seed: int = 0, epochs: int = 3) -> Path:
    config = {
        "seed": seed,
        "data": {"source": str(source), "audit": False},
        "model": {"hidden": [16]},
        "train": {"epochs": epochs, "batch_size": 32, "lr": 0.02},
        "doctor": {"mode": "off"},
    }
    return trainwell.fit(config, out=out, report=False).run_dir


def running(app: Any):
    """Serve `app` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its URL."""
    from trainwell.deploy.serve import serving

    return serving(app)


@pytest.fixture(scope="session")
def two_runs(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The CSV and two runs on it that predict differently (other seeds and lengths)."""
    tmp = tmp_path_factory.mktemp("people")
    csv = write_csv(tmp / "people.csv")
    return csv, fit(csv, tmp / "out", seed=0, epochs=1), fit(csv, tmp / "out", seed=1, epochs=6)


def rows_and_inputs(csv: Path, run_dir: Path, n: int = 20) -> tuple[list[dict], np.ndarray]:
    """The first `n` rows of the CSV by column name, and the same rows encoded in the run's
    feature order (one-hot text), as `load_run(...).predict` takes them."""
    frame = pd.read_csv(csv).drop(columns="label").head(n)
    names = json.loads((run_dir / "data.json").read_text())["feature_names"]
    X = np.zeros((len(frame), len(names)), np.float32)
    for j, name in enumerate(names):
        column, _, category = name.partition("=")
        X[:, j] = frame[column] == category if category else frame[column]
    return frame.to_dict("records"), X
