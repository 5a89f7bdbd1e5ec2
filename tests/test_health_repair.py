"""Repair mode end to end: each class of problem is treated, and the run recovers."""

import json

import pytest

import trainwell

DIGITS = {"source": "digits"}
BROKEN = {
    # name: (config, expected finding, expected first remedy)
    "vanishing gradients in a deep sigmoid stack": (
        {
            "data": DIGITS,
            "model": {"hidden": [64] * 8, "activation": "sigmoid"},
            "train": {"epochs": 8, "optimizer": "sgd", "lr": 0.01},
        },
        "vanishing_gradient",
        "relu_activation",
    ),
    "dead units from a large negative bias": (
        {
            "data": DIGITS,
            "model": {"hidden": [128, 128], "init": {"weights": "he", "bias": -5.0}},
            "train": {"epochs": 8},
        },
        "dying_relu",
        "he_init",
    ),
    "saturated tanh on unscaled inputs": (
        {
            "data": {"source": "wine", "standardize": False},
            "model": {"hidden": [64, 64], "activation": "tanh"},
            "train": {"epochs": 20, "batch_size": 16},
        },
        "saturated_activation",
        "input_norm",
    ),
    "a learning rate too small to converge": (
        {"data": DIGITS, "train": {"epochs": 10, "optimizer": "sgd", "lr": 1e-5, "momentum": 0.0}},
        "slow_convergence",
        "switch_to_adam",
    ),
    "a network too narrow to fit": (
        {"data": DIGITS, "model": {"hidden": [2]}, "train": {"epochs": 30, "lr": 0.01}},
        "underfitting",
        "widen",
    ),
    "noisy labels trained too long": (
        {
            "data": {"source": "digits", "corrupt": {"label_noise": 0.3}},
            "model": {"hidden": [512, 512]},
            "train": {"epochs": 25},
        },
        "overfitting",
        "drop_label_issues",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_repair_treats_the_problem_and_the_run_recovers(out, name):
    config, code, remedy = BROKEN[name]
    detected = trainwell.fit(config, doctor__mode="detect")
    repaired = trainwell.fit(config, doctor__mode="repair")
    first = repaired.repairs[0]
    assert (first["finding"], first["remedy"]) == (code, remedy)
    assert first["changed"] and first["before"]  # what it changed, from what evidence
    treated = [r for r in repaired.repairs if r["finding"] == code]
    assert treated[-1]["cured"] is True  # the last remedy cured it ...
    for failed in treated[:-1]:  # ... and each one before it says why it did not
        assert failed["cured"] is False and failed["why_not"]
    finding = next(f for f in repaired.findings if f.code == code)
    assert finding.resolved and finding.remedy == treated[-1]["remedy"]
    assert repaired.metrics["test_accuracy"] >= detected.metrics["test_accuracy"] + 0.1
    assert repaired.metrics["test_accuracy"] >= 0.85
    summary = json.loads((repaired.run_dir / "summary.json").read_text())
    assert summary["repairs"] == repaired.repairs


def test_a_repaired_model_and_its_final_config_are_saved(out):
    config, _, _ = BROKEN["dead units from a large negative bias"]
    run = trainwell.fit(config, doctor__mode="repair")
    import yaml

    final = yaml.safe_load((run.run_dir / "repaired_config.yaml").read_text())
    assert final["model"]["init"] == {"weights": "he", "std": None, "bias": 0.0}
    assert yaml.safe_load((run.run_dir / "config.yaml").read_text())["model"]["init"]["bias"] == -5
    loaded = trainwell.load_run(run.run_dir)  # built from the repaired config
    assert loaded.config.model.init.bias == 0.0


def test_divergence_is_rolled_back_and_training_goes_on(out):
    run = trainwell.fit(
        {
            "data": {"source": "diabetes"},
            "model": {"hidden": [32]},
            "train": {"optimizer": "sgd", "lr": 1.0, "epochs": 30},
        },
        doctor__mode="repair",
    )
    assert run.status != "diverged"
    assert run.repairs[0]["finding"] == "divergence"
    assert run.repairs[0]["remedy"] == "clip_and_adam"
    assert run.metrics["test_r2"] > -0.5  # finite: it trained on after the rollback


def test_overfitting_on_noisy_labels_drops_them_then_regularises(out):
    config, _, _ = BROKEN["noisy labels trained too long"]
    run = trainwell.fit(config, doctor__mode="repair", train__epochs=50)
    remedies = [r["remedy"] for r in run.repairs if r["finding"] == "overfitting"]
    assert remedies[:2] == ["drop_label_issues", "regularize"]
    import torch
    import yaml

    asked = yaml.safe_load((run.run_dir / "config.yaml").read_text())
    assert asked["model"]["dropout"] == 0.0  # the config as given stays as it was
    loaded = trainwell.load_run(run.run_dir)  # the repaired config's network takes model.pt
    assert loaded.config.model.dropout > 0 and loaded.config.train.weight_decay > 0
    X = torch.randn(5, 1, 8, 8)
    loaded.model.eval(), run.model.eval()
    assert torch.allclose(loaded.model(X), run.model(X))


def test_nan_inputs_are_imputed_and_the_repaired_config_asks_for_it(out):
    config = {
        "data": {"source": "iris", "corrupt": {"nan_fraction": 0.05}},
        "train": {"epochs": 30},
    }
    detected = trainwell.fit(config, doctor__mode="detect")
    run = trainwell.fit(config, doctor__mode="repair")
    assert detected.status == "diverged"
    finding = next(f for f in run.findings if f.code == "divergence")
    assert finding.evidence["first_nonfinite_output"] == "input"
    assert finding.resolved and finding.remedy == "impute_inputs"
    assert run.status != "diverged" and run.metrics["test_accuracy"] >= 0.8
    import yaml

    final = yaml.safe_load((run.run_dir / "repaired_config.yaml").read_text())
    assert final["data"]["remedies"] == ["impute"]


def test_too_late_for_a_rebuild_the_cheaper_remedy_is_tried(out):
    """A narrow network found underfitting late in its budget is not rebuilt from scratch."""
    run = trainwell.fit(
        {"data": DIGITS, "model": {"hidden": [2]}, "train": {"epochs": 16, "lr": 0.003}},
        doctor__mode="repair",
    )
    remedies = [r["remedy"] for r in run.repairs if r["finding"] == "underfitting"]
    assert remedies and "widen" not in remedies


def test_a_healthy_run_is_left_alone(out):
    run = trainwell.fit({"data": DIGITS, "train": {"epochs": 10}}, doctor__mode="repair")
    assert run.repairs == [] and run.status == "completed"


def _trainer_for(config: dict):
    """A Trainer over a model built from `config`, and the Rebuild a remedy edits."""
    import torch

    from trainwell.config import load_config
    from trainwell.health import Rebuild
    from trainwell.models import build_model
    from trainwell.train import Trainer, make_optimizer, make_scheduler

    cfg = load_config(config)

    def model_of(spec):
        return build_model(spec, (1, 8, 8), 10, regression=False)

    model = model_of(cfg.model)
    optimizer = make_optimizer(cfg.train, model)
    trainer = Trainer(model, optimizer, epochs=1, task="classification", n_classes=10)
    rebuild = Rebuild(cfg, model_of, make_optimizer, lambda t, o: make_scheduler(t, o, 10))
    return trainer, rebuild, torch


def test_leaky_relu_swaps_activations_in_place_and_keeps_the_weights():
    from trainwell.health import REMEDIES

    trainer, rebuild, torch = _trainer_for({"model": {"hidden": [16, 16]}})
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    changed = REMEDIES["leaky_relu"](trainer, rebuild)
    kinds = {type(m) for m in trainer.model.modules()}
    assert torch.nn.LeakyReLU in kinds and torch.nn.ReLU not in kinds
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert rebuild.config.model.activation == "leaky_relu" and "weights kept" in changed


def test_widen_widens_the_channels_of_a_cnn_too():
    from trainwell.health import REMEDIES

    trainer, rebuild, _ = _trainer_for({"model": {"arch": "cnn", "channels": [1], "hidden": [2]}})
    REMEDIES["widen"](trainer, rebuild)
    assert rebuild.config.model.channels == [16] and rebuild.config.model.hidden == [64]
    assert trainer.model.net[0].out_channels == 16


def test_drop_label_issues_drops_wrong_labels_and_skips_clean_data():
    import numpy as np
    from sklearn.datasets import load_digits

    from trainwell.health import REMEDIES
    from trainwell.health._remedies import NotApplicable
    from trainwell.train import TensorBatches

    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
    trainer, rebuild, torch = _trainer_for({"model": {"hidden": [16]}})
    trainer._train_batches = TensorBatches(torch.from_numpy(X), torch.from_numpy(y), 64)
    with pytest.raises(NotApplicable, match="look wrong"):
        REMEDIES["drop_label_issues"](trainer, rebuild)
    noisy = y.copy()
    flipped = np.random.default_rng(0).choice(len(y), size=len(y) // 5, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 10
    trainer._train_batches = TensorBatches(torch.from_numpy(X), torch.from_numpy(noisy), 64)
    REMEDIES["drop_label_issues"](trainer, rebuild)
    kept_X, kept_y = (t.numpy() for t in trainer.train_tensors)
    assert 0.7 * len(y) < len(kept_y) < 0.9 * len(y)
    index = {row.tobytes(): i for i, row in enumerate(X)}
    source = np.array([index[row.tobytes()] for row in kept_X])
    assert (kept_y != y[source]).mean() < 0.05  # from 20% wrong labels to under 5%
    assert rebuild.config.data.remedies == ["drop_label_issues"]
