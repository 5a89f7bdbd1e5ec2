from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # small models: threads cost more than they give, and stay deterministic


@pytest.fixture(autouse=True)
def _threads_from_the_work_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """`train.threads: auto` also follows the machine's load, so two fits of one config can
    get different thread counts, and results that differ in the last bits, when other work
    comes and goes. Tests that compare two fits exactly must not depend on it: in-process,
    the choice here follows the work and the CPUs only (test_threads tests the load)."""
    from trainwell.cpus import available_cpus
    from trainwell.train import _threads

    monkeypatch.setattr(_threads, "free_cpus", available_cpus)


@pytest.fixture(
    params=[
        "cpu",
        pytest.param(
            "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
        ),
    ]
)
def device(request: pytest.FixtureRequest) -> str:
    """Each device the code runs on here: the CPU, and a CUDA GPU where there is one (the
    GPU paths are then checked on the real thing, not only forced on the CPU)."""
    return request.param


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
