"""data.remedies: each one changes what it says, on data that has the problem."""

import json

import numpy as np
import pytest
import torch

import trainwell
from trainwell.config import load_config
from trainwell.data import DataInfo, apply_data_remedies, fill_missing, load_splits
from trainwell.data.audit import audit_dataset
from trainwell.errors import InputError
from trainwell.pipeline._remedies import BalancedBatches, class_weighted_loss
from trainwell.pipeline._run import Run
from trainwell.train import AugmentedBatches


def _audited(**data):
    cfg = load_config({"data": data})
    raw = load_splits(cfg)
    return raw, audit_dataset(raw).findings


def test_drop_label_issues_drops_the_flagged_rows_mostly_noisy_ones():
    raw, findings = _audited(source="digits", corrupt={"label_noise": 0.1})
    flagged = next(f for f in findings if f.code == "label_issues")
    cleaned, repairs = apply_data_remedies(raw, findings, ["drop_label_issues"])
    assert len(cleaned.train) == len(raw.train) - len(flagged.evidence["rows"])
    assert not set(cleaned.train.rows) & set(flagged.evidence["rows"])
    noisy = set(raw.corruption["label_noise"]["rows"])
    assert len(noisy & set(cleaned.train.rows)) < 0.4 * len(noisy)
    assert flagged.resolved and flagged.remedy == "drop_label_issues"
    assert repairs[0]["remedy"] == "drop_label_issues" and repairs[0]["epoch"] is None


def test_relabel_label_issues_restores_most_original_labels():
    raw, findings = _audited(source="digits", corrupt={"label_noise": 0.1})
    fixed, _ = apply_data_remedies(raw, findings, ["relabel_label_issues"])
    record = raw.corruption["label_noise"]
    position = {r: i for i, r in enumerate(raw.train.rows)}
    noisy = [position[r] for r in record["rows"]]
    before = (raw.train.y[noisy] == record["original"]).mean()
    after = (fixed.train.y[noisy] == record["original"]).mean()
    assert before == 0 and after > 0.6
    assert len(fixed.train) == len(raw.train)


def test_row_remedies_combine_a_dropped_row_is_not_relabelled():
    corrupt = {"label_noise": 0.1, "leak_fraction": 0.1, "imbalance": {"class": 0, "keep": 0.05}}
    raw, findings = _audited(source="digits", corrupt=corrupt)
    leaked = set(raw.corruption["leak_fraction"]["rows"])
    flagged = next(f for f in findings if f.code == "label_issues").evidence["rows"]
    assert leaked & set(flagged)  # a leaked copy of a test row may look mislabelled too
    fixed, repairs = apply_data_remedies(raw, findings, ["drop_leakage", "relabel_label_issues"])
    assert not leaked & set(fixed.train.rows)
    assert [r["remedy"] for r in repairs] == ["drop_leakage", "relabel_label_issues"]


def test_drop_leakage_removes_the_copied_test_rows():
    raw, findings = _audited(source="wine", corrupt={"leak_fraction": 0.2})
    cleaned, _ = apply_data_remedies(raw, findings, ["drop_leakage"])
    leaked = raw.corruption["leak_fraction"]["rows"]
    assert len(raw.train) - len(cleaned.train) == len(leaked)
    assert not set(leaked) & set(cleaned.train.rows)


def test_drop_duplicates_keeps_one_row_per_group():
    raw, _ = _audited(source="iris")
    raw.train.X[5] = raw.train.X[1]
    findings = audit_dataset(raw).findings
    cleaned, _ = apply_data_remedies(raw, findings, ["drop_duplicates"])
    assert raw.train.rows[5] not in cleaned.train.rows and raw.train.rows[1] in cleaned.train.rows


def test_impute_fills_every_split_and_drop_missing_drops_rows():
    raw, findings = _audited(source="wine", corrupt={"nan_fraction": 0.05})
    filled, repairs = apply_data_remedies(raw, findings, ["impute"])
    assert np.isfinite(filled.train.X).all() and len(filled.train) == len(raw.train)
    assert "filled" in repairs[0]["changed"]
    dropped, _ = apply_data_remedies(raw, findings, ["drop_missing"])
    assert np.isfinite(dropped.train.X).all()
    assert len(dropped.train) == len(raw.train) - len(raw.corruption["nan_fraction"]["rows"])


def test_rows_with_missing_values_are_predicted_as_training_filled_them(tmp_path):
    """A NaN fed to the network made every output NaN: class 0 for each such row, without a
    word. A run trained with `impute` fills them with its training medians (kept in
    data.json); one trained without refuses them in one line."""
    raw, findings = _audited(source="wine", corrupt={"nan_fraction": 0.05})
    filled, _ = apply_data_remedies(raw, findings, ["impute"])
    medians = np.nanmedian(raw.train.X, axis=0)
    np.testing.assert_allclose(filled.info.fill, medians, rtol=1e-6)
    rows = raw.test.X[:4].copy()
    rows[:, 0] = np.nan
    X, n = fill_missing(rows, filled.info)
    assert n == 4 and np.allclose(X[:, 0], medians[0]) and np.array_equal(X[:, 1:], rows[:, 1:])
    model = torch.nn.Linear(rows.shape[1], 3)
    run = Run(tmp_path, "completed", {}, [], [], load_config(None, []), model, filled.info)
    assert np.array_equal(run.predict(rows), run.predict(X))
    run.info = DataInfo("wine", "classification", [rows.shape[1]], ["a", "b", "c"])
    with pytest.raises(InputError, match="4 input rows hold missing or infinite values"):
        run.predict(rows)


def test_impute_gives_an_all_missing_column_zeros():
    raw, _ = _audited(source="iris")
    raw.train.X[:, 0] = np.nan
    filled, _ = apply_data_remedies(raw, [], ["impute"])
    assert (filled.train.X[:, 0] == 0).all()


def test_class_weights_balance_the_loss():
    loss, weights = class_weighted_loss(np.array([0] * 90 + [1] * 10), 2, torch.device("cpu"))
    assert weights.tolist() == pytest.approx([100 / 180, 100 / 20])
    assert loss.weight.tolist() == pytest.approx(weights.tolist())


def test_balanced_sampler_draws_classes_equally():
    y = torch.tensor([0] * 95 + [1] * 5)
    batches = BalancedBatches(torch.zeros(100, 2), y, 50, seed=0)
    drawn = torch.cat([b for _, b in batches] + [b for _, b in batches])
    assert len(drawn) == 200 and 0.35 < drawn.float().mean() < 0.65


def test_balanced_sampler_follows_rows_dropped_mid_run():
    """The doctor may drop training rows (mislabelled ones) while the sampler is in use."""
    from trainwell.train import Trainer

    y = torch.tensor([0] * 95 + [1] * 5)
    batches = BalancedBatches(torch.arange(100.0).reshape(100, 1), y, 50, seed=0)
    trainer = Trainer(torch.nn.Linear(1, 2), torch.optim.SGD([torch.zeros(1)], 0.1), epochs=1)
    trainer._train_batches = batches
    trainer.keep_train_rows(torch.arange(100) >= 40)  # 55 rows of class 0, 5 of class 1 left
    drawn = [x for x, _ in batches]
    assert sum(len(x) for x in drawn) == 60 and torch.cat(drawn).min() >= 40


def test_augment_tables_mixes_and_images_move():
    table = trainwell.TensorBatches(torch.randn(64, 3), torch.arange(64) % 4, 32, seed=0)
    x, y = next(iter(AugmentedBatches(table, 4)))
    assert y.shape == (32, 4) and torch.allclose(y.sum(1), torch.ones(32))
    # each row its own mixing weight: one per batch makes the batch's loss swing with it
    assert len(set(y.max(1).values.round(decimals=4).tolist())) > 8
    assert not torch.equal(x, table.X[:32])
    images = torch.zeros(8, 1, 8, 8)
    images[:, :, 2:6, 3:5] = 1.0
    batches = trainwell.TensorBatches(images, torch.zeros(8, dtype=torch.long), 8, seed=0)
    moved, labels = next(iter(AugmentedBatches(batches, 2)))
    assert moved.shape == images.shape and labels.dtype == torch.long
    assert (moved - images).abs().mean() > 0.05


def test_fit_applies_remedies_and_says_so(out):
    run = trainwell.fit(
        {
            "data": {
                "source": "wine",
                "corrupt": {"nan_fraction": 0.02, "imbalance": {"class": 0, "keep": 0.1}},
                "remedies": ["impute", "class_weights", "augment"],
            },
            "model": {"hidden": [16]},
            "train": {"epochs": 2, "batch_size": 16},
        }
    )
    assert run.status == "completed"
    summary = json.loads((run.run_dir / "summary.json").read_text())
    assert [r["remedy"] for r in summary["repairs"]] == ["impute", "class_weights", "augment"]
    codes = {f["code"]: f for f in summary["findings"]}
    assert codes["missing_values"]["resolved"] and codes["class_imbalance"]["resolved"]
    assert json.loads((run.run_dir / "findings.json").read_text()) == summary["findings"]


def test_fit_without_remedies_records_the_audit_and_keeps_the_data(out, iris_config):
    run = trainwell.fit(iris_config, data__corrupt={"leak_fraction": 0.5})
    assert "train_test_leakage" in {f.code for f in run.findings}
    assert run.repairs == [] and run.info.sizes["train"] == 90 + 15
    quiet = trainwell.fit(iris_config, data__audit=False, data__corrupt={"leak_fraction": 0.5})
    assert not [f for f in quiet.findings if f.source == "data"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": "diabetes", "remedies": ["class_weights"]}, "classification"),
        ({"source": "iris", "audit": False, "remedies": ["drop_leakage"]}, "audit"),
        ({"source": "iris", "remedies": ["impute", "drop_missing"]}, "not both"),
        ({"source": "iris", "remedies": ["drop_target_outliers"]}, "regression"),
    ],
)
def test_remedies_that_cannot_apply_are_refused(out, data, message):
    with pytest.raises(trainwell.ConfigError, match=message):
        trainwell.fit({"data": data, "train": {"epochs": 1}})
    assert not out.exists()


def test_the_audit_counts_the_parameters_of_the_network_that_will_train(out, iris_config):
    """Your own module, not the config's network, is what the rows per parameter are about."""
    huge = torch.nn.Sequential(torch.nn.Linear(4, 50_000), torch.nn.Linear(50_000, 3))
    small = torch.nn.Sequential(torch.nn.Linear(4, 3))
    config = {**iris_config, "train": {**iris_config["train"], "epochs": 1}}
    flagged = trainwell.fit(config, model=huge, report=False).findings
    calm = trainwell.fit(config, model=small, report=False).findings
    assert any(f.code == "small_dataset" for f in flagged)
    assert not any(f.code == "small_dataset" for f in calm)


def test_injected_label_noise_keeps_its_warning_after_training(out):
    """`corrupt.label_noise` flips training labels only: the network's accuracy on clean
    validation labels says nothing of them, and the warning stands."""
    run = trainwell.fit(
        {"data": {"source": "digits", "corrupt": {"label_noise": 0.2}}, "train": {"epochs": 4}},
        report=False,
    )
    labels = next(f for f in run.findings if f.code == "label_issues")
    assert labels.severity == "warning" and run.metrics["val_accuracy"] > 0.85
