"""What the end of training shows: a rare class the trained network never recognises."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

import trainwell
from trainwell.findings import Finding
from trainwell.pipeline._outcome import IGNORED_MIN_ROWS, ignored_classes

CLASSES = ["ok", "fraud"]
TRAIN_Y = np.array([0] * 980 + [1] * 20)  # 98:2


def test_a_rare_class_never_predicted_is_reported():
    found = ignored_classes([[[782, 2], [16, 0]]], CLASSES, TRAIN_Y, [])
    assert [f.code for f in found] == ["ignored_class"]
    finding = found[0]
    assert finding.evidence["classes"] == ["fraud"] and finding.evidence["held_out_rows"] == [16]
    assert "'fraud'" in finding.message and "class_weights" in finding.message
    assert finding.evidence["held_out_accuracy"] == pytest.approx(782 / 800)
    assert "it predicts it for 2 other rows" in finding.message


def test_validation_and_test_rows_are_judged_together():
    """A long tail has few rows of a rare class in each held-out set (stress 20: 0 of 8 in
    validation went unreported): together they are evidence; one recognised row in either
    is not."""
    val, test = [[392, 0], [8, 0]], [[391, 1], [7, 0]]
    (finding,) = ignored_classes([val, test], CLASSES, TRAIN_Y, [])
    assert finding.evidence["held_out_rows"] == [15]
    assert "(15 rows, 2.0% of training's)" in finding.message
    assert ignored_classes([val], CLASSES, TRAIN_Y, []) == []  # 8 rows alone: too few
    assert ignored_classes([val, [[391, 1], [6, 1]]], CLASSES, TRAIN_Y, []) == []


@pytest.mark.parametrize(
    ("confusion", "train_y"),
    [
        ([[780, 4], [15, 1]], TRAIN_Y),  # one recognised: learned something of it
        ([[800, 0], [IGNORED_MIN_ROWS - 1, 0]], TRAIN_Y),  # too few rows to tell
        ([[400, 0], [400, 0]], np.array([0, 1] * 500)),  # common: the doctor's to judge
    ],
)
def test_no_finding_where_the_rare_class_is_predicted_or_too_few_to_tell(confusion, train_y):
    assert ignored_classes([confusion], CLASSES, train_y, []) == []


def test_several_classes_are_named_each_with_its_rows():
    classes, train_y = ["a", "b", "c", "d"], np.array([0] * 900 + [1] * 900 + [2] * 40 + [3] * 45)
    (finding,) = ignored_classes([[[300, 0, 0, 0], [0, 300, 0, 0], [12, 0, 0, 0], [14, 1, 0, 0]]],
                                 classes, train_y, [])  # fmt: skip
    assert finding.evidence["classes"] == ["c", "d"]
    assert finding.evidence["held_out_rows"] == [12, 15]
    assert "'c' (12 rows, 2.1% of training's), 'd' (15 rows, 2.4% of training's)" in (
        finding.message
    )
    assert "it never predicts them" in finding.message


def test_a_network_that_did_not_learn_is_the_doctors_finding_not_this():
    """Iris with 20 steps in all (stress 20): underfitting, and the rare class ignored
    beside it; class weights only moved the miss to another class. The network's failure
    to learn is what is said."""
    stalled = Finding("underfitting", "warning", "training", "stalled")
    assert ignored_classes([[[784, 0], [16, 0]]], CLASSES, TRAIN_Y, [], [stalled]) == []
    noted = Finding("underfitting", "info", "training", "noted")
    assert ignored_classes([[[784, 0], [16, 0]]], CLASSES, TRAIN_Y, [], [noted]) != []


def test_a_class_the_audit_did_not_recognise_either_may_not_be_told_apart():
    blind = Finding("labels_not_judged", "info", "data", "", {"classes": ["fraud"]})
    (finding,) = ignored_classes([[[784, 0], [16, 0]]], CLASSES, TRAIN_Y, [], [blind])
    assert "class_weights" in finding.message  # first, as imbalance explains it too
    assert "The audit's model did not recognise 'fraud' either" in finding.message


def test_under_class_weights_the_advice_is_no_longer_to_add_them():
    (finding,) = ignored_classes([[[784, 0], [16, 0]]], CLASSES, TRAIN_Y, ["class_weights"])
    assert "even under class_weights" in finding.message
    assert "add data.remedies" not in finding.message


def test_fit_reports_the_class_it_never_predicts_and_not_once_weighted(out, tmp_path):
    """98:2 fraud data: plain training answers 'ok' for nearly every row (macro F1 0.49); with
    the class weights the audit recommends, it predicts fraud, and nothing is reported."""
    X, y = make_classification(
        n_samples=4000, n_features=20, n_informative=4, weights=[0.98, 0.02], flip_y=0,
        random_state=3,
    )  # fmt: skip
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    frame.assign(label=np.where(y == 1, "fraud", "ok")).to_csv(tmp_path / "f.csv", index=False)
    data = {"source": str(tmp_path / "f.csv"), "target": "label", "audit": False}
    config = {
        "data": data,
        "model": {"hidden": [64]},
        "train": {"optimizer": "sgd", "lr": 0.01, "epochs": 15, "batch_size": 64},
    }
    plain = trainwell.fit(config)
    codes = [f.code for f in plain.findings]
    assert "ignored_class" in codes, codes
    assert plain.metrics["val_macro_f1"] < 0.5
    weighted = trainwell.fit({**config, "data": {**data, "remedies": ["class_weights"]}})
    assert "ignored_class" not in [f.code for f in weighted.findings]
    assert weighted.metrics["val_macro_f1"] > 0.55
