"""Data-parallel training: 2 CPU ranks on gloo over loopback, really launched by torchrun.

Tolerance for "the same metrics as one process with the same global batch": accuracy and
macro-F1 equal; losses within 1e-5 relative (the summed evaluation loss adds in float64
where one process adds in float32; the training losses are bitwise equal).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.config import load_config
from trainwell.pipeline import plan_run
from trainwell.train import ShardedBatches, TensorBatches

# audited on rank 0 only; the rows its remedy drops must be dropped on rank 1 too, or the
# global batches (and so the metrics) differ from one process's
CONFIG = {
    "seed": 1,
    "data": {
        "source": "synthetic",
        "synthetic": {"samples": 1000, "features": 12, "classes": 3},
        "remedies": ["drop_label_issues"],
    },
    "model": {"hidden": [32, 32]},
    "train": {"epochs": 20, "batch_size": 25, "lr": 0.003, "checkpoint_every": 0},
}
EPOCHS = CONFIG["train"]["epochs"]
EXACT = ("val_accuracy", "val_macro_f1", "test_accuracy", "test_macro_f1", "epochs", "best_epoch")
CLOSE = ("train_loss", "val_loss", "test_loss")
ENV = {"GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}


def _env(tmp: Path) -> dict:
    return {**os.environ, **ENV, "TRAINWELL_HOME": str(tmp / "home")}


def _fit_nproc(*args: str, cwd: Path, **popen) -> subprocess.Popen:
    command = [sys.executable, "-m", "trainwell", "fit", *args, "--nproc", "2", "--json"]
    return subprocess.Popen(
        command,
        cwd=cwd,
        env=_env(cwd),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> dict:
    """An uninterrupted 2-rank run of CONFIG from the CLI: its cwd, `--json` and run dir."""
    cwd = tmp_path_factory.mktemp("two_ranks")
    (cwd / "run.yaml").write_text(yaml.safe_dump(CONFIG))
    process = _fit_nproc("run.yaml", "--out", "runs", cwd=cwd)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return {"cwd": cwd, "summary": json.loads(out), "run_dir": Path(json.loads(out)["run_dir"])}


@pytest.mark.slow
def test_two_ranks_match_one_process_with_the_same_global_batch(two_ranks, tmp_path):
    one = trainwell.fit(CONFIG, out=tmp_path, train__batch_size=2 * CONFIG["train"]["batch_size"])
    two = two_ranks["summary"]["metrics"]
    assert two_ranks["summary"]["status"] == "completed"
    assert two_ranks["summary"]["repairs"] == one.repairs  # rank 0's audit and remedy
    assert one.repairs[0]["remedy"] == "drop_label_issues"
    for key in EXACT:
        assert two[key] == one.metrics[key], key
    for key in CLOSE:
        assert two[key] == pytest.approx(one.metrics[key], rel=1e-5), key
    env = json.loads((two_ranks["run_dir"] / "environment.json").read_text())["distributed"]
    assert env["world_size"] == 2 and env["global_batch"] == 50 and env["backend"] == "gloo"


@pytest.mark.slow
def test_only_rank_zero_wrote_files(two_ranks, tmp_path):
    cwd, run_dir = two_ranks["cwd"], two_ranks["run_dir"]
    assert sorted(p.name for p in cwd.iterdir()) == ["run.yaml", "runs"]
    assert [p.name for p in (cwd / "runs").iterdir()] == [run_dir.name]
    # two writers would have appended every epoch twice
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == EPOCHS
    one = trainwell.fit(CONFIG, out=tmp_path).run_dir  # the files one process writes
    assert sorted(p.name for p in run_dir.rglob("*")) == sorted(p.name for p in one.rglob("*"))


# eight sigmoid layers on plain SGD: the gradients vanish; the doctor rebuilds the model
DEEP_SIGMOID = {
    "seed": 0,
    "data": {"source": "digits", "audit": False},
    "model": {"hidden": [64] * 8, "activation": "sigmoid"},
    "train": {"optimizer": "sgd", "lr": 0.01, "epochs": 8, "batch_size": 32},
    "doctor": {"mode": "repair"},
}
# two NaN values in the training inputs: a NaN loss on the one rank whose rows hold them
NAN_ON_ONE_RANK = {
    "seed": 0,
    "data": {"source": "digits", "audit": False, "corrupt": {"nan_fraction": 0.00003}},
    "model": {"hidden": [64]},
    "train": {"epochs": 3, "batch_size": 32},
    "doctor": {"mode": "repair"},
}


@pytest.mark.slow
def test_planted_faults_are_found_and_repaired_identically_on_both_ranks(tmp_path):
    """Through the Python API, from a user's own torchrun script that made the group."""
    (tmp_path / "runs.json").write_text(json.dumps([DEEP_SIGMOID, NAN_ON_ONE_RANK]))
    (tmp_path / "seen").mkdir()
    script = Path(__file__).with_name("ddp_rank.py")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    launched = subprocess.run(
        [*torchrun, "--nproc-per-node", "2", str(script), "runs.json", "runs", "seen"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert launched.returncode == 0, launched.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / "seen" / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank1 == rank0  # the same findings, repairs, metrics and final weights
    sigmoid, nan = rank0
    assert ["vanishing_gradient", 16, "net.1", "relu_activation", True] in sigmoid["findings"]
    assert [r["remedy"] for r in sigmoid["repairs"]] == ["relu_activation"]
    assert sigmoid["metrics"]["test_accuracy"] > 0.8  # at chance (0.1) untreated
    step, holder = _first_nan_batch(NAN_ON_ONE_RANK)
    assert holder in (0, 1)  # the NaN was in one rank's rows only, and both ranks saw it
    assert nan["findings"] == [["divergence", step, None, "impute_inputs", True]]
    assert nan["status"] == "completed" and nan["metrics"]["test_accuracy"] > 0.5
    assert sigmoid["threads"] == 1  # two ranks share the two CPUs


def _first_nan_batch(config: dict) -> tuple[int, int | None]:
    """(step, rank holding the NaN rows: None if both) of the first global batch of 2 × 32
    rows that holds a NaN, in the order the run draws them."""
    plan = plan_run(load_config(config), None)
    X, y = torch.from_numpy(plan.data.train.X), torch.from_numpy(plan.data.train.y)
    batches = TensorBatches(X, y, 64, seed=config["seed"])
    for step, (x, _) in enumerate(batches):
        bad = [not torch.isfinite(half).all() for half in x.tensor_split(2)]
        if any(bad):
            return step, bad.index(True) if bad.count(True) == 1 else None
    raise AssertionError("no NaN in the training rows")


def _epochs_done(out: Path) -> int:
    runs = list(out.glob("*/metrics.jsonl")) if out.exists() else []
    return len(runs[0].read_text().splitlines()) if runs else 0


@pytest.mark.slow
def test_sigkill_of_the_launcher_then_resume_ends_as_an_uninterrupted_run(two_ranks, tmp_path):
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(CONFIG))
    killed = _fit_nproc("run.yaml", "--out", "runs", cwd=tmp_path, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while _epochs_done(tmp_path / "runs") < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(killed.pid, signal.SIGKILL)  # the launcher only: its ranks must die with it
        killed.wait()
        deadline = time.monotonic() + 30
        while _group_alive(killed.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _group_alive(killed.pid), "a rank outlived its launcher"
    finally:
        if _group_alive(killed.pid):
            os.killpg(killed.pid, signal.SIGKILL)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert 3 <= _epochs_done(tmp_path / "runs") < EPOCHS, "killed too late"
    assert not (run_dir / "summary.json").exists()

    resumed = _fit_nproc("--resume", str(run_dir), cwd=tmp_path)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    after, whole = json.loads(out), two_ranks["summary"]
    assert after["run_dir"] == str(run_dir)
    for key in EXACT + CLOSE:
        assert after["metrics"][key] == whole["metrics"][key], key
    assert after["findings"] == whole["findings"]
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == EPOCHS


@pytest.mark.slow
def test_fine_tuning_on_two_ranks_matches_one_process(two_ranks, tmp_path):
    """`model.init_from` loaded on every rank, the backbone frozen, then unfrozen mid-run:
    DDP must sync the gradients of what was frozen when it wrapped the model."""
    config = {
        **CONFIG,
        "seed": 2,
        "model": {**CONFIG["model"], "init_from": str(two_ranks["run_dir"])},
        "train": {
            **CONFIG["train"],
            "epochs": 6,
            "finetune": {"freeze": ["backbone"], "unfreeze_at": 3},
        },
    }
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    process = _fit_nproc("run.yaml", "--out", "runs", cwd=tmp_path)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert err.count("init_from") == 1  # rank 0 tells what was loaded, once
    two = json.loads(out)["metrics"]
    one = trainwell.fit(config, out=tmp_path / "one", train__batch_size=50)
    for key in EXACT:
        assert two[key] == one.metrics[key], key
    for key in CLOSE:
        assert two[key] == pytest.approx(one.metrics[key], rel=1e-5), key


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


# --- without launching ---------------------------------------------------------------------


def test_sharded_batches_split_each_global_batch_once_and_skip_a_tail_too_small():
    X, y = torch.arange(23).float().unsqueeze(1), torch.arange(23)
    whole = list(TensorBatches(X, y, 8, seed=4))  # the last global batch has 7 rows
    shards = [list(ShardedBatches(TensorBatches(X, y, 8, seed=4), r, 2)) for r in (0, 1)]
    for (_, yw), (_, y0), (_, y1) in zip(whole, *shards, strict=True):
        assert torch.equal(torch.cat([y0, y1]), yw)  # contiguous halves, in order
    tail = TensorBatches(X[:18], y[:18], 8)  # a last global batch of 2 rows, for 3 ranks
    assert len(ShardedBatches(tail, 0, 3)) == len(list(ShardedBatches(tail, 0, 3))) == 2
    folded = TensorBatches(X[:17], y[:17], 8)  # a last row of its own joins the batch before
    assert len(ShardedBatches(folded, 0, 2)) == len(list(ShardedBatches(folded, 0, 2))) == 2
    assert len(ShardedBatches(TensorBatches(X, y, 8), 0, 2)) == 3  # no tail to skip


def test_the_global_batch_is_read_through_a_wrapper():
    """Adversarial training wraps the sharded batches: the loss weights must still see the
    global batch, or an uneven last batch is averaged as if it were even."""
    from types import SimpleNamespace

    from trainwell.train._adversarial import AdversarialBatches
    from trainwell.train._distributed import share_of_global_batch

    X, y = torch.randn(21, 3), torch.arange(21) % 3  # global batches of 8, 8 and 5 rows
    sharded = ShardedBatches(TensorBatches(X, y, 8, shuffle=False), 0, 2)
    wrapped = AdversarialBatches(sharded, SimpleNamespace(craft=lambda x, y: x))
    shares = [share_of_global_batch(wrapped, len(yb), 2) for _, yb in wrapped]
    assert shares == [1.0, 1.0, pytest.approx(3 * 2 / 5)]  # this rank holds 3 of the last 5


def test_nproc_bad_input_is_one_line_and_exit_2(tmp_path, iris_config, monkeypatch):
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(iris_config))
    out = str(tmp_path / "runs")
    cases = {
        "--nproc must be at least 1": ["fit", str(config), "--nproc", "0"],
        "GPU": ["fit", str(config), "--nproc", "2", "--set", "train.device=cuda"],
        "--resume takes the run's own config": ["fit", str(config), "--resume", out, "--nproc=2"],
    }
    if torch.cuda.device_count() >= 2:
        del cases["GPU"]
    for expected, args in cases.items():
        result = CliRunner().invoke(app, [*args, "--out", out])
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output and len(result.output.strip().splitlines()) == 1
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    result = CliRunner().invoke(app, ["fit", str(config), "--nproc", "2", "--out", out])
    assert result.exit_code == 2 and "inside a torchrun job" in result.output
    assert not Path(out).exists()


def test_splits_smaller_than_the_ranks_are_refused_before_training(iris_config):
    """A rank with no val or test row would leave the others waiting in the summed counts:
    one line instead, and a split with a row per rank passes."""
    from trainwell.errors import DataError
    from trainwell.pipeline._ranks import check_splits_cover_ranks

    data = plan_run(load_config(iris_config), None).data  # 30 val and 30 test rows
    check_splits_cover_ranks(data, 30)
    with pytest.raises(DataError, match=r"the val split has 30 row\(s\), fewer than the 31"):
        check_splits_cover_ranks(data, 31)
