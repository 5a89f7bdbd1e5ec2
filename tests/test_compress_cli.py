"""`trainwell compress` on the command line: --json, the table, and every kind of bad input
(exit 2, one line, nothing written)."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    config = {
        "data": {"source": "iris", "audit": False},
        "model": {"hidden": [16]},
        "train": {"epochs": 3, "batch_size": 16, "lr": 0.01},
    }
    return trainwell.fit(config, out=tmp_path_factory.mktemp("runs"), report=False).run_dir


def test_json_prints_one_object_with_a_row_per_variant(run_dir):
    result = runner.invoke(app, ["compress", str(run_dir), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["run_dir"] == str(run_dir)
    assert [v["name"] for v in summary["variants"]] == ["fp32", "onnx", "int8"]
    for v in summary["variants"]:
        assert {
            "name",
            "path",
            "parameters",
            "bytes",
            "latency_ms",
            "accuracy",
            "agreement",
        } <= set(v)
        assert set(v["latency_ms"]) == {"1", "64"}
    assert summary["variants"][1]["path"] == str(run_dir / "compressed" / "onnx")
    assert result.stderr == ""  # no progress under --json


def test_the_table_names_every_variant_and_where_they_are(run_dir):
    result = runner.invoke(app, ["compress", str(run_dir), "--quantize", "none"])
    assert result.exit_code == 0, result.stderr
    assert "onnx" in result.stdout and "int8" not in result.stdout
    assert "ok faithful export (onnx)" in result.stdout
    assert f"variants: {run_dir / 'compressed'}" in result.stdout.replace("\n", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prune", "1.5"], "--prune must be a fraction between 0 and 1"),
        (["--prune", "0"], "--prune must be a fraction between 0 and 1"),
        (["--quantize", "int4"], "--quantize must be int8 or none"),
        (["--prune", "0.5", "--finetune", "-1"], "--finetune must be 0 or more"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_write_nothing(tmp_path, run_dir, args, message):
    before = sorted(p.name for p in run_dir.iterdir())
    result = runner.invoke(app, ["compress", str(run_dir), *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in run_dir.iterdir()) == before


def test_a_directory_that_is_not_a_run_exits_2(tmp_path):
    for path in (tmp_path, tmp_path / "missing"):
        result = runner.invoke(app, ["compress", str(path), "--json"])
        assert result.exit_code == 2 and result.stdout == ""
        assert "no model.pt" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_without_the_export_extra_the_message_names_it(run_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    result = runner.invoke(app, ["compress", str(run_dir)])
    assert result.exit_code == 2
    assert 'pip install "trainwell[export]"' in result.stderr.replace("\n", "")
    assert not list(run_dir.glob(".compressed-*"))


def test_a_model_with_non_finite_weights_is_refused_in_one_line(run_dir, tmp_path):
    broken = tmp_path / "diverged"
    shutil.copytree(run_dir, broken, ignore=shutil.ignore_patterns("compressed"))
    saved = torch.load(broken / "model.pt", weights_only=True)
    saved["state_dict"] = {
        k: torch.full_like(v, float("nan")) for k, v in saved["state_dict"].items()
    }
    torch.save(saved, broken / "model.pt")
    result = runner.invoke(app, ["compress", str(broken)])
    assert result.exit_code == 2
    assert "non-finite outputs" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (broken / "compressed").exists() and not list(broken.glob(".compressed-*"))
