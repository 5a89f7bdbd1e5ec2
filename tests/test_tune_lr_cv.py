"""The LR range test (a clean, a noisy and a spiky curve) and k-fold cross-validation."""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.tune import suggest_lr

LRS = np.geomspace(1e-7, 10, 100)
X = np.log10(LRS)
# falls fastest at lr 10^-2.5, lowest near 10^-1, then blows up
CLEAN = 2.3 - 2.0 / (1 + np.exp(-2.5 * (X + 2.5))) + 0.5 * np.exp(2.5 * X)
NOISY = CLEAN + np.random.default_rng(0).normal(0, 0.03, len(X))
SPIKY = NOISY.copy()
SPIKY[[15, 30, 31, 40, 70]] += 2.5  # isolated and paired spikes, before and after the descent


def _naive(losses: np.ndarray) -> float:
    """The rule existing finders use: the steepest point-to-point gradient before the minimum."""
    gradient = np.gradient(losses, X)
    return float(LRS[int(np.argmin(gradient[: int(np.argmin(losses))]))])


@pytest.mark.parametrize("losses", [CLEAN, NOISY, SPIKY], ids=["clean", "noisy", "spiky"])
def test_suggestion_is_the_steepest_sustained_descent(losses):
    suggestion = suggest_lr(LRS, losses)
    assert suggestion.rule == "steepest sustained descent"
    assert abs(np.log10(suggestion.lr) + 2.5) < 0.25  # within a quarter decade of 10^-2.5
    assert suggestion.lr < suggestion.lr_at_min


def test_spikes_fool_the_naive_rule_but_not_the_suggestion():
    assert abs(np.log10(_naive(CLEAN)) + 2.5) < 0.25
    assert abs(np.log10(_naive(SPIKY)) + 2.5) > 1.0  # a spike's fall looks steepest
    assert abs(np.log10(suggest_lr(LRS, SPIKY).lr) + 2.5) < 0.25  # ours is not fooled


def test_a_curve_without_a_sustained_descent_falls_back_to_a_tenth_of_the_minimum():
    rising = 1.0 + np.exp(X)  # lowest at the very start
    suggestion = suggest_lr(LRS, rising)
    assert suggestion.rule == "min / 10" and suggestion.lr == pytest.approx(LRS[0] / 10)
    with pytest.raises(ValueError):
        suggest_lr(LRS[:5], [1.0, float("nan"), 1.0, 1.0, 1.0])


def test_lr_find_end_to_end_writes_the_curve_and_plot(out: Path, tmp_path: Path):
    config = tmp_path / "digits.yaml"
    config.write_text("data: {source: digits}\nmodel: {hidden: [32]}\ntrain: {batch_size: 32}\n")
    result = CliRunner().invoke(app, ["lr-find", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    run_dir = Path(summary["run_dir"])
    assert Path(summary["plot"]).stat().st_size > 10_000  # a real PNG
    curve = json.loads((run_dir / "lr_find.json").read_text())
    assert len(curve["lrs"]) == summary["steps"] <= 100
    assert 1e-4 < summary["suggested_lr"] < summary["lr_at_min_loss"] < 10
    assert "diverged" in summary["stop_reason"] or "end of the sweep" in summary["stop_reason"]
    report = CliRunner().invoke(app, ["report", str(run_dir)])  # not a run: says what it is
    assert report.exit_code == 2 and "lr_find.png" in report.output


def test_cross_validation_reports_each_fold_mean_and_spread(out: Path, iris_config):
    config = {**iris_config, "train": {**iris_config["train"], "cv_folds": 3}}
    run = trainwell.fit(config)
    cv = run.summary()["cv"]
    assert cv["folds"] == 3 and [f["fold"] for f in cv["per_fold"]] == [0, 1, 2]
    accuracies = [f["val_accuracy"] for f in cv["per_fold"]]
    assert cv["mean"]["val_accuracy"] == pytest.approx(np.mean(accuracies))
    assert cv["std"]["val_accuracy"] == pytest.approx(np.std(accuracies))
    for k in range(3):
        assert (run.run_dir / "cv" / f"fold-{k}" / "summary.json").is_file()
        assert not (run.run_dir / "cv" / f"fold-{k}" / "reference.npz").exists()  # never monitored
    assert (run.run_dir / "reference.npz").is_file()  # the run itself is
    assert json.loads((run.run_dir / "summary.json").read_text())["cv"] == cv
    plain = trainwell.fit(iris_config)  # the run itself trains exactly as without folds
    assert run.metrics["val_loss"] == pytest.approx(plain.metrics["val_loss"])
    assert "cv" not in plain.summary()


def test_more_folds_than_rows_per_class_is_bad_input(out: Path, tmp_path: Path):
    config = tmp_path / "iris.yaml"
    config.write_text("data: {source: iris}\ntrain: {cv_folds: 100, epochs: 1}\n")
    result = CliRunner().invoke(app, ["fit", str(config)])
    assert result.exit_code == 2 and "folds" in result.output
    assert not out.exists() or not any(out.iterdir())  # nothing written half-way


def test_lr_find_on_nan_inputs_is_bad_input_naming_the_remedy(out: Path, tmp_path: Path):
    config = tmp_path / "nan.yaml"
    config.write_text("data: {source: iris, corrupt: {nan_fraction: 0.05}}\n")
    result = CliRunner().invoke(app, ["lr-find", str(config)])
    assert result.exit_code == 2 and "impute" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("rare_rows", [3, 8])
def test_a_class_with_fewer_rows_than_folds_is_said_in_words(rare_rows, capsys, recwarn):
    """scikit-learn's 'least populated class' UserWarning, with its source line, was what
    a user saw; one line names the class instead, and the folds are cut as before."""
    from trainwell.config import load_config
    from trainwell.data import DataInfo, Dataset, Split
    from trainwell.pipeline._cv import make_folds

    y = np.r_[np.zeros(30, int), np.ones(30, int), np.full(rare_rows, 2)]
    rows = np.arange(len(y))
    split = Split(np.zeros((len(y), 1), np.float32), y, rows)
    empty = Split(split.X[:0], y[:0], rows[:0])
    info = DataInfo("t.csv", "classification", [1], ["a", "b", "rare"])
    folds = make_folds(
        load_config(None, ["train.cv_folds=5"]), Dataset(split, empty, empty, info, {})
    )
    assert len(folds) == 5
    said = capsys.readouterr().err
    assert ("'rare' (3)" in said) == (rare_rows < 5)
    assert not [w for w in recwarn if "least populated" in str(w.message)]


def test_a_fold_that_diverges_is_left_out_of_the_mean_and_named(out: Path, tmp_path: Path):
    """SGD at 2 on wine diverges in some folds: their NaN metrics are left out of the mean
    and spread, the folds named; the statistics crashed on NaN (exit 1, the run half-written)."""
    config = tmp_path / "wine.yaml"
    config.write_text(
        "data: {source: wine}\ntrain: {optimizer: sgd, lr: 2.0, epochs: 20, cv_folds: 3}\n"
    )
    result = CliRunner().invoke(app, ["fit", str(config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    run_dir, cv = Path(summary["run_dir"]), summary["cv"]
    diverged = [f["fold"] for f in cv["per_fold"] if f["status"] == "diverged"]
    assert diverged and cv["left_out"] == diverged
    kept = [f["val_loss"] for f in cv["per_fold"] if f["fold"] not in diverged]
    if kept:
        assert cv["mean"]["val_loss"] == pytest.approx(np.mean(kept))
    assert (run_dir / "summary.json").is_file()
