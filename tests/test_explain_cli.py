"""`trainwell explain` end to end: from the CLI and from Python, on built-in data and a
user's own file and module; --json, the explain/ folder, the report; bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.explain import _data as explained_rows

runner = CliRunner()


def _sites_csv(tmp_path: Path, noisy_site: bool, seed: int = 0) -> Path:
    """Two sites with the same rule; at site B a third of the labels are flipped when
    `noisy_site`, so the model cannot be as accurate there (a planted group gap)."""
    rng = np.random.default_rng(seed)
    n = 1000
    X = rng.normal(size=(n, 4))
    site = np.where(rng.random(n) < 0.5, "A", "B")
    label = (X[:, 0] + X[:, 1] > 0).astype(int)
    if noisy_site:
        flip = (site == "B") & (rng.random(n) < 0.35)
        label[flip] = 1 - label[flip]
    frame = pd.DataFrame(X, columns=["x0", "x1", "x2", "x3"]).assign(site=site, label=label)
    path = tmp_path / f"sites-{int(noisy_site)}.csv"
    frame.to_csv(path, index=False)
    return path


def _fit(tmp_path: Path, out: Path, data: dict, model: dict | None = None, **train) -> Path:
    config = {
        "data": {"audit": False, **data},
        "model": model or {"hidden": [32]},
        "train": {"epochs": 10, "batch_size": 64, "lr": 0.01, **train},
    }
    return trainwell.fit(config, out=out, report=False).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One run with a planted site gap and its twin without, trained once for the module."""
    tmp = tmp_path_factory.mktemp("explain")
    out = tmp / "runs"
    gap = _fit(tmp, out, {"source": str(_sites_csv(tmp, noisy_site=True))})
    fair = _fit(tmp, out, {"source": str(_sites_csv(tmp, noisy_site=False))})
    return gap, fair


def test_json_is_one_object_and_explain_folder_is_written(runs):
    gap, _ = runs
    result = runner.invoke(app, ["explain", str(gap), "--groups", "site", "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {
        "run_dir",
        "method",
        "importances",
        "faithfulness",
        "sanity",
        "groups",
        "findings",
    } <= set(summary)
    assert summary["method"] == "ig" and Path(summary["run_dir"]) == gap.resolve()
    features = [i["feature"] for i in summary["importances"]]
    assert sorted(features) == ["site", "x0", "x1", "x2", "x3"]  # site=A, site=B grouped
    assert set(features[:2]) == {"x0", "x1"}
    top = summary["importances"][0]
    assert 0 <= top["spread"] < top["importance"]  # the repeats agree on what matters most
    faith = summary["faithfulness"]
    assert faith["deletion_auc"] < 0.9 * faith["random_deletion_auc"]
    # a trained model's attributions must change when its weights are randomised
    assert summary["sanity"]["randomized_rank_correlation"] < 0.5
    folder = gap / "explain"
    assert json.loads((folder / "explain.json").read_text()) == summary
    assert {"importances.png", "deletion.png", "groups.png", "attributions.npz"} <= set(
        p.name for p in folder.iterdir()
    )
    assert not [p for p in gap.iterdir() if p.name.startswith(".explain")]
    page = (gap / "report.html").read_text()
    assert 'id="explain"' in page and "Group performance gap" in page


def test_a_planted_group_gap_is_found_and_its_twin_is_not(runs):
    gap, fair = runs
    flagged = trainwell.explain(gap, groups="site", report=False)
    [finding] = [f for f in flagged.findings if f.code == "group_performance_gap"]
    assert finding.evidence["metric"] == "accuracy" and finding.evidence["worst"] == "B"
    assert flagged.groups.metrics["B"]["rows"] + flagged.groups.metrics["A"]["rows"] == 200
    healthy = trainwell.explain(fair, groups="site", report=False)
    assert [f for f in healthy.findings if f.code == "group_performance_gap"] == []


def test_groups_from_python_values_that_are_not_a_model_input(runs):
    _, fair = runs
    source = pd.read_csv(trainwell.load_run(fair).config.data.source)
    planted = np.where(source["x2"] > 0, "high", "low")  # x2 is noise: no real gap
    result = trainwell.explain(fair, groups=planted, report=False, method="saliency")
    assert set(result.groups.metrics) == {"high", "low"}
    assert result.groups.column == "group"


def test_the_terminal_output_names_the_checks(runs):
    gap, _ = runs
    result = runner.invoke(app, ["explain", str(gap), "--rows", "60", "--method", "occlusion"])
    assert result.exit_code == 0, result.stderr
    assert "explained 60 test rows with occlusion" in result.stdout
    assert "faithfulness: deletion AUC" in result.stdout and "sanity:" in result.stdout
    replaced = json.loads((gap / "explain" / "explain.json").read_text())
    assert replaced["method"] == "occlusion" and replaced["rows"] == 60  # the old one is gone
    assert not [p for p in gap.iterdir() if p.name.startswith(".explain")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--groups", "nope"], "has no column 'nope'"),
        (["--method", "gradcam"], "needs a convolutional model"),
        (["--method", "shap"], "--method must be one of"),
        (["--rows", "0"], "--rows must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(runs, args, message):
    _, fair = runs
    before = sorted(p.name for p in fair.iterdir())
    result = runner.invoke(app, ["explain", str(fair), *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in fair.iterdir()) == before


def test_a_directory_that_is_not_a_run_is_exit_2(tmp_path):
    result = runner.invoke(app, ["explain", str(tmp_path)])
    assert result.exit_code == 2 and "has no model.pt" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cnn_gradcam_maps_on_digits(tmp_path, out, monkeypatch):
    from trainwell.explain import _explain

    run_dir = _fit(
        tmp_path, out, {"source": "digits"}, {"arch": "cnn", "channels": [8], "hidden": [16]},
        epochs=2,
    )  # fmt: skip
    references = []  # what each attribution (the maps, then the sanity check's) measured from

    def spy(model, X, targets, method, advance=lambda n: None, reference=None):
        references.append(reference)
        return attribute(model, X, targets, method, advance, reference)

    attribute = _explain.attribute
    monkeypatch.setattr(_explain, "attribute", spy)
    result = trainwell.explain(run_dir, method="gradcam", rows=40, report=False)
    assert len(references) > 1 and all(r is not None and len(r) > 1 for r in references)
    assert result.importances == [] and result.faithfulness is not None
    assert "maps.png" in result.files
    maps = np.load(run_dir / "explain" / "attributions.npz")["attributions"]
    assert maps.shape == (40, 1, 8, 8) and (maps >= 0).all()  # Grad-CAM keeps the positive part
    assert result.reference_images == explained_rows.REFERENCE_ROWS  # training images
    assert result.to_dict()["reference_images"] == explained_rows.REFERENCE_ROWS
    reference = explained_rows.test_rows(trainwell.load_run(run_dir), 40, reference=True).reference
    assert tuple(reference.shape) == (explained_rows.REFERENCE_ROWS, 1, 8, 8)
    assert explained_rows.test_rows(trainwell.load_run(run_dir), 40).reference is None


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def test_a_users_own_module_and_a_regression_run(tmp_path, out, iris_config):
    run = trainwell.fit(iris_config, model=Tiny(), out=out, report=False)
    loaded = trainwell.load_run(run.run_dir, model=Tiny())
    result = trainwell.explain(loaded, method="saliency", report=False)
    assert len(result.importances) == 4 and result.rows == 30
    assert explained_rows.test_rows(loaded, 30, reference=True).reference is None  # a table
    assert result.reference_images is None
    regression = _fit(tmp_path, out, {"source": "diabetes"}, epochs=3)
    explained = trainwell.explain(regression, rows=50, report=False)
    assert explained.faithfulness is None and len(explained.importances) == 10


def test_a_regression_is_scored_on_the_scale_its_model_predicts(tmp_path, out):
    """Permutation importance compared the model's standardised outputs with the raw
    targets (diabetes: 25 to 346): every R2 near -5, every drop ~40x too small, the
    ranking shuffled. The test rows' R2 is the one `load_run(...).predict` gives."""
    from sklearn.metrics import r2_score

    from trainwell.data import load_splits
    from trainwell.explain._model import score

    regression = _fit(tmp_path, out, {"source": "diabetes"}, epochs=20)
    loaded = trainwell.load_run(regression)
    rows = explained_rows.test_rows(loaded, 60)
    test = load_splits(loaded.config).test
    at = {row: i for i, row in enumerate(test.rows.tolist())}
    truth = test.y[[at[row] for row in rows.rows.tolist()]]
    expected = r2_score(truth, loaded.predict(rows.raw))
    assert score(loaded.model, rows.X, rows.y, "regression") == pytest.approx(expected, abs=1e-4)
    top = trainwell.explain(regression, rows=60, report=False).importances[0]
    assert expected > 0.3 and top.importance > 0.05


def test_the_same_seed_gives_the_same_explanation(runs):
    _, fair = runs
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    first = trainwell.explain(fair, method="smoothgrad", rows=40, report=False).to_dict()
    assert torch.rand(1) == before  # the caller's random state is left as it was
    again = trainwell.explain(fair, method="smoothgrad", rows=40, report=False).to_dict()
    assert first["sanity"] == again["sanity"] and first["importances"] == again["importances"]
