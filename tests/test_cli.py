"""The command line, end to end: --json, runs, and every kind of bad input."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from trainwell.cli import app

runner = CliRunner()


def _write_config(tmp_path: Path, config: dict, name: str = "run.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return path


def test_fit_json_prints_exactly_the_summary_object(tmp_path, out, iris_config):
    result = runner.invoke(
        app,
        [
            "fit",
            str(_write_config(tmp_path, iris_config)),
            "--json",
            "--set",
            "train.epochs=2",
            "--doctor",
            "off",
        ],
    )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {"run_dir", "status", "metrics", "findings", "repairs"}
    assert summary["status"] == "completed"
    assert summary["metrics"]["epochs"] == 2
    assert {
        "train_loss",
        "val_loss",
        "val_accuracy",
        "test_accuracy",
        "epochs",
        "seconds",
        "samples_per_second",
    } <= set(summary["metrics"])
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == out
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["doctor"]["mode"] == "off"
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert result.stderr == ""  # no progress bars under --json


def test_fit_prints_a_readable_summary(tmp_path, out, iris_config):
    result = runner.invoke(app, ["fit", str(_write_config(tmp_path, iris_config))])
    assert result.exit_code == 0, result.stderr
    assert "completed after 3 epochs" in result.stdout and "accuracy" in result.stdout


def test_runs_lists_runs(tmp_path, out, iris_config):
    path = _write_config(tmp_path, iris_config)
    for _ in range(2):
        assert runner.invoke(app, ["fit", str(path), "--json"]).exit_code == 0
    assert runner.invoke(app, ["audit", str(path), "--json"]).exit_code == 0
    tiny = {**iris_config, "train": {"epochs": 2}, "tune": {"train.lr": {"low": 0.01, "high": 0.1}}}
    tune_config = _write_config(tmp_path, tiny, name="tune.yaml")
    assert runner.invoke(app, ["tune", str(tune_config), "--trials", "2", "--json"]).exit_code == 0
    listed = json.loads(runner.invoke(app, ["runs", "--json"]).stdout)["runs"]
    assert sorted(r["kind"] for r in listed) == ["audit", "fit", "fit", "tune"]
    assert all(r["status"] == "completed" for r in listed)
    table = runner.invoke(app, ["runs"]).stdout
    assert "iris-mlp" in table and "completed" in table and "tune" in table
    tune_row = next(line for line in table.splitlines() if "tune-" in line)
    assert "acc 0." in tune_row  # the study's best val accuracy


def _csv(tmp_path: Path, text: str, name="data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[dict, list[str]]]:
    rows = "\n".join(f"{i},{i % 3},{'a' if i % 2 else 'b'}" for i in range(40))
    one_class = "\n".join(f"{i},1" for i in range(40))
    mixed = "\n".join(f"{i},{i % 2 if i != 17 else 'oops'}" for i in range(40))
    (tmp_path / "no_classes").mkdir()
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 8)
    return {
        "missing file": ({"data": {"source": str(tmp_path / "nope.csv")}}, ["nope.csv"]),
        "empty csv": ({"data": {"source": _csv(tmp_path, "", "empty.csv")}}, ["empty"]),
        "unreadable csv": ({"data": {"source": str(tmp_path / "garbage.csv")}}, ["garbage.csv"]),
        "unknown target": (
            {"data": {"source": _csv(tmp_path, "x,label,c\n" + rows), "target": "species"}},
            ["species"],
        ),
        "single class": (
            {"data": {"source": _csv(tmp_path, "x,label\n" + one_class, "one.csv")}},
            ["single class"],
        ),
        "non-numeric target": (
            {
                "data": {
                    "source": _csv(tmp_path, "x,label\n" + mixed, "m.csv"),
                    "task": "classification",
                }
            },
            ["oops"],
        ),
        "unknown key": (
            {"data": {"source": "iris"}, "train": {"learning_rate": 0.1}},
            ["train.learning_rate", "did you mean"],
        ),
        "negative lr": ({"train": {"lr": -0.01}}, ["train.lr", "-0.01"]),
        "a monitor the task lacks": (  # failed after the first epoch, a run dir left
            {
                "data": {"source": "diabetes"},
                "train": {"early_stopping": {"monitor": "val_accuracy"}},
            },
            ["val_accuracy", "regression", "val_r2"],
        ),
        "image folder without classes": (
            {"data": {"source": str(tmp_path / "no_classes")}, "model": {"arch": "cnn"}},
            ["no classes"],
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "missing file",
        "empty csv",
        "unreadable csv",
        "unknown target",
        "single class",
        "non-numeric target",
        "unknown key",
        "negative lr",
        "a monitor the task lacks",
        "image folder without classes",
    ],
)
def test_bad_input_is_one_line_exit_2_and_no_run_dir(tmp_path, out, case):
    config, words = _bad_inputs(tmp_path)[case]
    result = runner.invoke(app, ["fit", str(_write_config(tmp_path, config)), "--json"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    for word in words:
        assert word in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_missing_config_file(out):
    result = runner.invoke(app, ["fit", "/nonexistent/run.yaml"])
    assert result.exit_code == 2 and "config file not found" in result.stderr


@pytest.mark.parametrize("given", ["cells.csv", "images"])
def test_a_data_file_given_as_the_config_is_told_how_to_name_it(tmp_path, out, given):
    """`trainwell fit cells.csv` read the CSV as YAML: 'must hold a mapping of keys, not a
    str'; a folder of images: 'config file not found'."""
    path = tmp_path / given
    path.mkdir() if given == "images" else path.write_text("x,y\n1,a\n2,b\n")
    result = runner.invoke(app, ["fit", str(path)])
    assert result.exit_code == 2, result.stderr
    assert f"data: {{source: {given}, target: <column>}}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.parametrize("where", ["a file", "a folder"])
def test_an_out_that_is_a_file_is_one_line_exit_2(tmp_path, out, iris_config, where):
    """`--out` naming a file: one line, exit 2 (it was exit 1 with NotADirectoryError); a
    folder that does not exist yet is made."""
    target = tmp_path / "runs_here"
    if where == "a file":
        target.write_text("not a folder")
    config = str(_write_config(tmp_path, iris_config))
    result = runner.invoke(app, ["fit", config, "--out", str(target), "--json"])
    if where == "a folder":
        assert result.exit_code == 0 and len(list(target.iterdir())) == 1
        return
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: cannot create a run directory under {target}: Not a directory"]
    assert target.read_text() == "not a folder"


def test_resume_of_a_finished_run_is_refused(tmp_path, out, iris_config):
    done = json.loads(
        runner.invoke(app, ["fit", str(_write_config(tmp_path, iris_config)), "--json"]).stdout
    )
    result = runner.invoke(app, ["fit", "--resume", done["run_dir"]])
    assert result.exit_code == 2 and "already finished" in result.stderr


def test_npz_source_through_the_cli(tmp_path, out):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    config = {
        "data": {"source": str(tmp_path / "d.npz")},
        "model": {"hidden": [8]},
        "train": {"epochs": 5, "lr": 0.05, "batch_size": 16},
    }
    result = runner.invoke(app, ["fit", str(_write_config(tmp_path, config)), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["metrics"]["test_accuracy"] > 0.8


@pytest.mark.slow
def test_demo_fits_a_cnn_on_digits(out):
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] in ("completed", "stopped_early")
    assert summary["metrics"]["test_accuracy"] > 0.9
    # the planted problem: at chance as it is, repaired by the doctor
    untreated, repaired = summary["untreated"], summary["repaired"]
    assert untreated["metrics"]["test_accuracy"] < 0.2
    assert "vanishing_gradient" in {f["code"] for f in untreated["findings"]}
    assert repaired["repairs"] and repaired["metrics"]["test_accuracy"] > 0.85
    assert Path(summary["compare"]).is_file()
    assert set(summary["capabilities"]) == {"explain", "attack", "compress", "serve"}
    assert "100/100 answers as load_run's" in summary["capabilities"]["serve"]
    assert "PGD" in summary["capabilities"]["attack"]


def test_runs_tells_a_killed_run_from_a_running_one(out, monkeypatch):
    """A run without a summary is running while its process lives; once that process died,
    resumable ("interrupted") if it left a checkpoint, else "killed"."""
    import subprocess
    import sys

    from trainwell.runs import OWNER, create_run_dir, list_runs, write_json, write_yaml

    live = create_run_dir("live", out)
    write_yaml(live / "config.yaml", {})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    killed, resumable = create_run_dir("killed", out), create_run_dir("resumable", out)
    for path in (killed, resumable):
        write_yaml(path / "config.yaml", {})
        owner = json.loads((path / OWNER).read_text())
        write_json(path / OWNER, {**owner, "pid": int(dead.stdout)})
    (resumable / "checkpoints").mkdir()
    status = {run.path.name.split("-")[0]: run.status for run in list_runs(out)}
    assert status == {"live": "running", "killed": "killed", "resumable": "interrupted"}


def test_a_resumed_run_is_owned_by_the_process_resuming_it(out, iris_config):
    """A killed run taken up again by `resume` is running while it trains, not "killed"."""
    import os

    import trainwell
    from trainwell.runs import OWNER, create_run_dir, write_json, write_yaml

    killed = create_run_dir("killed", out)
    write_yaml(killed / "config.yaml", iris_config | {"train": {"epochs": 1}})
    write_json(killed / OWNER, {**json.loads((killed / OWNER).read_text()), "pid": -1})
    trainwell.resume(killed)
    assert json.loads((killed / OWNER).read_text())["pid"] == os.getpid()


def test_a_run_killed_before_its_first_checkpoint_says_it_starts_over(out, iris_config):
    """No checkpoint to go back to: `--resume` trains from the start, and says so."""
    from trainwell.runs import OWNER, create_run_dir, write_json, write_yaml

    killed = create_run_dir("killed", out)
    write_yaml(killed / "config.yaml", iris_config | {"train": {"epochs": 2}})
    write_json(killed / OWNER, {**json.loads((killed / OWNER).read_text()), "pid": -1})
    result = runner.invoke(app, ["fit", "--resume", str(killed), "--json"])
    assert result.exit_code == 0, result.stderr
    assert f"{killed} has no checkpoint yet: the run starts over" in result.stderr
    assert json.loads(result.stdout)["metrics"]["epochs"] == 2


def test_a_resumed_run_with_a_checkpoint_does_not_say_it_starts_over(tmp_path, out, iris_config):
    every_epoch = {"epochs": 2, "checkpoint_every": 0}
    config = _write_config(tmp_path, iris_config | {"train": every_epoch})
    done = json.loads(runner.invoke(app, ["fit", str(config), "--json"]).stdout)
    run_dir = Path(done["run_dir"])
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    (run_dir / "summary.json").unlink()  # as if killed after its last checkpoint
    result = runner.invoke(app, ["fit", "--resume", str(run_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    assert "starts over" not in result.stderr
