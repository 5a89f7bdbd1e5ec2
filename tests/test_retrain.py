"""`trainwell retrain` on a drifting stream: a challenger that learned the new region is
promoted with its numbers in the registry's log; one trained on corrupted new labels is
refused and the champion stays."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import trainwell
from trainwell import registry
from trainwell.cli import app

runner = CliRunner()


def stream(n: int, centre: float, rng: np.random.Generator, flip: float = 0.0) -> pd.DataFrame:
    """The boundary x1 = sin(2 x0) bends differently where x0 has moved to."""
    x0 = rng.normal(centre, 0.7, n)
    x1, noise = rng.normal(size=n), rng.normal(size=(n, 2))
    y = (x1 > np.sin(2 * x0)).astype(int)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return pd.DataFrame({"x0": x0, "x1": x1, "n0": noise[:, 0], "n1": noise[:, 1], "label": y})


@pytest.fixture
def champion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRAINWELL_HOME", str(tmp_path / "runs"))
    stream(1500, -1.5, np.random.default_rng(0)).to_csv(tmp_path / "old.csv", index=False)
    config = {
        "data": {"source": str(tmp_path / "old.csv")},
        "model": {"hidden": [64, 64]},
        "train": {"epochs": 25, "lr": 0.003},
    }
    run = trainwell.fit(config, report=False)
    version = registry.add(run.run_dir, "stream")
    registry.promote("stream", version.version, reason="first")
    return tmp_path


@pytest.mark.slow
def test_a_challenger_that_learned_the_new_region_is_promoted(champion):
    stream(1200, 1.5, np.random.default_rng(1)).to_csv(champion / "new.csv", index=False)
    result = runner.invoke(app, ["retrain", "stream", str(champion / "new.csv"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["promoted"] and not summary["forced"], summary["reason"]
    assert summary["challenger"]["score"] >= summary["champion"]["score"] + 0.01
    assert summary["holdout_rows"] == 300 and summary["training_rows"] == {"old": 1500, "new": 900}
    assert registry.resolve("stream@champion").version == summary["challenger"]["version"] == 2
    event = registry.events("stream")[-1]
    assert event.kind == "promote" and event.details["challenger"]["score"] > 0
    page = (Path(summary["run_dir"]) / "report.html").read_text()
    assert "Champion against challenger" in page


@pytest.mark.slow
def test_a_challenger_trained_on_corrupted_new_labels_is_refused(champion):
    new = stream(1200, 1.5, np.random.default_rng(2), flip=0.45)
    new.to_csv(champion / "new.csv", index=False)
    result = runner.invoke(app, ["retrain", "stream", str(champion / "new.csv"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert not summary["promoted"] and summary["reason"].startswith("refused")
    assert registry.resolve("stream@champion").version == 1  # the champion stays
    event = registry.events("stream")[-1]
    assert event.kind == "retrain_refused" and event.version == 2
    assert event.details["champion"]["score"] == summary["champion"]["score"]


def test_retrain_bad_input_exits_2_with_one_line(champion):
    stream(100, 1.5, np.random.default_rng(3)).drop(columns="label").to_csv(
        champion / "unlabelled.csv", index=False
    )
    cases = [
        (["stream", str(champion / "unlabelled.csv")], "lacks the target column: 'label'"),
        (["stream", str(champion / "nope.csv")], "no such file"),
        (["nobody", str(champion / "unlabelled.csv")], "nobody"),
        (["stream", str(champion / "old.csv"), "--margin", "2"], "--margin must be in [0, 1)"),
    ]
    for args, message in cases:
        result = runner.invoke(app, ["retrain", *args])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert [v.version for v in registry.versions("stream")] == [1]


def _audited(old_rows: list[int], new_rows: list[int]):
    from trainwell.data import DataInfo
    from trainwell.deploy.retrain._retrain import _new_labels
    from trainwell.findings import Finding
    from trainwell.pipeline import Run

    flagged = Finding("label_issues", "warning", "data", "m", {"rows": old_rows + new_rows})
    info = DataInfo("x", "classification", [2], sizes={"train": 900})  # 60% of 1,500 rows
    run = Run(Path("."), "completed", {}, [flagged], [], trainwell.RunConfig(), None, info)
    return _new_labels(run, 1000, 500)


def test_new_labels_flagged_far_more_often_than_old_ones_look_corrupted():
    corrupted = _audited(list(range(20)), list(range(1000, 1060)))  # 3% of old, 20% of new
    assert corrupted["suspect"] and corrupted["new_flagged"] == pytest.approx(0.2)
    healthy = _audited(list(range(20)), list(range(1000, 1012)))  # 3% of old, 4% of new
    assert not healthy["suspect"]


def test_a_class_the_champion_never_learned_is_its_error_on_the_held_out_rows():
    """New data bringing a class is a reason to retrain: its held-out rows stopped the
    retrain with exit 2, after the challenger had trained and its files were written."""
    import torch

    from trainwell.data import DataInfo
    from trainwell.deploy.retrain._data import Rows
    from trainwell.deploy.retrain._retrain import _errors
    from trainwell.pipeline import Run

    info = DataInfo("x", "classification", [2], ["0", "1"], ["x0", "x1"])
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]))  # class 0 where x0 > 0
        model.bias.zero_()
    run = Run(Path("."), "completed", {}, [], [], trainwell.RunConfig(), model, info)
    held = pd.DataFrame({"x0": [1.0, -1.0, 1.0, -1.0], "x1": 0.0, "label": [0, 1, 2, 2]})
    metric, errors = _errors(run, Rows(frame=held), trainwell.RunConfig())
    assert metric == "accuracy" and errors.tolist() == [0.0, 0.0, 1.0, 1.0]
