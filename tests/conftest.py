import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(1)  # small models: threads cost more than they give, and stay deterministic


@pytest.fixture(autouse=True)
def _threads_from_the_work_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """`train.threads: auto` also follows the machine's load, so two fits of one config can
    get different thread counts, and results that differ in the last bits, when other work
    comes and goes. Tests that compare two fits exactly must not depend on it: in-process,
    the choice here follows the work and this worker's share of the CPUs only (test_threads
    tests the load). A share, not all of them: two workers' fits each taking both CPUs of a
    2-CPU machine wait on each other at every op (a 5 s test took 95 s)."""
    from trainwell.cpus import available_cpus
    from trainwell.train import _threads

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    monkeypatch.setattr(_threads, "free_cpus", lambda: max(1, available_cpus() // workers))


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
