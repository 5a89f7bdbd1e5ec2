"""`trainwell monitor` end to end on a trained run: clean data says nothing, drifted data
names the feature, wrong labels show a drop, the request log is read, and every kind of
bad input is exit 2 with one line and nothing written."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app

runner = CliRunner()


def rows(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Two informative numbers, three noise columns, a categorical that matters a little."""
    X = rng.normal(size=(n, 5))
    colour = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    logit = 3 * X[:, 0] - 2 * X[:, 1] + np.where(colour == "red", 0.5, -0.5)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(colour=colour)
    return frame.assign(label=(logit + rng.logistic(size=n) * 0.3 > 0).astype(int))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("monitor")
    rows(3000, np.random.default_rng(0)).to_csv(folder / "train.csv", index=False)
    config = {
        "data": {"source": str(folder / "train.csv"), "audit": False},
        "model": {"hidden": [32]},
        "train": {"epochs": 10, "lr": 0.01},
    }
    return trainwell.fit(config, out=folder / "runs", report=False).run_dir


def invoke(*args: str) -> dict:
    result = runner.invoke(app, ["monitor", *map(str, args), "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def problems(summary: dict) -> list[str]:
    return [f["code"] for f in summary["findings"] if f["severity"] != "info"]


def test_fit_stores_the_reference_and_clean_rows_raise_nothing(trained, tmp_path):
    assert (trained / "reference.npz").is_file()
    rows(800, np.random.default_rng(1)).to_csv(tmp_path / "clean.csv", index=False)
    summary = invoke(trained, tmp_path / "clean.csv")
    assert problems(summary) == []
    assert [f["name"] for f in summary["features"]] == ["f0", "f1", "f2", "f3", "f4", "colour"]
    assert {f["test"] for f in summary["features"]} == {"ks", "chi2"}
    assert summary["actual"]["accuracy"] > 0.85  # the label column was read
    assert abs(summary["estimated"]["accuracy"] - summary["actual"]["accuracy"]) < 0.05
    folder = Path(summary["monitor_dir"])
    assert folder.parent == trained / "monitor" and (folder / "monitor.json").is_file()
    assert (folder / "distributions.png").is_file()
    page = (trained / "report.html").read_text()
    assert "Monitoring after deployment" in page and "colour" in page


def test_a_shifted_feature_is_named_and_wrong_labels_are_a_drop(trained, tmp_path):
    frame = rows(800, np.random.default_rng(2))
    frame["f3"] += 0.6  # a noise feature: inputs move, the model's accuracy does not
    frame.loc[400:, "label"] = 1 - frame.loc[400:, "label"]  # the world changed its mind
    frame.to_csv(tmp_path / "shifted.csv", index=False)
    summary = invoke(trained, tmp_path / "shifted.csv")
    drift = next(f for f in summary["findings"] if f["code"] == "data_drift")
    assert drift["severity"] == "warning" and "f3" in drift["message"]
    assert [f["name"] for f in summary["features"] if f["drift"]] == ["f3"]
    drop = next(f for f in summary["findings"] if f["code"] == "performance_drop")
    assert drop["severity"] == "error" and summary["actual"]["p_value"] < 1e-6
    section = (trained / "report.html").read_text().split("Monitoring after deployment")[-1]
    assert "no automatic remedy" in section and "not repaired" not in section  # told, not done


def test_request_log_folder_is_read_in_time_order_with_a_timeline(trained, tmp_path):
    rng = np.random.default_rng(3)
    info = json.loads((trained / "data.json").read_text())
    log = tmp_path / "requests"
    log.mkdir()
    for hour in range(3):
        frame = rows(300, rng)
        if hour == 2:  # the newest hour: f0 moved, which the model's outputs feel
            frame["f0"] += 1.5
        inputs = [
            [*r[:5], *(float(r[5] == c) for c in info["encoding"]["colour"])]
            for r in frame.drop(columns="label").itertuples(index=False)
        ]
        lines = [
            json.dumps(
                {
                    "time": f"2026-11-30T0{hour}:00:{i // 10:02d}.000Z",
                    "model": {"name": "m", "version": 1},
                    "inputs": inputs[i : i + 10],
                }
            )
            for i in range(0, 300, 10)
        ]
        (log / f"requests-{hour}.jsonl").write_text("\n".join(lines) + "\n{cut by rotation")
    copy = tmp_path / "run"  # without DATA, the run's own request log is read
    shutil.copytree(trained, copy, ignore=shutil.ignore_patterns("monitor", "report.html"))
    shutil.copytree(log, copy / "requests")
    summary = invoke(copy, "--window", "300")
    assert summary["rows"] == 900 and summary["window_rows"] == 300
    assert [p["data_drift"] for p in summary["timeline"]] == [False, False, True]
    assert summary["timeline"][2]["from"].startswith("2026-11-30T02")
    codes = problems(summary)
    assert "data_drift" in codes and "prediction_drift" in codes
    assert any("skipped 3 line(s)" in f["message"] for f in summary["findings"])
    assert (Path(summary["monitor_dir"]) / "timeline.png").is_file()


def test_a_window_too_small_is_an_info_finding(trained, tmp_path):
    rows(10, np.random.default_rng(4)).to_csv(tmp_path / "few.csv", index=False)
    summary = invoke(trained, tmp_path / "few.csv")
    assert problems(summary) == []
    assert any("too few to judge" in f["message"] for f in summary["findings"])


def test_an_old_run_gets_its_reference_rebuilt_or_a_clear_exit_2(trained, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(trained, old, ignore=shutil.ignore_patterns("reference.npz", "monitor"))
    rows(300, np.random.default_rng(5)).to_csv(tmp_path / "clean.csv", index=False)
    summary = invoke(old, tmp_path / "clean.csv")
    assert summary["reference_rebuilt"] and problems(summary) == []
    source = Path(json.loads((trained / "data.json").read_text())["source"])
    moved = source.with_name("moved.csv")
    source.rename(moved)
    try:
        result = runner.invoke(app, ["monitor", str(old), str(tmp_path / "clean.csv")])
    finally:
        moved.rename(source)
    assert result.exit_code == 2
    assert "has no reference.npz" in result.stderr and "cannot be loaded" in result.stderr


def _bad_inputs(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    frame = rows(50, np.random.default_rng(6))
    frame.drop(columns=["f2", "colour"]).to_csv(tmp_path / "missing.csv", index=False)
    frame.head(0).to_csv(tmp_path / "empty.csv", index=False)
    frame.to_csv(tmp_path / "ok.csv", index=False)
    frame.assign(label=7).to_csv(tmp_path / "labels.csv", index=False)
    np.savez(tmp_path / "wide.npz", X=np.zeros((5, 9)))
    (tmp_path / "ok.txt").write_text("f0,f1\n1,2\n")
    (tmp_path / "bad.jsonl").write_text(json.dumps({"inputs": [[1.0, 2.0]]}) + "\n")
    return {
        "missing": (["missing.csv"], "lacks 2 of the model's feature columns: 'f2', 'colour'"),
        "empty": (["empty.csv"], "is empty: it has no data rows"),
        "nofile": (["nope.csv"], "no such file or folder"),
        "window": (["ok.csv", "--window", "0"], "--window must be at least 1 row"),
        "labels": (["labels.csv"], "labels the model does not know: '7'"),
        "npz": (["wide.npz"], "do not fit the model's input [8]"),
        "log": (["bad.jsonl"], "a row has 2 inputs; the model takes 8"),
        "type": (["ok.txt"], "unsupported file type '.txt'"),
    }


@pytest.mark.parametrize(
    "case", ["missing", "empty", "nofile", "window", "labels", "npz", "log", "type"]
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(trained, tmp_path, case):
    args, message = _bad_inputs(tmp_path)[case]
    before = sorted(p.name for p in trained.iterdir())
    monitors = sorted((trained / "monitor").iterdir()) if (trained / "monitor").is_dir() else []
    data, *options = args
    result = runner.invoke(app, ["monitor", str(trained), str(tmp_path / data), *options])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in trained.iterdir()) == before
    now = sorted((trained / "monitor").iterdir()) if (trained / "monitor").is_dir() else []
    assert now == monitors


def test_python_api_returns_the_same_object(trained, tmp_path):
    rows(200, np.random.default_rng(7)).to_parquet(tmp_path / "clean.parquet")
    result = trainwell.monitor(trained, tmp_path / "clean.parquet", report=False)
    assert result.summary()["rows"] == 200 and result.judged.data_drift is False


@pytest.mark.slow
def test_images_are_judged_on_the_embedding(tmp_path):
    config = {
        "data": {"source": "digits", "audit": False},
        "model": {"arch": "cnn", "channels": [8], "hidden": [32]},
        "train": {"epochs": 3, "lr": 0.01},
    }
    run = trainwell.fit(config, out=tmp_path / "runs", report=False)
    from sklearn.datasets import load_digits

    images = load_digits().images[:, None].astype(np.float32)
    rng = np.random.default_rng(8)
    picked = images[rng.choice(len(images), 300, replace=False)]
    np.savez(tmp_path / "clean.npz", X=picked)
    np.savez(tmp_path / "smudged.npz", X=np.clip(picked + rng.uniform(0, 8, picked.shape), 0, 16))
    clean = invoke(run.run_dir, tmp_path / "clean.npz")
    assert clean["features"] == [] and clean["multivariate"]["on"] == "embedding"
    assert not clean["data_drift"]
    smudged = invoke(run.run_dir, tmp_path / "smudged.npz")
    drift = next(f for f in smudged["findings"] if f["code"] == "data_drift")
    assert "embedding" in drift["message"]


def test_a_registry_reference_is_monitored_beside_its_requests(trained, tmp_path):
    from trainwell import registry

    home = tmp_path / "registry"
    version = registry.add(trained, "cells", home=home)
    registry.promote("cells", version.version, home=home)
    rows(300, np.random.default_rng(9)).to_csv(tmp_path / "clean.csv", index=False)
    summary = invoke("cells@champion", tmp_path / "clean.csv", "--registry", home)
    assert problems(summary) == [] and summary["reference"] == "cells@champion"
    folder = Path(summary["monitor_dir"])
    assert folder.parent == (home / "cells" / "monitor").resolve()
    assert folder.name.startswith("v1-") and (folder / "monitor.json").is_file()
    registry.verify(registry.resolve("cells@champion", home=home))  # the version is untouched
