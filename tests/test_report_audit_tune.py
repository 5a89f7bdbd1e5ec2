"""The report's data audit and tuning sections, from real `audit`, `fit` and `tune` runs:
each renders from what those commands write, and is absent when its input is absent."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from report_runs import write_run
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.report import load_record, render_report
from trainwell.report._figures import epoch_events
from trainwell.report._sections import build_sections

NOISY_DIGITS = {
    "data": {"source": "digits", "corrupt": {"label_noise": 0.1, "leak_fraction": 0.05}},
    "model": {"arch": "cnn"},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One of each: an audit directory (image data), fits with and without the audit, a
    study. About 10 s on two cores."""
    root = tmp_path_factory.mktemp("runs")
    wine = {
        "data": {"source": "wine", "corrupt": {"label_noise": 0.1}},
        "model": {"hidden": [16]},
        "train": {"epochs": 2},
        "doctor": {"mode": "off"},
    }
    remedied = {**wine, "data": {**wine["data"], "remedies": ["drop_label_issues"]}}
    unaudited = {**wine, "data": {**wine["data"], "audit": False}}
    iris = {
        "data": {"source": "iris"},
        "train": {"epochs": 2, "batch_size": 16},
        "doctor": {"mode": "off"},
        "tune": {"train.lr": {"low": 1.0e-3, "high": 0.3, "log": True}},
    }
    return {
        "audit": trainwell.audit(NOISY_DIGITS, out=root).run_dir,
        "remedied": trainwell.fit(remedied, out=root).run_dir,
        "unaudited": trainwell.fit(unaudited, out=root).run_dir,
        "tune": trainwell.tune(iris, trials=4, pruner="none", study="t", out=root).run_dir,
    }


def _ids(html: str) -> list[str]:
    return re.findall(r'<section class="block" id="([a-z]+)"', html)


def _self_contained(html: str) -> None:
    sources = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    allowed = ("data:image/svg+xml;base64,", "data:image/png;base64,", "#")
    assert sources and all(s.startswith(allowed) for s in sources)
    assert "<script" not in html and "<link" not in html


def test_audit_json_holds_class_counts_per_split_and_the_flagged_rows(runs):
    audit = json.loads((runs["audit"] / "audit.json").read_text())
    findings = {f["code"]: f for f in json.loads((runs["audit"] / "findings.json").read_text())}
    for split, n in audit["sizes"].items():
        assert sum(audit["class_counts"][split].values()) == n
    labels = findings["label_issues"]["evidence"]
    for row, given in list(zip(labels["rows"], labels["given"], strict=True))[:24]:
        assert audit["rows"][str(row)]["label"] == given  # the noisy label, as audited
    thumb = audit["rows"][str(labels["rows"][0])]["image"]
    picture = Image.open(io.BytesIO(base64.b64decode(thumb.split(",", 1)[1])))
    assert picture.size == (8, 8)  # digits, at their own resolution
    leaked = findings["train_test_leakage"]["evidence"]["matches"]
    assert {audit["held_out"][str(r)]["split"] for r in leaked[:24]} <= {"val", "test"}


def test_audit_directory_page_shows_balance_counts_and_the_suspect_images(runs):
    html = (runs["audit"] / "report.html").read_text()
    assert _ids(html) == ["audit", "config"]
    assert "2 data problems found" in html and "not repaired" not in html
    assert 'alt="Rows per class in each split"' in html
    assert re.search(r"<td>label issues</td><td class=\"n\">\d+</td>", html)
    assert "<td>train/test leakage</td>" in html and "<td>duplicates</td>" in html
    label_card = html[html.index("<h3>Label issues</h3>") :]
    assert label_card.count('src="data:image/png') >= 24  # the suspect digits themselves
    assert re.search(r"label <b>\d</b> → <b class=\"suspect\">\d</b>", label_card)
    assert "= test " in html or "= val " in html  # a leaked row beside its held-out twin
    _self_contained(html)


def test_fit_page_says_which_data_remedies_were_applied_and_lists_rows_as_a_table(runs):
    html = (runs["remedied"] / "report.html").read_text()
    assert "audit" in _ids(html) and "findings" not in _ids(html)  # no training findings
    assert "Remedies applied before training" in html and "drop_label_issues" in html
    assert "✓ remedied by drop_label_issues" in html
    assert "<th>suspected class</th>" in html and "data:image/png" not in html  # a table
    record = load_record(runs["remedied"])
    assert [e for e in epoch_events(record) if e[1] == "repair"] == []  # not a training repair
    _self_contained(html)


def test_audit_section_is_absent_without_the_audit(runs):
    assert not (runs["unaudited"] / "audit.json").exists()
    html = (runs["unaudited"] / "report.html").read_text()
    assert "audit" not in _ids(html) and "tune" not in _ids(html)


def test_tune_directory_page_shows_history_importances_trials_and_best_config(runs):
    html = (runs["tune"] / "report.html").read_text()
    summary = json.loads((runs["tune"] / "summary.json").read_text())
    assert _ids(html) == ["tune", "config"]
    assert 'alt="Objective value of each trial and the best so far"' in html
    assert ('alt="Importance of each searched parameter"' in html) == bool(summary["importances"])
    assert html.count('<tr class="st-complete') == 4 and "★" in html
    assert f"trainwell fit {summary['best_config']}" in html and "best.yaml</summary>" in html
    assert "Best val accuracy" in html
    _self_contained(html)


def test_tune_page_gives_each_pruned_trials_reason(runs):
    record = load_record(runs["tune"])
    record.tune["trials"][1].update(
        state="pruned", value=None, reason="pruned after 1 epoch(s): val_accuracy 0.3"
    )
    html = render_report(record)
    assert "pruned after 1 epoch(s): val_accuracy 0.3" in html and "st-pruned" in html


def test_a_run_has_neither_section_when_it_has_neither_input(tmp_path):
    ids = [s.id for s in build_sections(load_record(write_run(tmp_path, "healthy")))]
    assert "audit" not in ids and "tune" not in ids


def test_report_command_rebuilds_audit_and_tune_pages_and_audit_prints_its_page(runs, tmp_path):
    cli = CliRunner()
    for kind in ("audit", "tune"):
        (runs[kind] / "report.html").unlink()
        done = cli.invoke(app, ["report", str(runs[kind])])
        assert done.exit_code == 0 and done.stdout.strip() == str(runs[kind] / "report.html")
        assert (runs[kind] / "report.html").is_file()
    config = tmp_path / "iris.yaml"
    config.write_text("data: {source: iris}\n")
    done = cli.invoke(app, ["audit", str(config), "--out", str(tmp_path / "out")])
    last = done.stdout.strip().splitlines()[-1]
    assert done.exit_code == 0 and last.startswith("report: ") and last.endswith("report.html")
    assert "iris-mlp-audit" in last and Path(last.removeprefix("report: ")).is_file()


def test_best_epoch_is_the_one_the_doctors_early_stop_restored(tmp_path):
    run = trainwell.fit(
        {
            "data": {
                "source": "breast_cancer",
                "split": {"val": 0.3, "test": 0.2},
                "corrupt": {"label_noise": 0.3},
                "audit": False,
            },
            "model": {"hidden": [256, 256]},
            "train": {"epochs": 60, "lr": 0.003, "batch_size": 16},
            "doctor": {"mode": "repair"},
        },
        out=tmp_path,
    )
    stop = next(r for r in run.repairs if r["remedy"] == "stop_early")
    restored = stop["restored_epoch"]
    assert f"weights of epoch {restored}" in stop["changed"]
    assert run.status == "stopped_early" and restored < run.metrics["epochs"] - 1
    assert run.metrics["best_epoch"] == restored
    history = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").open()]
    assert run.metrics["train_loss"] == history[restored]["train_loss"]
    assert load_record(run.run_dir).kept_epoch == restored


def test_colour_images_get_colour_thumbnails(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 255, (120, 3, 12, 10)).astype(np.float32)
    X[100:110] = X[:10]  # exact duplicates: a finding that names rows
    y = np.arange(120) % 2
    np.savez(tmp_path / "pictures.npz", X=X, y=y)
    run = trainwell.audit({"data": {"source": str(tmp_path / "pictures.npz")}}, out=tmp_path)
    audit = json.loads((run.run_dir / "audit.json").read_text())
    assert audit["image_shape"] == [3, 12, 10] and audit["rows"]
    for entry in audit["rows"].values():
        picture = Image.open(io.BytesIO(base64.b64decode(entry["image"].split(",", 1)[1])))
        assert picture.mode == "RGB" and picture.size == (10, 12)
    html = (run.run_dir / "report.html").read_text()
    twins = re.findall(r"<b>row (\d+)</b> = row (\d+)", html)  # a duplicate beside its twin
    assert twins and all(int(a) == int(b) + 100 for a, b in twins)
