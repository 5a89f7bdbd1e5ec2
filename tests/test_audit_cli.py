"""`trainwell audit` end to end: the run directory, --json, exit codes, bad input."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from trainwell.cli import app

runner = CliRunner()


def _config(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump({"data": data}))
    return str(path)


def test_audit_json_is_one_object_with_its_run_dir(tmp_path, out):
    config = _config(tmp_path, {"source": "digits", "corrupt": {"label_noise": 0.1}})
    result = runner.invoke(app, ["audit", config, "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) == {"run_dir", "status", "findings", "repairs", "audit"}
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent == out and run_dir.name.startswith("digits-mlp-audit-")
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".owner.json",
        "audit.json",
        "config.yaml",
        "corruption.json",
        "findings.json",
        "report.html",
        "summary.json",
    ]
    assert json.loads((run_dir / "summary.json").read_text()) == summary
    assert json.loads((run_dir / "findings.json").read_text()) == summary["findings"]
    noisy = json.loads((run_dir / "corruption.json").read_text())["label_noise"]["rows"]
    labels = next(f for f in summary["findings"] if f["code"] == "label_issues")
    assert labels["severity"] == "warning"
    assert len(set(labels["evidence"]["rows"]) & set(noisy)) > 0.6 * len(noisy)
    assert summary["audit"]["sizes"] == {"train": 1077, "val": 360, "test": 360}


def test_audit_prints_findings_with_rows(tmp_path, out):
    config = _config(tmp_path, {"source": "iris", "corrupt": {"leak_fraction": 0.2}})
    result = runner.invoke(app, ["audit", config])
    assert result.exit_code == 0, result.stderr
    assert "warning train_test_leakage" in result.stdout and " rows " in result.stdout
    assert "audit: " in result.stdout


def test_a_clean_builtin_dataset_has_no_warning(tmp_path, out):
    result = runner.invoke(app, ["audit", _config(tmp_path, {"source": "breast_cancer"}), "--json"])
    assert result.exit_code == 0
    assert [f for f in json.loads(result.stdout)["findings"] if f["severity"] != "info"] == []


def test_an_all_missing_column_is_a_finding_not_a_failure(tmp_path, out):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "empty": np.nan, "label": np.arange(60) % 2})
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = runner.invoke(
        app, ["audit", _config(tmp_path, {"source": str(tmp_path / "t.csv")}), "--json"]
    )
    assert result.exit_code == 0, result.stderr
    findings = {f["code"]: f for f in json.loads(result.stdout)["findings"]}
    assert findings["missing_values"]["severity"] == "error"
    assert findings["missing_values"]["evidence"]["empty_columns"] == ["empty"]
    assert findings["constant_features"]["evidence"]["features"] == ["empty"]
    run = {"data": {"source": str(tmp_path / "t.csv")}}  # no impute: NaN reaches the scaler
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({**run, "train": {"batch_size": 16}}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = runner.invoke(app, ["fit", str(tmp_path / "run.yaml")])
    assert fit.exit_code == 0
    assert not [w for w in caught if w.category is RuntimeWarning]  # numpy's stay inside


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (
            pd.DataFrame({"a": ["1.5", "2", "oops", "4"] * 5, "label": [0, 1] * 10}),
            ["feature column 'a' mixes numbers and text", "row 2", "'oops'"],
        ),
        (pd.DataFrame({"a": range(20), "label": ["x"] * 20}), ["single class"]),
    ],
    ids=["text in a numeric column", "one class"],
)
def test_unusable_data_is_one_line_and_exit_2(tmp_path, out, frame, words):
    frame.to_csv(tmp_path / "bad.csv", index=False)
    result = runner.invoke(app, ["audit", _config(tmp_path, {"source": str(tmp_path / "bad.csv")})])
    assert result.exit_code == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    for word in words:
        assert word in result.stderr
    assert not out.exists()


def test_a_bad_config_is_exit_2(tmp_path, out):
    result = runner.invoke(
        app, ["audit", _config(tmp_path, {"source": "iris", "remedies": ["magic"]})]
    )
    assert result.exit_code == 2 and "data.remedies" in result.stderr
    result = runner.invoke(app, ["audit", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "not found" in result.stderr


@pytest.mark.slow
def test_fit_with_remedies_in_a_subprocess(tmp_path, out):
    config = {
        "data": {
            "source": "digits",
            "corrupt": {"label_noise": 0.2},
            "remedies": ["drop_label_issues"],
        },
        "model": {"hidden": [32]},
        "train": {"epochs": 2},
    }
    path = tmp_path / "fit.yaml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "trainwell", "fit", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"TRAINWELL_HOME": str(out), "PATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert "remedy before training: drop_label_issues (dropped" in done.stdout
    assert "label_issues" in done.stdout
