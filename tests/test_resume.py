"""A run killed with SIGKILL resumes from its last checkpoint and ends as if never killed."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

CONFIG = {
    "seed": 3,
    "data": {"source": "synthetic", "synthetic": {"samples": 3000, "features": 20, "classes": 3}},
    "model": {"hidden": [128, 128], "dropout": 0.2},
    "train": {
        "epochs": 30,
        "batch_size": 16,
        "lr": 0.001,
        "schedule": "cosine",
        "early_stopping": {"monitor": "val_loss", "patience": 30},
        "checkpoint_every": 0,  # after every epoch: a SIGKILL loses at most one
    },
}


def _trainwell(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trainwell", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _epochs_done(run_dir: Path) -> int:
    metrics = run_dir / "metrics.jsonl"
    return len(metrics.read_text().splitlines()) if metrics.exists() else 0


def _started(run_config: dict, tmp_path: Path) -> tuple[Path, dict, subprocess.Popen]:
    """`trainwell fit` of `run_config` started in a subprocess: (config file, env, process)."""
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(run_config))
    env = {**os.environ, "TRAINWELL_HOME": str(tmp_path / "runs"), "OMP_NUM_THREADS": "1"}
    return config, env, _trainwell("fit", str(config), "--json", env=env)


def _run_dir_after(tmp_path: Path, epochs: int) -> Path:
    """The run directory, once its run has finished `epochs` epochs (2 minutes at most)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = list((tmp_path / "runs").glob("*")) if (tmp_path / "runs").exists() else []
        if found and _epochs_done(found[0]) >= epochs:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"the run never reached epoch {epochs}")


def _resumed_and_whole(run_dir: Path, config: Path, env: dict) -> tuple[dict, dict]:
    """The `--json` objects of the resumed run and of the same config run uninterrupted."""
    outputs = []
    for args in (("--resume", str(run_dir)), (str(config),)):
        process = _trainwell("fit", *args, "--json", env=env)
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        outputs.append(json.loads(out))
    return outputs[0], outputs[1]


# A run the doctor repairs (plain SGD far too slow: it switches to Adam around epoch 9),
# killed after the repair.
SLOW_SGD = {
    **CONFIG,
    "model": {"hidden": [64]},
    "train": {**CONFIG["train"], "optimizer": "sgd", "lr": 1e-5, "momentum": 0.0},
    "doctor": {"mode": "repair"},
}


# A network initialised at zero: symmetric_units in epoch 0 explains the stall found later,
# after the resume too.
ZERO_INIT = {**CONFIG, "model": {"hidden": [64, 64], "init": {"weights": "zeros"}}}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("run_config", "kill_after"), [(CONFIG, 3), (SLOW_SGD, 14), (ZERO_INIT, 2)]
)
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, run_config, kill_after):
    repair = run_config.get("doctor", {}).get("mode") == "repair"
    config, env, killed = _started(run_config, tmp_path)
    run_dir = _run_dir_after(tmp_path, kill_after)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert not (run_dir / "summary.json").exists(), "killed too late: the run had finished"

    listed = subprocess.run(
        [sys.executable, "-m", "trainwell", "runs", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(listed.stdout)["runs"][0]["status"] == "interrupted"

    after_resume, uninterrupted = _resumed_and_whole(run_dir, config, env)
    assert after_resume["run_dir"] == str(run_dir)
    for key in (
        "train_loss",
        "val_loss",
        "val_accuracy",
        "test_loss",
        "test_accuracy",
        "epochs",
        "best_epoch",
    ):
        assert after_resume["metrics"][key] == uninterrupted["metrics"][key], key
    assert after_resume["findings"] == uninterrupted["findings"]
    assert after_resume["repairs"] == uninterrupted["repairs"]
    if repair:  # the kill came after the repair, which the resumed run carried on
        switched = after_resume["repairs"][0]
        assert switched["remedy"] == "switch_to_adam" and switched["epoch"] < 14
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(30))


@pytest.mark.slow
def test_sigterm_checkpoints_the_epoch_and_the_run_resumes(tmp_path):
    """Checkpoints are written by wall time; a SIGTERM between two still loses nothing: the
    epoch under way finishes, is checkpointed, and the run stops, resumable."""
    run_config = {**CONFIG, "train": {**CONFIG["train"], "checkpoint_every": 3600}}
    config, env, stopped = _started(run_config, tmp_path)
    run_dir = _run_dir_after(tmp_path, 2)
    assert not (run_dir / "checkpoints" / "last.pt").exists()  # not due for an hour
    stopped.send_signal(signal.SIGTERM)
    _, err = stopped.communicate(timeout=120)
    assert stopped.returncode == 130, err
    done = _epochs_done(run_dir)
    assert (run_dir / "checkpoints" / "last.pt").exists() and 2 <= done < 30
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"

    resumed, whole = _resumed_and_whole(run_dir, config, env)
    for key in ("val_loss", "test_accuracy", "epochs", "best_epoch"):
        assert resumed["metrics"][key] == whole["metrics"][key]
