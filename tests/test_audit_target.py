"""target_outliers: a few regression targets far outside the rest (codes for "missing",
another unit), found and dropped; heavy-tailed and normal targets are no finding."""

import numpy as np
import pandas as pd
import pytest

import trainwell
from trainwell.config import load_config
from trainwell.data import DataInfo, Dataset, Split, apply_data_remedies, load_splits
from trainwell.data.audit import AuditData, Thresholds, audit_dataset
from trainwell.data.audit._target import target_outliers

T = Thresholds()


def _regression(y: np.ndarray, held: np.ndarray | None = None) -> AuditData:
    n = len(y)
    X = np.random.default_rng(1).normal(size=(n, 3)).astype(np.float32)
    held = np.zeros(0) if held is None else held
    held_split = Split(X[: len(held)], held.astype(np.float32), np.arange(n, n + len(held)))
    empty = Split(X[:0], np.zeros(0, np.float32), np.arange(0))
    info = DataInfo("test", "regression", [3], [])
    train = Split(X, y.astype(np.float32), np.arange(n))
    return AuditData(Dataset(train, held_split, empty, info, {}), standardized=True)


def _target(kind: str, n: int = 1000) -> np.ndarray:
    rng = np.random.default_rng(0)
    return {
        "normal": 200 + 30 * rng.normal(size=n),
        "lognormal": 100 * np.exp(rng.normal(size=n)),  # 3% of it past the fence
        "exponential": rng.exponential(50, size=n),
        "product": 200 + 30 * rng.normal(size=n) * rng.normal(size=n),  # a long tail
        "whole": rng.integers(0, 5, size=n).astype(float),
    }[kind]


def test_sentinel_targets_are_found_farthest_first():
    y = _target("normal")
    y[[7, 300, 512]] = [-999999.0, 999999.0, 99999.0]
    held = np.array([210.0, -999999.0, 190.0])
    finding = target_outliers(_regression(y, held), T)[0]
    assert finding.code == "target_outliers" and finding.severity == "warning"
    assert (
        finding.evidence["rows"][:2] in ([7, 300], [300, 7]) and finding.evidence["rows"][2] == 512
    )
    assert finding.evidence["variance_share"] > 0.99
    assert finding.evidence["held_out_rows"] == 1
    assert "drop_target_outliers" in finding.message


def test_a_missing_value_code_on_more_rows_is_found():
    """A code repeated on 2% of the rows, more than a handful of gross values."""
    y = _target("normal")
    y[np.arange(0, 1000, 50)] = -999999.0
    finding = target_outliers(_regression(y), T)[0]
    assert finding.code == "target_outliers" and len(finding.evidence["rows"]) == 20


def test_many_far_values_that_differ_are_a_tail_not_codes():
    y = _target("normal")
    y[np.arange(0, 1000, 50)] = -999999.0 - np.arange(20)  # 2%, twenty different values
    assert target_outliers(_regression(y), T) == []


@pytest.mark.parametrize("kind", ["normal", "lognormal", "exponential", "product", "whole"])
def test_healthy_and_heavy_tailed_targets_are_no_finding(kind):
    assert target_outliers(_regression(_target(kind)), T) == []


def test_a_classification_target_is_not_judged():
    X, y = np.zeros((50, 2), np.float32), np.arange(50) % 2
    info = DataInfo("test", "classification", [2], ["a", "b"])
    split = Split(X, y, np.arange(50))
    view = AuditData(Dataset(split, split, split, info, {}), standardized=True)
    assert target_outliers(view, T) == []


def _sentinel_csv(path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 4))
    y = 200 + 30 * X[:, 0] - 20 * X[:, 1] * X[:, 2] + 5 * rng.normal(size=1500)
    y[rng.choice(1500, 6, replace=False)] = 999999.0  # 0.4%
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(price=y)
    frame.to_csv(path, index=False)
    return path


def test_drop_target_outliers_drops_the_flagged_training_rows(tmp_path):
    cfg = load_config(
        {"data": {"source": str(_sentinel_csv(tmp_path / "p.csv")), "target": "price"}}
    )
    raw = load_splits(cfg)
    findings = audit_dataset(raw).findings
    flagged = next(f for f in findings if f.code == "target_outliers")
    cleaned, repairs = apply_data_remedies(raw, findings, ["drop_target_outliers"])
    assert not set(cleaned.train.rows) & set(flagged.evidence["rows"])
    assert cleaned.train.y.max() < 1000 and raw.train.y.max() == 999999.0
    assert repairs[0]["finding"] == "target_outliers" and flagged.resolved


def test_fit_with_the_remedy_fits_the_other_targets(tmp_path, out):
    source = str(_sentinel_csv(tmp_path / "p.csv"))
    data = {"source": source, "target": "price"}
    kept = trainwell.fit({"data": data, "train": {"epochs": 8}}, out=out, report=False)
    fixed = trainwell.fit(
        {"data": data | {"remedies": ["drop_target_outliers"]}, "train": {"epochs": 8}},
        out=out,
        report=False,
    )
    # (the test split keeps any sentinel it drew: its MAE is compared, not its R2)
    assert [f.code for f in kept.findings if f.code == "target_outliers"]
    assert fixed.repairs[0]["remedy"] == "drop_target_outliers"
    assert fixed.metrics["test_mae"] < kept.metrics["test_mae"]
