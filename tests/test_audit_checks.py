"""Each data check on data with its problem, and on healthy data that must pass."""

import dataclasses

import numpy as np
import pytest

from trainwell.config import load_config
from trainwell.data import DataInfo, Dataset, Split, load_splits
from trainwell.data.audit import (
    AuditData,
    Thresholds,
    audit_dataset,
    estimate_joint,
    find_label_issues,
)
from trainwell.data.audit._classes import class_imbalance, small_dataset
from trainwell.data.audit._columns import (
    constant_features,
    identifier_columns,
    many_categories,
    missing_values,
    unscaled_features,
)
from trainwell.data.audit._labels import label_issues, weighed_by_the_network
from trainwell.data.audit._neighbours import duplicates, outliers, train_test_leakage

T = Thresholds()


def _blobs(n=300, k=3, d=4, seed=0):
    """Well separated classes, standard scale: healthy for every check."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, d)) + 6.0 * np.eye(k, d)[y]
    return X.astype(np.float32), y.astype(np.int64)


def _view(X, y, *, held=None, standardized=True, n_params=None, names=None) -> AuditData:
    """Rows 0..n-1 train; held-out rows get source indices after them; classes `names`
    (default c0, c1, ...)."""
    n = len(y)
    hX = held if held is not None else _blobs(60, seed=9)[0][:, : X.shape[1]]
    hy = np.zeros(len(hX), dtype=np.int64)
    held_split = Split(hX, hy, np.arange(n, n + len(hX)))
    empty = Split(hX[:0], hy[:0], np.arange(0))
    k = int(y.max()) + 1
    names = names or [f"c{i}" for i in range(k)]
    info = DataInfo("test", "classification", [X.shape[1]], names)
    data = Dataset(Split(X, y, np.arange(n)), held_split, empty, info, {})
    return AuditData(data, standardized=standardized, n_params=n_params)


def _one(findings, code):
    assert [f.code for f in findings] == [code]
    assert findings[0].source == "data"
    return findings[0]


def test_healthy_blobs_give_nothing_but_a_few_gaussian_tails():
    X, y = _blobs()
    findings = audit_dataset(_view(X, y).data).findings
    assert [(f.code, f.severity) for f in findings] in ([], [("outliers", "info")])


@pytest.mark.parametrize("source", ["digits", "wine", "breast_cancer", "iris"])
def test_builtin_datasets_as_they_ship_give_no_warning(source):
    for arch in ("mlp", "cnn") if source == "digits" else ("mlp",):
        data = load_splits(load_config({"data": {"source": source}, "model": {"arch": arch}}))
        result = audit_dataset(data)
        assert [f.code for f in result.findings if f.severity != "info"] == []
        assert set(result.seconds) >= {"label_issues", "duplicates", "outliers"}


def test_class_imbalance():
    X, y = _blobs()
    keep = np.flatnonzero((y != 0) | (np.arange(len(y)) < 24))  # 8 of class 0 vs 100
    finding = _one(class_imbalance(_view(X[keep], y[keep]), T), "class_imbalance")
    assert finding.severity == "warning" and finding.evidence["ratio"] == 12.5
    assert finding.evidence["rows"] == [0, 3, 6, 9, 12, 15, 18, 21]
    assert class_imbalance(_view(X, y), T) == []


@pytest.mark.parametrize("names", ["ages", "words"])
def test_many_number_classes_are_asked_whether_they_are_a_quantity(names):
    """An age column (18-65) read as 48 classes: accuracy 0.13, and the findings advised
    class weights and merging classes, never `data.task: regression` (R^2 0.94). Classes
    named by words are not asked."""
    rng = np.random.default_rng(0)
    y = np.minimum(rng.geometric(0.08, 600) - 1, 47)
    X = rng.normal(size=(600, 3))
    classes = [str(18 + i) for i in range(48)] if names == "ages" else [f"w{i}" for i in range(48)]
    view = _view(X, y, names=classes)
    found = [*class_imbalance(view, T), *small_dataset(view, T)]
    assert [f.code for f in found] == ["class_imbalance", "small_dataset"]
    for finding in found:
        asked = "48 whole numbers were taken as classes" in finding.message
        assert asked == (names == "ages"), finding.message
        assert ("data.task: regression" in finding.message) == (names == "ages")


def test_small_dataset_per_class_and_per_parameter():
    X, y = _blobs()
    keep = np.flatnonzero((y != 2) | (np.arange(len(y)) < 20))
    finding = _one(small_dataset(_view(X[keep], y[keep]), T), "small_dataset")
    assert finding.severity == "warning" and finding.evidence["small_classes"] == ["c2"]
    info = _one(small_dataset(_view(X, y, n_params=10_000_000), T), "small_dataset")
    assert info.severity == "info" and info.evidence["parameters"] == 10_000_000
    assert small_dataset(_view(X, y, n_params=60_000), T) == []


def test_missing_values_per_column_and_row():
    X, y = _blobs()
    X[[5, 7], 1] = np.nan
    X[9, 2] = np.inf
    finding = _one(missing_values(_view(X, y), T), "missing_values")
    assert finding.severity == "error"
    assert finding.evidence["rows"] == [5, 7, 9]
    assert finding.evidence["columns"] == {"f1": 2, "f2": 1}
    assert missing_values(_view(*_blobs()), T) == []


def test_an_all_missing_column_is_named_and_constant():
    X, y = _blobs()
    X[:, 3] = np.nan
    finding = _one(missing_values(_view(X, y), T), "missing_values")
    assert finding.evidence["empty_columns"] == ["f3"]
    assert "no value at all" in finding.message
    constant = _one(constant_features(_view(X, y), T), "constant_features")
    assert constant.evidence["columns"] == [3] and constant.severity == "info"


def test_constant_features():
    X, y = _blobs()
    X[:, 0] = 4.0
    assert _one(constant_features(_view(X, y), T), "constant_features").evidence["columns"] == [0]
    everything = np.ones_like(X)
    assert constant_features(_view(everything, y), T)[0].severity == "error"
    assert constant_features(_view(*_blobs()), T) == []


def test_identifier_columns_name_what_the_load_left_out():
    view = _view(*_blobs())
    assert identifier_columns(view, T) == []  # a file with nothing left out
    view.data.info.left_out = {"customer": "a value of its own in 300 of 300 rows"}
    finding = _one(identifier_columns(view, T), "identifier_columns")
    assert finding.severity == "warning" and finding.evidence["columns"] == ["customer"]
    assert "'customer' (a value of its own in 300 of 300 rows)" in finding.message


def test_many_categories_name_the_columns_cut_to_their_most_frequent_values():
    view = _view(*_blobs())
    assert many_categories(view, T) == []  # no column had too many
    view.data.info.encoding = {"zip": [f"Z{i}" for i in range(100)]}
    view.data.info.capped = {"zip": {"categories": 4909, "rows_kept": 0.05}}
    finding = _one(many_categories(view, T), "many_categories")
    assert finding.severity == "warning" and list(finding.evidence["columns"]) == ["zip"]
    assert "'zip' (4,909 values; the kept ones on 5% of its rows)" in finding.message
    assert "100 most frequent" in finding.message


def test_unscaled_features_warn_unless_the_run_standardises():
    X, y = _blobs()
    X[:, 2] *= 1000.0
    warning = _one(unscaled_features(_view(X, y, standardized=False), T), "unscaled_features")
    assert warning.severity == "warning" and warning.evidence["features"][0] == "f2"
    handled = _one(unscaled_features(_view(X, y), T), "unscaled_features")
    assert handled.severity == "info" and handled.resolved
    assert unscaled_features(_view(*_blobs(), standardized=False), T) == []
    assert "far apart" in warning.message


def test_features_alike_but_far_from_unit_scale_are_not_called_far_apart():
    """Raw pixel counts ~900 +- 40 in every column: the scales match, the offset is the
    problem ("far apart (std ratio 1 ...)" contradicted itself)."""
    X, y = _blobs()
    finding = _one(
        unscaled_features(_view(X + 900.0, y, standardized=False), T), "unscaled_features"
    )
    assert "far from unit scale" in finding.message and "far apart" not in finding.message


def test_exact_and_near_duplicates():
    X, y = _blobs()
    X[10] = X[4]  # exact
    X[20] = X[8] + 1e-4  # near
    finding = _one(duplicates(_view(X, y), T), "duplicates")
    assert finding.evidence["rows"] == [10, 20]
    assert finding.evidence["exact"] == 1
    assert sorted(finding.evidence["groups"]) == [[4, 10], [8, 20]]
    assert duplicates(_view(*_blobs()), T) == []


@pytest.mark.parametrize("d", [1, 2])
def test_rows_of_few_columns_are_not_near_copies_by_chance(d):
    """One or two continuous columns of distinct random rows: 0.13 x the median nearest
    distance holds ~9% (1%) of them by chance, read as 4% of rows "repeating another" and
    a held-out set leaking. A real near copy is still found."""
    rng = np.random.default_rng(d)
    X = rng.normal(size=(600, d)).astype(np.float32)
    y = (X.sum(1) > 0).astype(np.int64)
    held = rng.normal(size=(200, d)).astype(np.float32)
    view = _view(X, y, held=held)
    assert duplicates(view, T) == [] and train_test_leakage(view, T) == []
    off = 1e-6 if d == 1 else 1e-5  # closer than chance brings two of 600 rows (1e-5 in 1-D)
    X[20] = X[8] + off  # a copy, written with a rounding of its own
    held[3] = X[50] - off
    view = _view(X, y, held=held)
    assert _one(duplicates(view, T), "duplicates").evidence["rows"] == [20]
    assert _one(train_test_leakage(view, T), "train_test_leakage").evidence["rows"] == [50]


def test_many_duplicates_are_a_warning_with_conflicting_labels():
    X, y = _blobs()
    X[100:110] = X[0:10]
    y[100:110] = (y[0:10] + 1) % 3
    finding = _one(duplicates(_view(X, y), T), "duplicates")
    assert finding.severity == "warning"
    assert finding.evidence["conflicting_labels"] == 10


def test_train_test_leakage_names_the_training_row_and_its_twin():
    X, y = _blobs()
    held = _blobs(60, seed=9)[0]
    held[[3, 30]] = X[[12, 40]]
    finding = _one(train_test_leakage(_view(X, y, held=held), T), "train_test_leakage")
    assert finding.evidence["rows"] == [12, 40]
    assert finding.evidence["matches"] == [300 + 3, 300 + 30]
    assert finding.severity == "warning"  # 2 of 60 held-out rows: over 2%
    assert train_test_leakage(_view(X, y), T) == []


def test_outliers_most_distant_first():
    X, y = _blobs()
    far = np.arange(0, 300, 15)  # 20 rows, 6.7%, each far out in its own direction
    X[far] += 40.0 * np.random.default_rng(1).normal(size=(len(far), X.shape[1]))
    finding = _one(outliers(_view(X, y), T), "outliers")
    assert finding.severity == "warning"
    assert set(finding.evidence["rows"][: len(far)]) == set(far.tolist())
    assert finding.evidence["scores"][-1] > finding.evidence["fence"]
    assert [f for f in outliers(_view(*_blobs()), T) if f.severity != "info"] == []


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_class_that_varies_more_is_not_a_class_of_outliers(task, monkeypatch):
    """Rings drawn at any size beside blobs: one class's rows lie 4x farther apart than the
    others', and a fence over all rows put most of them past it (9% of the rows: a
    warning). Judged among its own class, a few are; the same rows with no class to be
    judged among stay far out."""
    rng = np.random.default_rng(0)
    y = np.where(rng.random(600) < 0.1, 2, rng.integers(0, 2, 600))  # rings: 1 row in 10
    X = rng.normal(size=(600, 4)) * np.where(y == 2, 4.0, 1.0)[:, None] + 6.0 * np.eye(3, 4)[y]
    view = _view(X.astype(np.float32), y.astype(np.int64))
    monkeypatch.setattr(type(view), "task", property(lambda self: task))
    found = outliers(view, T)
    warned = [f for f in found if f.severity == "warning"]
    assert bool(warned) is (task == "regression"), found


def test_outliers_say_nothing_when_most_rows_repeat():
    X = np.zeros((200, 3), dtype=np.float32)  # a categorical table: mostly identical rows
    X[::4, 0] = 1.0
    X[7, 1] = 1.0
    assert outliers(_view(X, np.arange(200) % 2), T) == []
    # ... though one class's rows, fenced among themselves, vary (and one lies far out)
    y = (np.arange(200) >= 170).astype(np.int64)
    X = np.zeros((200, 3), dtype=np.float32)
    X[y == 1] = np.random.default_rng(0).normal(size=(30, 3))
    X[199] = 30.0
    assert outliers(_view(X, y), T) == []


def test_label_issues_finds_flipped_labels():
    X, y = _blobs(600)
    flipped = np.arange(0, 600, 10)  # 60 rows, 10%
    y = y.copy()
    y[flipped] = (y[flipped] + 1) % 3
    finding = _one(label_issues(_view(X, y), T), "label_issues")
    assert finding.severity == "warning"
    found = set(finding.evidence["rows"])
    assert len(found & set(flipped.tolist())) >= 54 and len(found - set(flipped.tolist())) <= 6
    first = finding.evidence["rows"][0]
    assert finding.evidence["predicted_ids"][0] == (y[first] - 1) % 3  # the true class
    assert label_issues(_view(*_blobs(600)), T) == []


@pytest.mark.parametrize(
    ("accuracy", "rows", "kept"),
    [
        (0.86, 120, True),  # 10% flipped: a network scores ~90% at best on the given labels
        (0.99, 120, False),  # it scores 99%: the flagged rows are the audit model's mistakes
        (0.93, 12, True),  # above 90%, but on 12 rows: within the noise
    ],
)
def test_label_issues_are_weighed_by_the_trained_networks_accuracy(accuracy, rows, kept):
    """Clean labels the audit's kernel model reads poorly (codes, images, sequences) were
    26% "mislabelled" while the trained network reached 93.5% on held-out rows scored by
    those labels: more than 74% is impossible with that many wrong labels."""
    X, y = _blobs(600)
    flipped = np.arange(0, 600, 10)
    y = y.copy()
    y[flipped] = (y[flipped] + 1) % 3
    finding = _one(label_issues(_view(X, y), T), "label_issues")
    weighed = weighed_by_the_network(finding, accuracy, rows)
    assert (weighed is finding) == kept
    if not kept:
        assert weighed.severity == "info" and "audit model's own mistakes" in weighed.message
        assert weighed.evidence["network_val_accuracy"] == accuracy
    resolved = dataclasses.replace(finding, resolved=True)  # the rows were dropped already
    assert weighed_by_the_network(resolved, 0.99, 120) is resolved


def test_a_class_the_label_model_cannot_see_is_not_judged_and_flips_are_still_found():
    X, y = _blobs(600)
    y = y.copy()
    hidden = np.flatnonzero(y == 0)[:60]  # a 4th class the raw inputs cannot tell from class 0
    y[hidden] = 3
    flipped = np.setdiff1d(np.arange(0, 600, 10), hidden)  # 54 rows, 10% of classes 0-2
    y[flipped] = (y[flipped] + 1) % 3
    found = {f.code: f for f in label_issues(_view(X, y), T)}
    assert set(found) == {"labels_not_judged", "label_issues"}
    assert found["labels_not_judged"].severity == "info"
    assert found["labels_not_judged"].evidence["classes"] == ["c3"]
    rows = set(found["label_issues"].evidence["rows"])
    assert not rows & set(hidden.tolist())
    assert len(rows & set(flipped.tolist())) >= 48 and len(rows - set(flipped.tolist())) <= 6
    assert all(f.code != "labels_not_judged" for f in label_issues(_view(*_blobs(600)), T))


def test_confident_learning_on_hand_made_probabilities():
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.2, 0.8], [0.1, 0.9], [0.7, 0.3]])
    joint = estimate_joint(labels, probs)
    assert joint.sum() == pytest.approx(6) and joint[0, 1] == pytest.approx(1)
    for method in ("self_confidence", "prune_by_noise_rate"):
        assert find_label_issues(labels, probs, method).tolist() == [0, 0, 1, 0, 0, 1]
    with pytest.raises(ValueError, match="method"):
        find_label_issues(labels, probs, "magic")
    blind = np.array([[0.9, 0.1]] * 6)  # class 1 is never recognised: nothing is judged
    for method in ("self_confidence", "prune_by_noise_rate"):
        assert not find_label_issues(labels, blind, method).any()


def test_regression_data_skips_the_class_checks():
    data = load_splits(load_config({"data": {"source": "diabetes"}}))
    codes = {f.code for f in audit_dataset(data).findings}
    assert not codes & {"label_issues", "class_imbalance"}


def test_classes_of_one_row_get_out_of_sample_probabilities():
    """Classes of a single training row cannot sit in every stratified fold: scikit-learn
    raised (exit 1 from the audit of a target with a class per row or two)."""
    from trainwell.data.audit import out_of_sample_probabilities

    X = _blobs()[0][:24]
    y = np.arange(24)  # a class a row
    probs = out_of_sample_probabilities(X, y, 24, 5)
    assert probs.shape == (24, 24) and np.allclose(probs.sum(1), 1.0)
