from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # small models: threads cost more than they give, and stay deterministic


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private runs directory, also as $TRAINWELL_HOME."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("TRAINWELL_HOME", str(runs))
    return runs


@pytest.fixture
def iris_config() -> dict:
    """A run that trains in well under a second."""
    return {
        "data": {"source": "iris"},
        "model": {"hidden": [16]},
        "train": {"epochs": 3, "batch_size": 16, "lr": 0.01},
    }


from serve_helpers import two_runs  # noqa: E402, F401  (runs the deploy tests share)
