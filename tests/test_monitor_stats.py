"""The monitor's statistics, each on a case with drift and a healthy twin without it."""

import itertools

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

from trainwell.data import DataInfo, Standardizer
from trainwell.deploy.monitor import holm
from trainwell.deploy.monitor._checks import data_drift, performance_drop, prediction_drift
from trainwell.deploy.monitor._judge import Column, Judgement, _estimate, judge_inputs
from trainwell.deploy.monitor._reference import Reference
from trainwell.deploy.monitor._stats import chi2_test, effects, ks_test, mmd_test
from trainwell.pipeline import on_grid
from trainwell.pipeline._reference import raw_units


def holm_by_definition(p: list[float], alpha: float) -> set[int]:
    """Holm (1979) as written: sort ascending, reject while p_(k) <= α / (m - k)."""
    rejected = set()
    for k, i in enumerate(np.argsort(p, kind="stable")):
        if p[i] > alpha / (len(p) - k):
            break
        rejected.add(int(i))
    return rejected


def test_holm_rejects_exactly_what_the_step_down_procedure_rejects():
    rng = np.random.default_rng(0)
    for m, alpha in itertools.product((1, 2, 5, 20), (0.01, 0.05)):
        for _ in range(200):
            p = np.concatenate([rng.uniform(0, 0.02, m // 2), rng.uniform(0, 1, m - m // 2)])
            adjusted = holm(p)
            assert {int(i) for i in np.flatnonzero(adjusted <= alpha)} == holm_by_definition(
                list(p), alpha
            )
            assert np.all(adjusted >= p) and np.all(adjusted <= 1)


def test_holm_known_values_and_family_wise_error():
    # m = 4: sorted 0.01, 0.02, 0.03, 0.5 -> 0.04, max(0.04, 0.06), max(0.06, 0.06), 0.5
    assert np.allclose(holm([0.03, 0.01, 0.5, 0.02]), [0.06, 0.04, 0.5, 0.06])
    rng = np.random.default_rng(1)
    null = rng.uniform(size=(4000, 20))  # 20 true nulls per family
    family_errors = np.mean([holm(p).min() <= 0.05 for p in null])
    uncorrected = np.mean((null <= 0.05).any(1))
    assert family_errors <= 0.06 and uncorrected > 0.6


def test_ks_flags_a_shifted_feature_and_not_its_healthy_twin():
    rng = np.random.default_rng(2)
    ref = rng.normal(size=5000)
    assert ks_test("x", ref, rng.normal(0.5, 1, 300)).p_value < 1e-6
    assert ks_test("x", ref, rng.normal(0, 1, 300)).p_value > 0.05


def test_chi2_flags_a_changed_category_mix_and_not_its_healthy_twin():
    rng = np.random.default_rng(3)
    ref = rng.choice(3, 5000, p=[0.5, 0.3, 0.2])
    assert chi2_test("c", ref, rng.choice(3, 300, p=[0.2, 0.3, 0.5])).p_value < 1e-6
    assert chi2_test("c", ref, rng.choice(3, 300, p=[0.5, 0.3, 0.2])).p_value > 0.05


@pytest.mark.parametrize("window", [50, 1000])
def test_effect_thresholds_follow_the_window_size(window):
    """A clean window stays within its bootstrap bounds; a 1.5σ shift exceeds all three.
    The bound at 50 rows is wider than at 1,000 (a fixed PSI 0.1 would alarm at 50 rows)."""
    rng = np.random.default_rng(4)
    ref = rng.normal(size=5000)
    clean, bounds = effects(ref, rng.normal(size=window), False, rng)
    assert all(clean[k] <= bounds[k] for k in ("psi", "wasserstein", "js"))
    moved, _ = effects(ref, rng.normal(1.5, 1, window), False, rng)
    assert all(moved[k] > bounds[k] for k in ("psi", "wasserstein", "js"))
    if window == 50:
        assert bounds["psi"] > 0.1


def test_mmd_sees_a_covariance_only_shift_and_not_its_healthy_twin():
    rng = np.random.default_rng(5)

    def rows(n, rho):
        z = rng.normal(size=(n, 6))
        z[:, 1] = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
        return z

    ref = rows(3000, 0.8)
    assert mmd_test(ref, rows(500, 0.0), rng).p_value <= 0.01
    assert mmd_test(ref, rows(500, 0.8), rng).p_value > 0.05
    # the per-feature tests cannot see it: both marginals are still N(0, 1)
    cur = rows(500, 0.0)
    assert min(ks_test("x", ref[:, j], cur[:, j]).p_value for j in range(6)) > 0.001


def _judged(shift: float, rng: np.random.Generator) -> Judgement:
    columns = [Column(f"x{i}", [i], False) for i in range(5)]
    ref, cur = rng.normal(size=(3000, 5)), rng.normal(size=(400, 5))
    cur[:, 2] += shift
    verdict = Judgement(len(cur))
    judge_inputs(verdict, columns, ref, cur, rng, effects=True)
    return verdict


def test_data_drift_finding_names_the_feature_and_its_effect_sizes():
    rng = np.random.default_rng(6)
    finding = data_drift(_judged(0.8, rng), "trainwell retrain")
    assert finding is not None and finding.severity == "warning"
    assert finding.source == "deployment" and finding.remedy == "retrain"
    assert "1 of 5 features drifted: x2" in finding.message and "PSI" in finding.message
    assert [f["name"] for f in finding.evidence["features"]] == ["x2"]
    assert data_drift(_judged(0.0, rng), "trainwell retrain") is None


def _reference(confidence: np.ndarray) -> Reference:
    probabilities = np.stack([confidence, 1 - confidence], 1)
    return Reference(None, np.zeros(1), None, np.zeros(1), probabilities, None, 1.0, None, False)


def test_label_free_estimate_flags_a_confidence_drop_and_not_its_healthy_twin():
    rng = np.random.default_rng(7)
    reference = _reference(rng.uniform(0.8, 1.0, 500))
    healthy = rng.uniform(0.8, 1.0, 300)
    dropped = rng.uniform(0.5, 0.8, 300)
    for confidence, drop in ((healthy, False), (dropped, True)):
        estimate = _estimate(reference, np.stack([confidence, 1 - confidence], 1), 0.05, rng)
        assert estimate["drop"] is drop
        assert abs(estimate["accuracy"] - confidence.mean()) < 1e-9
        verdict = Judgement(300, estimated=estimate)
        finding = performance_drop(verdict, "hint")
        assert (finding is not None) is drop
        if drop:
            assert finding.severity == "warning" and "without labels" in finding.message


def test_a_near_perfect_model_is_not_warned_of_a_drop_smaller_than_a_point():
    """Validation rows all ~100% sure give a clean range of a few 1e-4: clean new rows with
    some near the boundary (estimated 99.5%) fell below it; 90% is still a drop."""
    rng = np.random.default_rng(8)
    reference = _reference(rng.uniform(0.9998, 1.0, 120))
    for mean, drop in ((0.995, False), (0.9, True)):
        confidence = np.clip(rng.normal(mean, 0.01, 300), 0.5, 1.0)
        assert (
            _estimate(reference, np.stack([confidence, 1 - confidence], 1), 0.05, rng)["drop"]
            is drop
        )


def test_labelled_drop_is_an_error_and_a_healthy_window_says_nothing():
    dropped = {"accuracy": 0.7, "rows": 400, "reference": 0.95, "p_value": 1e-9, "drop": True}
    finding = performance_drop(Judgement(400, actual=dropped), "hint")
    assert finding.severity == "error" and "70.0%" in finding.message
    healthy = dict(dropped, accuracy=0.95, p_value=0.5, drop=False)
    assert performance_drop(Judgement(400, actual=healthy), "hint") is None


def test_prediction_drift_finding_says_which_class_moved():
    shares = {"reference_shares": [0.5, 0.5], "current_shares": [0.9, 0.1]}
    tests = [{"name": "predicted class", "test": "chi2", "p_value": 1e-8, "drift": True}]
    found = prediction_drift(
        Judgement(300, predictions={"tests": tests, "drift": True, **shares}), "h"
    )
    assert "class '0' is predicted for 90.0% of rows against 50.0%" in found.message
    healthy = {"tests": [dict(tests[0], p_value=0.4, drift=False)], "drift": False, **shares}
    assert prediction_drift(Judgement(300, predictions=healthy), "h") is None


def test_reference_rows_and_monitored_rows_meet_on_one_grid():
    """Integer pixels must not come back as 2.9999998, nor diabetes' tied floats as their
    neighbours: KS would call that a huge shift."""
    rng = np.random.default_rng(9)
    pixels, tied = load_digits().data[:400], load_diabetes().data[:400]
    X = np.concatenate([pixels, tied, 1000 * rng.normal(size=(400, 1))], axis=1)
    X = X.astype(np.float32)
    scaler = Standardizer.fit(X)
    info = DataInfo("x", "classification", [X.shape[1]], x_mean=scaler.mean.tolist(),
                    x_std=scaler.std.tolist())  # fmt: skip
    back, sent = raw_units(scaler.transform(X), info), on_grid(X, info)
    assert np.array_equal(back[:, :64], X[:, :64])
    assert np.allclose(back, X, atol=1e-4 * X.std(0).max())
    assert min(ks_test("x", back[:, j], sent[:, j]).p_value for j in range(X.shape[1])) > 0.99
    unrounded = scaler.transform(X) * scaler.std + scaler.mean  # what was wrong before
    assert min(ks_test("x", unrounded[:, j], X[:, j]).p_value for j in range(64)) < 1e-6


@pytest.mark.parametrize("fill", [None, [5.0, 7.0]])
def test_rows_with_missing_values_are_read_as_training_filled_them_and_said(fill):
    """monitor fed NaN as 0 in raw units (age 0 where training filled 50): the rows with a
    missing value drifted, dropped in accuracy, and no finding said why."""
    import pandas as pd

    from trainwell.data import fill_missing
    from trainwell.deploy.monitor._inputs import frame_rows

    info = DataInfo("t.csv", "classification", [2], ["p", "q"], ["a", "b"], x_mean=[1.0, 2.0])
    info.fill = fill
    frame = pd.DataFrame({"a": [0.5, np.nan, 1.5], "b": [np.nan, 3.0, 4.0]})
    batch = frame_rows(frame, info, None, "t.csv")
    assert batch.notes == [
        "2 row(s) with missing values: read with "
        + ("the training medians (as data.remedies: [impute] did)" if fill else
           "the training means (the model never saw a missing value)")
    ]  # fmt: skip
    X, _ = fill_missing(batch.X, info)
    assert X.tolist() == [
        [0.5, (fill or [1.0, 2.0])[1]],
        [(fill or [1.0, 2.0])[0], 3.0],
        [1.5, 4.0],
    ]
    assert frame_rows(frame.fillna(0.0), info, None, "t.csv").notes == []


def test_rows_without_a_label_are_left_out_of_the_accuracy_not_a_class_named_nan():
    """Labels arriving late: some rows' label empty refused the whole file ("labels the
    model does not know: 'nan'"). Measured on the labelled rows, with a note."""
    import pandas as pd

    from trainwell.deploy.monitor._inputs import UNLABELLED, frame_rows
    from trainwell.deploy.monitor._judge import _actual

    info = DataInfo("t.csv", "classification", [1], ["0", "1"], ["a"])
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "label": [1.0, np.nan, 0.0, np.nan]})
    batch = frame_rows(frame, info, None, "t.csv")
    assert batch.y.tolist() == [1, UNLABELLED, 0, UNLABELLED]
    assert "2 row(s) without a label: accuracy is measured on the others" in batch.notes
    reference = Reference(*[None] * 9)  # no test split to compare with
    actual = _actual(reference, np.array([1, 1, 1, 1]), batch.y, 0.05)
    assert actual == {"accuracy": 0.5, "rows": 2}
    assert _actual(reference, np.array([1, 1]), np.array([UNLABELLED] * 2), 0.05) is None
    with pytest.raises(Exception, match="labels the model does not know: '7'"):
        frame_rows(frame.assign(label=[1.0, 7.0, 0.0, 1.0]), info, None, "t.csv")
