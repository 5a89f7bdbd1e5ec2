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
        {"data": DIGITS, "model": {"hidden": [2]}, "train": {"epochs": 20, "lr": 0.01}},
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
        "stop_early",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_repair_treats_the_problem_and_the_run_recovers(out, name):
    config, code, remedy = BROKEN[name]
    detected = trainwell.fit(config, doctor__mode="detect")
    repaired = trainwell.fit(config, doctor__mode="repair")
    first = repaired.repairs[0]
    assert (first["finding"], first["remedy"]) == (code, remedy)
    assert first["changed"] and first["before"] is not None and first["cured"] is True
    finding = next(f for f in repaired.findings if f.code == code)
    assert finding.resolved and finding.remedy == remedy
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


def test_nan_inputs_are_not_repairable_and_the_doctor_says_so(out):
    run = trainwell.fit(
        {"data": {"source": "iris", "corrupt": {"nan_fraction": 0.05}}, "train": {"epochs": 3}},
        doctor__mode="repair",
    )
    finding = next(f for f in run.findings if f.code == "divergence")
    assert not finding.resolved and "gave up" in finding.message
    assert run.status == "diverged"


def test_a_healthy_run_is_left_alone(out):
    run = trainwell.fit({"data": DIGITS, "train": {"epochs": 10}}, doctor__mode="repair")
    assert run.repairs == [] and run.status == "completed"
