"""The defect data source: masks match the defects, rates and kinds are respected, the same
seed gives the same data; image folders with masks; the pointing game."""

import numpy as np
import pytest
from typer.testing import CliRunner

from trainwell import load_config
from trainwell.cli import app
from trainwell.config import Defects
from trainwell.data import generate_defects, load_table, source_masks, write_defects
from trainwell.errors import ConfigError
from trainwell.explain._checks import check_pointing
from trainwell.explain._pointing import pointing_game

KINDS = ["scratch", "spot", "crack", "missing_print"]


def _table(**spec):
    return generate_defects(Defects(**{"count": 300, "rate": 0.4, "kinds": KINDS, **spec}), 0)


def test_counts_follow_rate_and_weights_and_every_kind_appears():
    table = _table()
    counts = np.bincount(table.y, minlength=5)
    assert table.classes == ["normal", *KINDS]
    assert counts[0] == 300 - 120  # exactly rate x count defective
    assert counts[1] > counts[2] > counts[3] > counts[4] > 0  # the last kind is the rarest
    even = np.bincount(_table(weights=[1, 1, 1, 1]).y)
    assert list(even[1:]) == [30, 30, 30, 30]


def test_masks_are_exactly_the_changed_pixels():
    table, again = _table(), _table()
    assert np.array_equal(table.X, again.X) and np.array_equal(table.masks, again.masks)
    assert not np.array_equal(table.X, _table(seed=1).X)  # data.defects.seed changes it
    has_mask = table.masks.reshape(len(table.y), -1).any(1)
    assert np.array_equal(has_mask, table.y > 0)  # normal images: empty masks
    normal = table.X[table.y == 0, 0].mean(0)  # the mean normal surface, with its print
    for kind, sign in (("scratch", 1), ("spot", -1), ("crack", -1), ("missing_print", 1)):
        rows = np.flatnonzero(table.y == KINDS.index(kind) + 1)
        inside = [(table.X[r, 0] - normal)[table.masks[r]].mean() for r in rows]
        outside = [(table.X[r, 0] - normal)[~table.masks[r]].mean() for r in rows]
        assert sign * np.mean(inside) > 0.05 > 0.02 > abs(np.mean(outside)), kind


def test_families_differ_and_config_errors_are_one_line():
    brushed, woven = _table(family="brushed"), _table(family="woven")
    assert not np.allclose(brushed.X, woven.X)
    with pytest.raises(ConfigError, match=r"data\.defects"):
        load_config(None, {"data.defects.kinds": ["scratch", "scratch"]})
    with pytest.raises(ConfigError, match=r"data\.defects"):
        load_config(None, {"data.defects.kinds": ["dent"]})


def test_image_folder_with_masks_round_trips(tmp_path):
    table = _table(count=40, rate=0.5)
    folder = write_defects(table, tmp_path / "inspection")
    config = load_config(None, {"data.source": str(folder), "data.grayscale": True})
    loaded = load_table(config)
    assert loaded.classes == sorted(table.classes)  # class folders, sorted; masks/ is none
    assert loaded.masks is not None and loaded.masks.shape == (40, 32, 32)
    masked = loaded.masks.reshape(40, -1).any(1)
    assert np.array_equal(masked, np.array(loaded.classes)[loaded.y] != "normal")
    assert source_masks(config) is not None
    no_masks = load_config(None, {"data.source": "digits"})
    assert source_masks(no_masks) is None


def test_audit_does_not_call_the_defects_it_cannot_see_mislabelled():
    """A one-pixel defect is invisible to the audit's model on raw pixels: its classes are
    not judged (labels_not_judged), and none of the real defects is a label issue."""
    from trainwell.data import load_splits
    from trainwell.data.audit import audit_dataset

    spec = {"count": 400, "size": 32, "rate": 0.3, "family": "woven", "seed": 7, "kinds": KINDS}
    data = load_splits(load_config({"data": {"source": "defects", "defects": spec}}))
    found = {f.code: f for f in audit_dataset(data).findings}
    assert "label_issues" not in found
    assert found["labels_not_judged"].evidence["classes"] == KINDS


def test_pointing_game_tells_a_right_map_from_a_wrong_one():
    masks = np.zeros((20, 8, 8), bool)
    masks[:, 1, 1] = True
    y, predicted = np.ones(20, int), np.ones(20, int)
    right = np.zeros((20, 8, 8))
    right[:, 1, 1] = 1.0
    wrong = np.zeros((20, 8, 8))
    wrong[:, 6, 6] = 1.0
    good = pointing_game(right, masks, y, predicted, ["normal", "spot"])
    bad = pointing_game(wrong, masks, y, predicted, ["normal", "spot"])
    assert good.tolerance == 1  # the original's 15 of 224 pixels, at 8 pixels
    assert good.score == 1.0 and bad.score == 0.0 and good.rows == 20
    assert 0 < good.chance < 0.3
    assert check_pointing(good, "Grad-CAM") == []
    finding = check_pointing(bad, "Grad-CAM")[0]
    assert finding.code == "unfaithful_explanation"
    assert finding.evidence["check"] == "pointing_game"
    few = pointing_game(wrong[:5], masks[:5], y[:5], predicted[:5], ["normal", "spot"])
    assert few.score == 0.0 and check_pointing(few, "Grad-CAM") == []  # too few to judge
    predicted[:] = 0  # wrong predictions are not judged
    assert pointing_game(right, masks, y, predicted, ["normal", "spot"]).rows == 0


@pytest.mark.parametrize("bad", ["missing", "folder", "garbage"])
def test_bad_init_from_is_one_line_and_writes_nothing(tmp_path, out, bad):
    (tmp_path / "folder").mkdir()
    (tmp_path / "garbage").write_text("not a torch file")
    config = tmp_path / "run.yaml"
    config.write_text(f"data: {{source: iris}}\nmodel: {{init_from: {tmp_path / bad}}}\n")
    result = CliRunner().invoke(app, ["fit", str(config), "--json"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "model.init_from" in lines[0]
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_users_own_folder_trains_and_explains_against_its_masks(tmp_path, out):
    import trainwell

    table = trainwell.generate_defects(Defects(count=120, rate=0.5, kinds=["scratch"]), 0)
    folder = trainwell.write_defects(table, tmp_path / "line3")
    run = trainwell.fit(
        {
            "data": {"source": str(folder), "grayscale": True, "audit": False},
            "model": {"arch": "cnn", "channels": [8]},
            "train": {"epochs": 20, "lr": 0.01, "batch_size": 16},
        },
        out=out,
    )
    explained = trainwell.explain(run.run_dir, method="gradcam", rows=30)
    game = explained.to_dict()["pointing_game"]
    assert game is not None and game["tolerance"] == 2 and game["rows"] > 0
    assert set(game["by_class"]) <= {"scratch"}
