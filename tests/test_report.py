"""The run report renders every kind of run as one self-contained page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from report_runs import write_run
from sklearn.metrics import precision_recall_fscore_support

import trainwell
from trainwell.health import ProbeHistory
from trainwell.report import compare_runs, load_record, render_report, write_report
from trainwell.report._sections import build_sections, per_class, verdict


def _page(tmp_path: Path, kind: str) -> str:
    return write_report(write_run(tmp_path, kind)).read_text()


def _section_ids(html: str) -> list[str]:
    return re.findall(r'<section class="block" id="([a-z]+)"', html)


def _self_contained(html: str) -> None:
    """Every image is inline, nothing is fetched, no script runs."""
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert sources and all(s.startswith(("data:image/svg+xml;base64,", "#")) for s in sources)
    assert "<script" not in html and "<link" not in html and "@import" not in html


def test_healthy_run_says_so_and_shows_its_evaluation(tmp_path):
    html = _page(tmp_path, "healthy")
    assert "Healthy: no problems found" in html
    assert _section_ids(html) == ["curves", "evaluation", "config"]
    assert 'alt="Confusion matrix on the test set"' in html
    assert html.count("<img") == 3 and "precision" in html and "(weakest)" in html
    _self_contained(html)


def test_repaired_run_shows_cards_timeline_heat_maps_and_the_repaired_config(tmp_path):
    html = _page(tmp_path, "repaired")
    assert "1 problem found, all repaired" in html
    assert _section_ids(html) == ["findings", "curves", "health", "evaluation", "config"]
    assert "Vanishing gradient" in html and "✓ repaired" in html
    assert "relu_activation" in html and "✓ cured" in html  # the attempt, before and after
    assert "net.0 1e-08, net.2 0.1" in html  # per-layer evidence zipped with layer names
    assert "Changed by repairs" in html and "model.activation" in html
    assert html.count('alt="Heat map') == 2
    _self_contained(html)


def test_diverged_run_renders_with_missing_losses_and_no_confusion(tmp_path):
    html = _page(tmp_path, "diverged")
    assert "Training diverged" in html and "Divergence" in html
    assert 'alt="Training loss at each probed step"' in html  # the runaway, step by step
    assert "evaluation" not in _section_ids(html)
    _self_contained(html)


def test_regression_run_shows_residuals_not_a_confusion_matrix(tmp_path):
    html = _page(tmp_path, "regression")
    assert "Predicted against true values" in html and "test R²" in html
    assert "precision" not in html
    _self_contained(html)


@pytest.mark.parametrize("nan_rows", ["some", "all"])
def test_a_regression_with_non_finite_predictions_still_renders(tmp_path, nan_rows):
    """A diverged regression predicts NaN: its residuals are plotted from the finite rows,
    and with none, the evaluation section is left out (the report failed on a histogram's
    NaN range and was not written)."""
    run = write_run(tmp_path, "regression")
    evaluation = json.loads((run / "evaluation.json").read_text())
    predicted = evaluation["test_predictions"]["predicted"]
    cut = 2 if nan_rows == "some" else len(predicted)
    evaluation["test_predictions"]["predicted"] = [None] * cut + predicted[cut:]
    (run / "evaluation.json").write_text(json.dumps(evaluation))
    html = write_report(run).read_text()
    assert ("evaluation" in _section_ids(html)) is (nan_rows == "some")
    assert ("Predicted against true values" in html) is (nan_rows == "some")
    _self_contained(html)


def test_data_findings_render_as_audit_cards_without_audit_json(tmp_path):
    html = _page(tmp_path, "data")
    assert "audit" in _section_ids(html) and "tune" not in _section_ids(html)
    assert "Class imbalance" in html and "0: 50, 1: 5" in html  # counts as class: rows
    assert "Rows per class" not in html  # the chart needs audit.json
    assert "findings" not in _section_ids(html)  # data findings are the audit's cards


def test_interrupted_run_with_only_a_config_renders(tmp_path):
    record = load_record(write_run(tmp_path, "interrupted"))
    assert record.status == "interrupted"
    assert [s.id for s in build_sections(record)] == ["config"]
    assert "interrupted" in render_report(record)


def test_detect_mode_problems_are_not_repaired_and_the_page_says_how_to_repair(tmp_path):
    record = load_record(write_run(tmp_path, "diverged"))
    record.status = "completed"
    v = verdict(record)
    assert v["tone"] == "bad" and "1 not repaired" in v["headline"]
    assert any("--doctor repair" in line for line in v["lines"])
    for healthy_or_repaired in ("healthy", "repaired"):
        v = verdict(load_record(write_run(tmp_path / healthy_or_repaired, healthy_or_repaired)))
        assert not any("--doctor repair" in line for line in v["lines"])


def test_not_a_run_directory_is_bad_input(tmp_path):
    with pytest.raises(trainwell.InputError, match="not a trainwell run directory"):
        write_report(tmp_path)


def test_per_class_scores_equal_scikit_learn(tmp_path):
    rng = np.random.default_rng(0)
    true, predicted = rng.integers(0, 4, 300), rng.integers(0, 4, 300)
    predicted[:100] = true[:100]
    confusion = np.zeros((4, 4), dtype=int)
    np.add.at(confusion, (true, predicted), 1)
    rows = per_class(confusion.tolist(), list("abcd"))
    p, r, f, s = precision_recall_fscore_support(true, predicted, zero_division=0)
    assert np.allclose([row["precision"] for row in rows], p)
    assert np.allclose([row["recall"] for row in rows], r)
    assert np.allclose([row["f1"] for row in rows], f)
    assert [row["support"] for row in rows] == s.tolist()
    assert sum(row["worst"] for row in rows) == 1 and rows[int(np.argmin(f))]["worst"]


def test_compare_page_shows_both_runs_and_their_config_differences(tmp_path):
    a, b = write_run(tmp_path, "healthy"), write_run(tmp_path, "repaired")
    path = compare_runs(a, b)
    html = path.read_text()
    assert path.parent == tmp_path and a.name in html and b.name in html
    assert "doctor.mode" in html and "vanishing gradient" in html
    assert "(error, repaired)" in html  # the finding repaired: not "passed"
    assert html.count("<img") == 2
    _self_contained(html)


def test_probe_history_record_is_compact_json():
    history = ProbeHistory(layers=["a", "b"], activations=["r"], activation_kinds=["relu"])
    history.steps, history.epochs, history.loss = [0], [0], [float("nan")]
    history.grad_norm = [np.array([0.123456789, 2.0])]
    history.update_ratio = [np.array([1e-3, 1e-3])]
    history.dead, history.saturated = [np.array([0.5])], [np.array([np.nan])]
    record = json.loads(json.dumps(history.to_record(), allow_nan=False))
    assert record["grad_norm"] == [[0.1235, 2.0]] and record["loss"] == [None]
    assert record["saturated"] == [[None]] and record["layers"] == ["a", "b"]


def test_fit_writes_the_report_and_health_and_a_render_failure_keeps_the_run(
    out, iris_config, monkeypatch, capsys
):
    run = trainwell.fit(iris_config)
    assert (run.run_dir / "report.html").is_file()
    health = json.loads((run.run_dir / "health.json").read_text())
    assert health[0]["steps"] and len(health[0]["grad_norm"][0]) == len(health[0]["layers"])
    assert json.loads((run.run_dir / "environment.json").read_text())["device"] == "cpu"

    def broken(run_dir):
        raise RuntimeError("no fonts")

    monkeypatch.setattr("trainwell.report._render.write_report", broken)
    run = trainwell.fit(iris_config)
    assert not (run.run_dir / "report.html").exists()
    assert json.loads((run.run_dir / "summary.json").read_text())["status"] == "completed"
    assert "report.html not written (RuntimeError: no fonts)" in capsys.readouterr().err


def test_fit_on_regression_keeps_test_predictions_in_target_units(out):
    run = trainwell.fit(
        {
            "data": {"source": "diabetes"},
            "model": {"hidden": [8]},
            "train": {"epochs": 2},
            "doctor": {"mode": "off"},
        }
    )
    predictions = json.loads((run.run_dir / "evaluation.json").read_text())["test_predictions"]
    assert len(predictions["true"]) == len(predictions["predicted"]) > 10
    assert np.mean(predictions["true"]) > 20  # diabetes progression scores, not z-scores
    assert not (run.run_dir / "health.json").exists()
    assert 'alt="Predicted against true values' in (run.run_dir / "report.html").read_text()


@pytest.mark.slow
def test_cli_report_and_compare(tmp_path):
    a, b = write_run(tmp_path, "healthy"), write_run(tmp_path, "regression")
    cli = [sys.executable, "-m", "trainwell"]
    done = subprocess.run([*cli, "report", str(a)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == str(a / "report.html")
    target = tmp_path / "ab.html"
    done = subprocess.run(
        [*cli, "compare", str(a), str(b), "--out", str(target), "--json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and json.loads(done.stdout) == {"report": str(target)}
    done = subprocess.run([*cli, "report", str(tmp_path / "nope")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_demo_ends_by_printing_the_report_path(out):
    from typer.testing import CliRunner

    from trainwell.cli import app

    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("report: ")
    assert Path(last.removeprefix("report: ")).is_file()


def test_repairs_made_at_an_epoch_end_are_marked_at_the_next_probe(tmp_path):
    from trainwell.report._figures import step_events

    record = load_record(write_run(tmp_path, "repaired"))
    assert step_events(record) == [(4.0, "repair", "#D55E00")]
    record.repairs[0]["step"] = None  # made at the end of epoch 0: next probe is step 16
    assert step_events(record)[0][0] == 16.0


def test_the_kept_epoch_is_the_one_whose_weights_the_run_kept(tmp_path):
    record = load_record(write_run(tmp_path, "healthy"))
    assert record.kept_epoch is None  # the last epoch's weights
    record.metrics["best_epoch"] = 3  # early stopping restored epoch 3 of 6
    assert record.kept_epoch == 3
    record.metrics["best_epoch"] = 5
    record.repairs = [
        {
            "remedy": "stop_early",
            "changed": "stopped early and restored the weights of epoch 2",
            "epoch": 5,
        }
    ]
    assert record.kept_epoch == 2  # the doctor's early stop restored epoch 2
    assert "6 (kept 2)" in [t["value"] for t in verdict(record)["tiles"]]


def test_an_attempt_says_when_the_run_ends_on_the_network_it_replaced():
    from trainwell.report._cards import attempt

    repair = {"remedy": "widen", "changed": "model.hidden: [32] -> [128]", "cured": True}
    assert attempt(repair)["outcome"] == "cured"
    repair["kept_network"] = "the network it replaced: its validation accuracy 0.908 at epoch 4"
    assert attempt(repair)["outcome"] == (
        "cured; the run ends on the network it replaced: its validation accuracy 0.908 at epoch 4"
    )
