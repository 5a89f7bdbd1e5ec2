"""The audit past the sizes where it computes everything exactly: neighbours among a random
reference, the label model on a random share of each fold, near matches by radius queries.
Each on data with its problem and on a healthy twin."""

import numpy as np
import pytest
from test_audit_checks import T, _blobs, _one, _view

from trainwell.data.audit import _labels
from trainwell.data.audit import _view as view_module
from trainwell.data.audit._labels import label_issues, out_of_sample_probabilities
from trainwell.data.audit._neighbours import duplicates, outliers, train_test_leakage


@pytest.fixture
def small_reference(monkeypatch):
    """300 training rows count as many: neighbours among 100 of them, the median
    nearest-neighbour distance from 80."""
    monkeypatch.setattr(view_module, "REFERENCE_ROWS", 100)
    monkeypatch.setattr(view_module, "SAMPLE_ROWS", 80)


def test_neighbours_among_a_reference_are_other_rows_in_order(small_reference, monkeypatch):
    X, y = _blobs()
    view = _view(X, y)
    distances, positions = view.neighbours
    assert len(view.reference) == 100 and set(view.reference) <= set(range(300))
    assert distances.shape == positions.shape == (300, 5)
    assert not (positions == np.arange(300)[:, None]).any()
    assert np.isin(positions, view.reference).all()
    assert (np.diff(distances, axis=1) >= 0).all()
    sampled = view.typical_distance
    monkeypatch.setattr(view_module, "REFERENCE_ROWS", 300)
    exact = _view(X, y)
    assert len(exact.reference) == 300
    assert sampled == pytest.approx(exact.typical_distance, rel=0.25)


def test_outliers_among_a_reference(small_reference):
    X, y = _blobs()
    far = np.arange(0, 300, 15)
    X[far] += 40.0 * np.random.default_rng(1).normal(size=(len(far), X.shape[1]))
    finding = _one(outliers(_view(X, y), T), "outliers")
    assert finding.severity == "warning"
    assert set(finding.evidence["rows"][: len(far)]) == set(far.tolist())
    assert [f for f in outliers(_view(*_blobs()), T) if f.severity != "info"] == []


def test_duplicates_stay_exact_among_a_reference(small_reference):
    X, y = _blobs()
    X[[10, 250]] = X[[4, 201]]  # exact
    X[[20, 290]] = X[[8, 230]] + 1e-4  # near; few of these rows are in the reference
    finding = _one(duplicates(_view(X, y), T), "duplicates")
    assert sorted(finding.evidence["groups"]) == [[4, 10], [8, 20], [201, 250], [230, 290]]
    assert finding.evidence["exact"] == 2
    assert duplicates(_view(*_blobs()), T) == []


def test_near_leakage_is_found_by_radius_and_names_the_nearest_row():
    X, y = _blobs()
    held = _blobs(60, seed=9)[0]
    held[5] = X[33] + 1e-4  # near, not identical
    held[6] = X[34] + 3e-4
    finding = _one(train_test_leakage(_view(X, y, held=held), T), "train_test_leakage")
    assert finding.evidence["rows"] == [33, 34]
    assert finding.evidence["matches"] == [305, 306]
    assert 0 < finding.evidence["scores"][0] < finding.evidence["threshold"]
    assert train_test_leakage(_view(X, y, held=_blobs(60, seed=9)[0]), T) == []


def test_a_table_of_repeated_rows_has_exact_duplicates_only():
    X = np.zeros((200, 3), dtype=np.float32)  # typical distance 0: no radius to query
    X[::2, 0] = 1.0
    finding = _one(duplicates(_view(X, np.arange(200) % 2), T), "duplicates")
    assert finding.evidence["exact"] == 198
    assert sorted(map(len, finding.evidence["groups"])) == [100, 100]


def test_label_model_on_a_share_of_each_fold(monkeypatch):
    monkeypatch.setattr(_labels, "FIT_ROWS", 200)  # of 480 training rows per fold
    X, y = _blobs(600)
    probs = out_of_sample_probabilities(X, y, 3, 5)
    assert probs.shape == (600, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    flipped = np.arange(0, 600, 10)
    y = y.copy()
    y[flipped] = (y[flipped] + 1) % 3
    found = set(_one(label_issues(_view(X, y), T), "label_issues").evidence["rows"])
    assert len(found & set(flipped.tolist())) >= 54 and len(found - set(flipped.tolist())) <= 6
    assert label_issues(_view(*_blobs(600)), T) == []
