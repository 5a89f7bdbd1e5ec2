"""Repair mode end to end: each class of problem is treated, and the run recovers."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import trainwell
from trainwell import TensorBatches, Trainer
from trainwell.config import RunConfig
from trainwell.findings import Finding
from trainwell.health import DoctorCallback, Rebuild
from trainwell.models import build_model
from trainwell.train import Callback, make_optimizer

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
    "vanishing gradients through a tiny initialisation": (
        {
            "data": DIGITS,
            "model": {
                "hidden": [64] * 6,
                "activation": "tanh",
                "init": {"weights": "normal", "std": 0.01},
            },
            "train": {"epochs": 8, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
        },
        "vanishing_gradient",
        "matched_init",  # Xavier: tanh's slope is 1 at zero, so unit gain carries the signal
    ),
    "a signal six layers near a sane gain silence": (
        {
            "data": DIGITS,
            "model": {
                "hidden": [256] * 6,  # gains 0.16, then 0.32 a layer: 5e-4 of the input passes
                "activation": "tanh",
                "init": {"weights": "normal", "std": 0.02},
            },
            "train": {"epochs": 8, "optimizer": "sgd", "lr": 0.05, "momentum": 0.9},
        },
        "vanishing_gradient",
        "matched_init",
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
    "an L1 penalty that holds every weight at zero": (
        {"data": DIGITS, "train": {"epochs": 15, "l1": 0.05}},
        "underfitting",
        "less_regularisation",
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
    for earlier in treated[:-1]:  # ... each before it says why not, or when it came back
        if earlier["cured"]:
            assert earlier["came_back"] > earlier["judged_epoch"]
        else:
            assert earlier["cured"] is False and earlier["why_not"]
    finding = [f for f in repaired.findings if f.code == code][-1]  # a return is a new one
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
    assert run.repairs[0]["cured"] is True
    healthy = trainwell.fit(
        {"data": {"source": "diabetes"}, "model": {"hidden": [32]}, "train": {"epochs": 30}}
    )
    assert run.metrics["test_r2"] >= 0.8 * healthy.metrics["test_r2"] > 0.2


def test_overfitting_on_noisy_labels_drops_them_then_regularises(out):
    config, _, _ = BROKEN["noisy labels trained too long"]
    run = trainwell.fit(config, doctor__mode="repair", train__epochs=50)
    remedies = [r["remedy"] for r in run.repairs if r["finding"] == "overfitting"]
    assert remedies[:2] == ["drop_label_issues", "regularize"]
    import yaml

    asked = yaml.safe_load((run.run_dir / "config.yaml").read_text())
    assert asked["model"]["dropout"] == 0.0  # the config as given stays as it was
    loaded = trainwell.load_run(run.run_dir)  # the repaired config's network takes model.pt
    assert loaded.config.model.dropout > 0 and loaded.config.train.weight_decay > 0
    X = torch.randn(5, 1, 8, 8)
    assert torch.allclose(loaded.model.eval()(X), run.model.eval().cpu()(X))


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


def test_test_rows_and_later_inputs_are_filled_as_the_repair_filled_training(out, tmp_path):
    """A CSV whose column misses values in every split: detect mode runs into NaN; the
    repair imputes the training rows, and the test rows, and inputs predicted later, are
    filled the same way (a finite test loss; data.json says what fills them)."""
    import json
    import math

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4)) * [1, 10, 100, 1] + [0, 50, 0, 0]
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["label"] = (X[:, 0] + X[:, 1] / 10 > 5).astype(int)
    frame.loc[rng.random(600) < 0.05, "b"] = np.nan
    frame.to_csv(tmp_path / "rows.csv", index=False)
    config = {"data": {"source": str(tmp_path / "rows.csv"), "target": "label", "audit": False}}
    config["train"] = {"epochs": 6}
    assert trainwell.fit(config, doctor__mode="detect").status == "diverged"
    run = trainwell.fit(config, doctor__mode="repair")
    assert [r["remedy"] for r in run.repairs][:1] == ["impute_inputs"]
    assert math.isfinite(run.metrics["test_loss"]) and run.metrics["test_accuracy"] > 0.8
    fill = json.loads((run.run_dir / "data.json").read_text())["fill"]
    assert fill == pytest.approx([0, 50, 0, 0], abs=5)  # the training means, in raw units
    assert run.predict(np.array([[0.0, np.nan, 0.0, 0.0]])).shape == (1,)


@pytest.mark.parametrize(
    ("code", "epoch", "first", "epochs", "knocked"),
    [
        # too late to train a new network (Adam already)
        ("exploding_gradient", 8, "lower_lr", 10, False),
        ("exploding_gradient", 2, "he_init", 10, False),
        ("underfitting", 8, "widen", 12, False),  # falls short: the new one gets 4 of 10 epochs
        ("underfitting", 8, "raise_lr", 10, True),  # knocked off its best: not short of capacity
        ("underfitting", 2, "widen", 10, False),
    ],
)
def test_a_rebuild_late_in_the_budget_is_skipped_or_given_its_epochs(
    code, epoch, first, epochs, knocked
):
    """A problem found late in the budget is not treated by a rebuild from scratch: the
    new network would get too few epochs. One whose network falls short of what its data
    allows (underfitting), as good now as at its best, is no model worth keeping: it is
    rebuilt and the run lengthened for the new one, in the trainer and in the repaired
    config a resume reads."""
    from trainwell.findings import Finding
    from trainwell.health._probes import Probe
    from trainwell.health._repair import Repairer

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [32]}, "train": {"epochs": 10}})
    trainer.epochs, trainer.epoch = 10, epoch
    val = [1.5 - 0.1 * e for e in range(epoch)]
    if knocked:
        val[-1] = 1.2 * val[-2]
    for e, loss in enumerate(val):
        trainer.history.append({"epoch": e, "val_loss": loss, "val_accuracy": 1 - loss / 2})
        trainer.best.update(e, trainer.history[-1], trainer.model)
    repairer = Repairer(trainer, rebuild)
    finding = Finding(code, "warning", "training", "", epoch=epoch)
    assert repairer.treat(finding, None, Probe(trainer.model).history)
    assert repairer.repairs[-1]["remedy"] == first
    assert trainer.epochs == rebuild.config.train.epochs == epochs
    assert ("train.epochs: 10 -> 12" in repairer.repairs[-1]["changed"]) is (epochs == 12)


@pytest.mark.parametrize("lowered", [True, False])
def test_a_rate_an_earlier_problem_lowered_is_not_raised_back(lowered):
    """An oscillation cured by a 10x lower rate, then a slow curve: a 10x higher rate would
    put back the rate that oscillated, so the next remedy is tried. Without the earlier
    lowering, the higher rate is the one tried."""
    from trainwell.findings import Finding
    from trainwell.health._probes import Probe
    from trainwell.health._repair import Repairer

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [32]}, "train": {"lr": 0.01}})
    trainer.epochs, trainer.epoch = 20, 15  # too late for a rebuild: rates only
    repairer = Repairer(trainer, rebuild)
    history = Probe(trainer.model).history
    if lowered:
        oscillating = Finding("oscillating_loss", "warning", "training", "", epoch=3)
        assert repairer.treat(oscillating, None, history)
        assert repairer.repairs[-1]["remedy"] == "lower_lr"
    slow = Finding("slow_convergence", "warning", "training", "", epoch=15)
    # Adam at its default rate: switching to it changes nothing; a higher rate is left
    assert repairer.treat(slow, None, history) != lowered
    tried = [r["remedy"] for r in repairer.repairs]
    assert tried == (["lower_lr"] if lowered else ["raise_lr"]), tried


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_an_oscillation_not_cured_by_a_lower_rate_is_not_switched_back_to_adams(optimizer):
    """Adam at 1e-3 oscillates: its rate lowered to 1e-4 does not cure it; "switching" to
    Adam would only set the rate back to 1e-3, so it is skipped. Plain SGD lowered the
    same way is switched to Adam: another optimizer, not the rate back."""
    from trainwell.findings import Finding
    from trainwell.health._probes import Probe
    from trainwell.health._repair import Repairer

    spec = {"model": {"hidden": [32]}, "train": {"optimizer": optimizer, "lr": 0.001}}
    trainer, rebuild, _ = _trainer_for(spec)
    trainer.epochs, trainer.epoch = 20, 15
    repairer = Repairer(trainer, rebuild)
    history = Probe(trainer.model).history
    oscillating = Finding("oscillating_loss", "warning", "training", "", epoch=15)
    assert repairer.treat(oscillating, None, history)
    assert repairer.repairs[-1]["remedy"] == "lower_lr" and trainer.lr == pytest.approx(1e-4)
    repairer.treat(oscillating, None, history)  # it came back: the next remedy
    tried = [r["remedy"] for r in repairer.repairs]
    assert tried == (["lower_lr"] if optimizer == "adam" else ["lower_lr", "switch_to_adam"])
    assert trainer.lr == pytest.approx(1e-4 if optimizer == "adam" else 1e-3)


def test_a_healthy_run_is_left_alone(out):
    run = trainwell.fit({"data": DIGITS, "train": {"epochs": 10}}, doctor__mode="repair")
    assert run.repairs == [] and run.status == "completed"


def _trainer_for(config: dict, shape=(1, 8, 8)):
    """A Trainer over a model built from `config` for inputs of `shape`, and the Rebuild a
    remedy edits."""
    import torch

    from trainwell.config import load_config
    from trainwell.health import Rebuild
    from trainwell.models import build_model
    from trainwell.train import Trainer, make_optimizer, make_scheduler

    cfg = load_config(config)

    def model_of(spec):
        return build_model(spec, shape, 10, regression=False)

    model = model_of(cfg.model)
    optimizer = make_optimizer(cfg.train, model)
    trainer = Trainer(model, optimizer, epochs=1, task="classification", n_classes=10)
    rebuild = Rebuild(
        cfg, model_of, make_optimizer, lambda t, o: make_scheduler(t, o, 10), input_shape=shape
    )
    return trainer, rebuild, torch


def _fitted_to(model, X, y, steps: int = 300):
    """`model` trained full-batch on (X, y) until it fits them: a network that learned
    these labels, right or wrong."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    device = next(model.parameters()).device  # the Trainer's: a GPU where there is one
    X, y = X.to(device), y.to(device)
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return model


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
    from trainwell.health._rebuild import NotApplicable

    with pytest.raises(NotApplicable, match="no ReLU"):  # nothing left to swap: the next one
        REMEDIES["leaky_relu"](trainer, rebuild)


def test_a_rebuild_names_what_it_changed_not_what_it_kept():
    from trainwell.health import REMEDIES

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16, 16], "activation": "sigmoid"}})
    first = REMEDIES["relu_activation"](trainer, rebuild)
    assert first == (
        "model.activation: sigmoid -> relu, model.init: default (bias 0) -> he (bias 0), "
        "model.batchnorm: False -> True"
    )
    again = REMEDIES["he_init"](trainer, rebuild)  # changes no setting, still re-initialises
    assert again == "model.init: he (bias 0) -> he (bias 0)"


def test_a_network_started_over_gets_batch_norm_where_it_fits():
    """A rebuild for a signal or gradient out of scale normalises every layer, once. Not on
    batches of under 16 rows (too noisy to normalise by), in a ResNet (built in) or in a
    fine-tuned network; Xavier init for saturated units keeps the layers as they were."""
    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable

    trainer, rebuild, torch = _trainer_for({"model": {"activation": "tanh"}})
    assert (
        REMEDIES["xavier_init"](trainer, rebuild)
        == "model.init: default (bias 0) -> xavier (bias 0)"
    )
    for name in ("he_init", "relu_activation", "matched_init"):
        trainer, rebuild, torch = _trainer_for({"model": {"arch": "cnn", "channels": [4, 4]}})
        assert "model.batchnorm: False -> True" in REMEDIES[name](trainer, rebuild)
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in trainer.model.modules())
        with pytest.raises(NotApplicable, match="already"):
            REMEDIES["batchnorm"](trainer, rebuild)
        small = {"model": {"hidden": [16, 16]}, "train": {"batch_size": 8}}
        trainer, rebuild, torch = _trainer_for(small)
        assert "batchnorm" not in REMEDIES[name](trainer, rebuild)
        assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in trainer.model.modules())
    resnet = {"model": {"arch": "resnet", "channels": [4], "hidden": []}}
    trainer, rebuild, _ = _trainer_for(resnet)  # batch norm by design: nothing to add
    assert "batchnorm" not in REMEDIES["he_init"](trainer, rebuild)
    with pytest.raises(NotApplicable, match="already"):  # not a restart that adds nothing
        REMEDIES["batchnorm"](trainer, rebuild)
    finetuned = {"model": {"hidden": [16], "init_from": "runs/pretrained"}}
    trainer, rebuild, _ = _trainer_for(finetuned)  # new layers would not fit its weights
    assert "batchnorm" not in REMEDIES["he_init"](trainer, rebuild)


def _on_digits(trainer):
    """The trainer with the standardised digits as its in-memory training batches."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    trainer.epochs = 0  # fit only hands it the batches
    trainer.fit(TensorBatches(torch.tensor(X, dtype=torch.float32), torch.tensor(y), 64))
    return trainer


def test_a_network_started_over_on_a_plain_optimizer_trains_at_a_rate_measured_for_it():
    """SGD at 1e-3 crawls on a freshly He-initialised network with batch norm: the rebuild
    measures a rate for it (a range test on a copy) and raises it. Kept at a rate that
    suits the new network already, on Adam (its step is its rate whatever the gradients'
    scale) and where the old weights come back (regularize)."""
    from trainwell.health import REMEDIES

    spec = {"model": {"hidden": [64, 64]}, "train": {"optimizer": "sgd", "lr": 0.001}}
    trainer, rebuild, _ = _trainer_for(spec)
    changed = REMEDIES["he_init"](_on_digits(trainer), rebuild)
    rate = rebuild.config.train.lr
    assert rate > 0.01 and trainer.lr == pytest.approx(rate)
    assert changed.endswith(f"train.lr: 0.001 -> {rate:g} (a range test on the new network)")
    for train in ({"optimizer": "sgd", "lr": 0.3}, {"optimizer": "adam", "lr": 0.001}):
        trainer, rebuild, _ = _trainer_for({**spec, "train": train})
        assert "train.lr" not in REMEDIES["he_init"](_on_digits(trainer), rebuild)
        assert rebuild.config.train.lr == trainer.lr == train["lr"]
    trainer, rebuild, _ = _trainer_for(spec)
    assert "train.lr" not in REMEDIES["regularize"](_on_digits(trainer), rebuild)
    assert trainer.lr == rebuild.config.train.lr == 0.001


def test_the_rate_is_measured_on_a_copy_without_touching_the_run():
    """The sweep trains a copy: the new weights and the run's random draws are as they
    would have been without it. No batches in memory, no measurement."""
    from trainwell.health._measured_rate import measured_rate
    from trainwell.train import make_optimizer

    spec = {"model": {"hidden": [64, 64]}, "train": {"optimizer": "sgd", "lr": 0.001}}
    trainer, rebuild, _ = _trainer_for(spec)
    fresh = rebuild.model(rebuild.config.model)
    weights = [p.clone() for p in fresh.parameters()]
    assert measured_rate(trainer, rebuild.config, fresh, make_optimizer) is None  # no batches
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    assert measured_rate(_on_digits(trainer), rebuild.config, fresh, make_optimizer) > 0.002
    assert torch.equal(torch.rand(3), expected)
    assert all(torch.equal(a, b) for a, b in zip(weights, fresh.parameters(), strict=True))


def test_regularize_keeps_the_best_weights_it_was_given_as_the_best():
    """Rebuilt around the best weights, the network computes what they computed: if the
    cure fails, stopping early must go back to them, not to a worse regularised epoch. Weights
    that are not the best (none were put back) leave no best to go back to."""
    from trainwell.health import REMEDIES

    trainer, rebuild, torch = _trainer_for({"model": {"hidden": [16, 16]}})
    trainer.best.update(3, {"val_accuracy": 0.8, "val_loss": 0.5}, trainer.model)
    assert trainer.restore_best() == 3
    best = [v.clone() for v in trainer.model.state_dict().values()]
    REMEDIES["regularize"](trainer, rebuild)
    assert (trainer.best.epoch, trainer.best.value) == (3, 0.8)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)  # the regularised network trains on and gets worse
    assert trainer.restore_best() == 3
    after = trainer.model.state_dict().values()
    assert all(torch.equal(a, b) for a, b in zip(best, after, strict=True))

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16, 16]}})
    trainer.best.update(3, {"val_accuracy": 0.8}, trainer.model)  # recorded, not put back
    REMEDIES["regularize"](trainer, rebuild)
    assert trainer.best.epoch is None and trainer.restore_best() is None


@pytest.mark.parametrize(
    ("optimizer", "decay", "expected"),
    [("adam", 0.0, 5e-4), ("sgd", 0.0, 5e-4), ("adamw", 0.0, 5e-3), ("adamw", 0.01, 0.1)],
)
def test_regularize_decays_as_much_under_adamw_as_its_decoupled_decay_needs(
    optimizer, decay, expected
):
    """A weight decay 10x the run's, at least a hundredth of a strong one: an L2 penalty of
    5e-4 under Adam or SGD; AdamW's decay is decoupled from the gradient (its own default is
    1e-2), so 5e-4 would be no regularisation there: 5e-3. The optimizer the run goes on
    with has it."""
    from trainwell.health import REMEDIES

    spec = {"model": {"hidden": [16]}, "train": {"optimizer": optimizer, "weight_decay": decay}}
    trainer, rebuild, _ = _trainer_for(spec)
    changed = REMEDIES["regularize"](trainer, rebuild)
    assert rebuild.config.train.weight_decay == pytest.approx(expected)
    assert changed.endswith(f"train.weight_decay: {expected:g} (weights kept)")
    assert trainer.optimizer.param_groups[0]["weight_decay"] == pytest.approx(expected)


def test_input_norm_is_applied_once():
    """The probes measure the raw inputs, which stay unscaled under a normalising layer: a
    second finding on them must go to the next remedy, not rebuild the same network."""
    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16]}})
    assert REMEDIES["input_norm"](trainer, rebuild) == "model.input_norm: False -> True"
    with pytest.raises(NotApplicable, match="already"):
        REMEDIES["input_norm"](trainer, rebuild)


def test_switching_to_adam_is_no_remedy_for_adam_at_its_own_rate():
    """A slow run on Adam at lr 0.001 was "treated" by switching to Adam at lr 0.001."""
    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable

    trainer, rebuild, _ = _trainer_for({"train": {"optimizer": "sgd", "lr": 0.01}})
    assert REMEDIES["switch_to_adam"](trainer, rebuild) == (
        "train.optimizer: sgd lr 0.01 -> adam lr 0.001"
    )
    with pytest.raises(NotApplicable, match="already"):
        REMEDIES["switch_to_adam"](trainer, rebuild)


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_switching_to_adam_never_lowers_an_adaptive_optimizer_s_rate(optimizer):
    """A slow run on Adam at lr 0.002 was "treated" by Adam at lr 0.001: slower still."""
    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable

    trainer, rebuild, _ = _trainer_for({"train": {"optimizer": optimizer, "lr": 0.002}})
    with pytest.raises(NotApplicable, match="adaptive already"):
        REMEDIES["switch_to_adam"](trainer, rebuild)
    assert trainer.lr == 0.002
    # far below Adam's default rate, the rate is what it changes (Adam at 1e-5 barely moves);
    # AdamW stays AdamW, its weight decay decoupled
    crawling, rebuild_crawling, _ = _trainer_for(
        {"train": {"optimizer": optimizer, "lr": 1e-5, "weight_decay": 0.01}}
    )
    changed = REMEDIES["switch_to_adam"](crawling, rebuild_crawling)
    assert changed == f"train.optimizer: {optimizer} lr 1e-05 -> {optimizer} lr 0.001"
    assert type(crawling.optimizer).__name__.lower() == optimizer
    assert rebuild_crawling.config.train.optimizer == optimizer
    assert crawling.lr == pytest.approx(1e-3)
    # against a runaway rate, clipping with Adam at its default rate still applies ...
    assert REMEDIES["clip_and_adam"](trainer, rebuild).endswith(f"-> {optimizer} lr 0.001")
    assert type(trainer.optimizer).__name__.lower() == optimizer
    # ... and where it would change nothing, it clips nothing either
    trainer.set_grad_clip(None)
    with pytest.raises(NotApplicable, match="already"):
        REMEDIES["clip_and_adam"](trainer, rebuild)
    assert trainer.grad_clip is None


@pytest.mark.parametrize(("activation", "init"), [("tanh", "xavier"), ("relu", "he")])
def test_an_initialisation_made_for_the_activation(activation, init):
    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable

    tiny = {"weights": "normal", "std": 0.01}
    trainer, rebuild, _ = _trainer_for({"model": {"activation": activation, "init": tiny}})
    assert f"-> {init} (bias 0)" in REMEDIES["matched_init"](trainer, rebuild)
    rebuild.config.model = rebuild.config.model.model_copy(update={"init": tiny})
    changed = REMEDIES["input_norm_and_init"](trainer, rebuild)
    assert "model.input_norm: False -> True" in changed and f"-> {init}" in changed
    assert rebuild.config.model.init.weights == init and rebuild.config.model.input_norm
    with pytest.raises(NotApplicable, match="already"):
        REMEDIES["input_norm_and_init"](trainer, rebuild)


@pytest.mark.parametrize(
    ("shape", "channels"),
    [((1, 8, 8), [16]), ((3, 32, 32), [16, 32, 64]), ((1, 28, 28), [16, 32, 64])],
)
def test_widen_widens_the_channels_of_a_cnn_and_deepens_one_left_with_a_wide_map(shape, channels):
    """One block leaves an 8x8 image a 4x4 map: wider is enough. It leaves a 32- or
    28-pixel image a 16x16 or 14x14 map: two more blocks bring it to 4x4 or 3x3."""
    from trainwell.health import REMEDIES

    spec = {"arch": "cnn", "channels": [1], "hidden": [2]}
    trainer, rebuild, torch = _trainer_for({"model": spec}, shape)
    changed = REMEDIES["widen"](trainer, rebuild)
    assert rebuild.config.model.channels == channels and rebuild.config.model.hidden == [64]
    convs = [m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [conv.out_channels for conv in convs] == channels
    assert f"model.channels: [1] -> {channels}" in changed
    assert trainer.model(torch.zeros(2, *shape, device=trainer.device)).shape == (2, 10)


@pytest.mark.parametrize(
    ("shape", "arch", "channels"),
    [((1, 36, 36), "cnn", [16, 32, 64]), ((3, 16, 16), "cnn", [16, 32]), ((1, 8, 8), "mlp", None)],
)
def test_widen_gives_an_mlp_on_images_convolutions(shape, arch, channels):
    """An MLP that underfits images of 16 pixels a side or more wants convolutions, not
    width: it is rebuilt as a CNN whose blocks bring the map down to 4x4 or less. One on
    8x8 digits (an MLP fits them) is only widened."""
    from trainwell.health import REMEDIES

    trainer, rebuild, torch = _trainer_for({"model": {"arch": "mlp", "hidden": []}}, shape)
    changed = REMEDIES["widen"](trainer, rebuild)
    spec = rebuild.config.model
    assert spec.arch == arch and spec.hidden == [128]
    assert ("model.arch: mlp -> cnn" in changed) is (arch == "cnn")
    convs = [m.out_channels for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == (channels or [])
    assert trainer.model(torch.zeros(2, *shape, device=trainer.device)).shape == (2, 10)


@pytest.mark.parametrize(
    ("shape", "channels"), [((3, 32, 32), [32, 64, 128]), ((1, 28, 28), [32, 64, 128])]
)
def test_deepen_brings_an_overfitting_cnns_wide_map_down_to_a_small_one(shape, channels):
    """One block of 32 channels leaves a 32- or 28-pixel image a 16x16 or 14x14 map under
    its dense layer: two more blocks (64, 128), the dense layer as it was. An 8x8 image
    is left a 4x4 map, small already, and an MLP has no map: the next remedy is tried."""
    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable

    spec = {"arch": "cnn", "channels": [32], "hidden": [256]}
    trainer, rebuild, torch = _trainer_for({"model": spec}, shape)
    changed = REMEDIES["deepen"](trainer, rebuild)
    assert f"model.channels: [32] -> {channels}" in changed
    assert rebuild.config.model.hidden == [256]
    convs = [m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [conv.out_channels for conv in convs] == channels
    assert trainer.model(torch.zeros(2, *shape, device=trainer.device)).shape == (2, 10)
    trainer, rebuild, _ = _trainer_for({"model": spec}, (1, 8, 8))
    with pytest.raises(NotApplicable, match="4x4 already"):
        REMEDIES["deepen"](trainer, rebuild)
    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [64]}})
    with pytest.raises(NotApplicable, match="not a CNN"):
        REMEDIES["deepen"](trainer, rebuild)


def test_drop_label_issues_drops_wrong_labels_and_skips_clean_data():
    import numpy as np
    from sklearn.datasets import load_digits

    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable
    from trainwell.train import TensorBatches

    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
    trainer, rebuild, torch = _trainer_for({"model": {"hidden": [16]}})
    _fitted_to(trainer.model, torch.from_numpy(X), torch.from_numpy(y))  # the true classes
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
    # judged not cured: the rows come back, and the repaired config stops asking for the drop
    from trainwell.findings import Finding
    from trainwell.health._repair import Repairer
    from trainwell.health._treatment import Treatment
    from trainwell.train._control import replay_data_changes

    repairer = Repairer(trainer, rebuild, prior_loss=2.3)
    treatment = Treatment(Finding("overfitting", "warning", "training", "overfits"), [])
    treatment.record = {"remedy": "drop_label_issues", "cured": None}
    repairer._not_cured(treatment, "the validation loss never got below its best")
    assert (
        treatment.record["undone"]
        == f"put back the {len(y) - len(kept_y)} training rows it dropped"
    )
    assert torch.equal(trainer.train_tensors[1], torch.from_numpy(noisy))
    assert rebuild.config.data.remedies == []
    # a resumed run replays the drop and its undoing: all rows, in their order
    changes = trainer._data_changes
    trainer._train_batches = TensorBatches(torch.from_numpy(X), torch.from_numpy(noisy), 64)
    trainer._data_changes, trainer._rows_before = [], []
    replay_data_changes(trainer, changes)
    assert torch.equal(trainer.train_tensors[1], torch.from_numpy(noisy))
    assert trainer.restore_train_rows() == 0  # nothing dropped is left to put back


def test_labels_are_not_dropped_by_a_judge_that_knows_the_data_worse_than_the_network():
    """A kernel model scores ~55% on a 5-class synthetic table a network fits to 85%: the
    labels it doubts are its own errors. On noisy digits it scores as well as the network,
    and its doubts are the flipped labels."""
    from sklearn.datasets import make_classification

    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable
    from trainwell.train import TensorBatches

    def with_data(X, y, network_score, learned=None):
        X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
        trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16]}}, (X.shape[1],))
        cut = len(y) * 4 // 5
        tensors = torch.from_numpy(X), torch.from_numpy(y)
        if learned is not None:  # the network learned these classes for the rows
            _fitted_to(trainer.model, tensors[0][:cut], torch.from_numpy(learned[:cut]))
        trainer._train_batches = TensorBatches(tensors[0][:cut], tensors[1][:cut], 64)
        trainer._val_batches = TensorBatches(tensors[0][cut:], tensors[1][cut:], 64)
        trainer.history = [{"train_loss": 0.1, "val_accuracy": network_score}]
        return trainer, rebuild

    X, y = make_classification(1500, 40, n_informative=10, n_classes=5, random_state=7)
    trainer, rebuild = with_data(X, y, network_score=0.85)
    with pytest.raises(NotApplicable, match="its own errors"):
        REMEDIES["drop_label_issues"](trainer, rebuild)
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    noisy = y.copy()
    flipped = np.random.default_rng(0).choice(len(y), size=len(y) // 5, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 10
    noisy[len(y) * 4 // 5 :] = y[len(y) * 4 // 5 :]  # validation labels as they are
    trainer, rebuild = with_data(X, noisy, network_score=0.93, learned=y)
    assert "dropped" in REMEDIES["drop_label_issues"](trainer, rebuild)


def test_labels_only_the_network_separates_are_judged_on_its_own_features():
    """A 5-class table a kernel model knows to ~55% and a network to ~80%: with 20% of the
    training labels flipped, the check judges them on the network's features (the input
    of its last layer) and drops mostly flipped rows; the repaired config does not ask for
    a drop its rerun's audit could not repeat. With the labels as they are, nothing is
    dropped (the network doubts none of the few rows the check flags)."""
    from sklearn.datasets import make_classification

    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable
    from trainwell.train import TensorBatches

    X, y = make_classification(1500, 40, n_informative=10, n_classes=5, random_state=7)
    X = torch.from_numpy(((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32))
    cut = len(y) * 4 // 5
    noisy = y.copy()
    flipped = np.random.default_rng(0).choice(cut, size=cut // 5, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 5
    for labels, flips in ((noisy, True), (y, False)):
        torch.manual_seed(0)
        trainer, rebuild, _ = _trainer_for({"model": {"hidden": [64]}}, (40,))
        trainer.model.net[-1] = torch.nn.Linear(64, 5).to(trainer.device)  # five classes
        trainer.n_classes = 5
        _fitted_to(trainer.model, X[:cut], torch.from_numpy(y[:cut]), steps=60)  # at its best
        score = (
            trainer.model(X[cut:].to(trainer.device)).argmax(1).cpu().numpy() == y[cut:]
        ).mean()
        trainer._train_batches = TensorBatches(X[:cut], torch.from_numpy(labels[:cut]), 64)
        trainer._val_batches = TensorBatches(X[cut:], torch.from_numpy(y[cut:]), 64)
        trainer.history = [{"train_loss": 0.1, "val_accuracy": float(score)}]
        if not flips:  # too few doubted, or doubted by the judge alone
            with pytest.raises(NotApplicable, match=r"look wrong|look hard"):
                REMEDIES["drop_label_issues"](trainer, rebuild)
            assert len(trainer.train_tensors[1]) == cut
            continue
        assert "network's own features" in REMEDIES["drop_label_issues"](trainer, rebuild)
        kept_X, kept_y = trainer.train_tensors
        index = {row.numpy().tobytes(): i for i, row in enumerate(X[:cut])}
        source = np.array([index[row.numpy().tobytes()] for row in kept_X])
        assert (kept_y.numpy() != y[source]).mean() < 0.1  # from 20% wrong labels
        assert len(kept_y) > 0.6 * cut and rebuild.config.data.remedies == []  # not all hard


def test_labels_are_dropped_only_where_the_network_at_its_best_doubts_them_too():
    """20% of the digits' labels flipped: a network that learned the true classes gives
    another class to the rows the check flags, and they are dropped; one that memorised
    the flipped labels predicts them, so the check's doubt stands alone and nothing is
    dropped (as a clean row the kernel judge gets wrong is one the network learned)."""
    from sklearn.datasets import load_digits

    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable
    from trainwell.train import TensorBatches

    X, y = load_digits(return_X_y=True)
    X = torch.from_numpy(((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32))
    noisy = y.copy()
    flipped = np.random.default_rng(0).choice(len(y), size=len(y) // 5, replace=False)
    noisy[flipped] = (noisy[flipped] + 1) % 10
    y, noisy = torch.from_numpy(y), torch.from_numpy(noisy)
    for learned, verdict in ((noisy, "look hard, not mislabelled"), (y, None)):
        trainer, rebuild, _ = _trainer_for({"model": {"hidden": [64]}})
        _fitted_to(trainer.model, X, learned)
        assert (trainer.model(X).argmax(1) == learned).float().mean() > 0.97
        trainer._train_batches = TensorBatches(X, noisy, 64)
        if verdict:
            with pytest.raises(NotApplicable, match=verdict):
                REMEDIES["drop_label_issues"](trainer, rebuild)
            assert len(trainer.train_tensors[1]) == len(y)
        else:
            assert "dropped" in REMEDIES["drop_label_issues"](trainer, rebuild)
            assert 0.7 * len(y) < len(trainer.train_tensors[1]) < 0.9 * len(y)


@pytest.mark.parametrize(
    ("name", "epochs", "speaks"),
    [
        ("a learning rate too small to converge", 14, 4),
        # the best of the last 4 epochs against the best before them: 5 epochs
        ("a network too narrow to fit", 14, 5),
    ],
)
def test_a_curve_problem_is_cured_only_once_its_rule_can_speak_again(out, name, epochs, speaks):
    config, code, _ = BROKEN[name]
    run = trainwell.fit(config, doctor__mode="repair", train__epochs=epochs)
    treated = next(r for r in run.repairs if r["finding"] == code)
    assert treated["cured"] is True
    assert treated["judged_epoch"] - treated["epoch"] >= speaks


def test_a_remedy_too_late_to_judge_is_unconfirmed_not_cured(out):
    config, _, _ = BROKEN["a learning rate too small to converge"]
    # told after 2 epochs (at the prior's loss on tiny steps): 2 left, the rule needs 4
    run = trainwell.fit(config, doctor__mode="repair", train__epochs=4)
    treated = next(r for r in run.repairs if r["finding"] == "slow_convergence")
    finding = next(f for f in run.findings if f.code == "slow_convergence")
    assert treated["cured"] is None and not finding.resolved
    assert "before the rule could judge the cure" in finding.message


def test_a_cure_that_does_not_hold_is_reported_as_not_cured(out, tmp_path):
    """Random labels: no optimizer makes the loss fall, and the doctor says so."""
    rng = np.random.default_rng(0)
    data = tmp_path / "random.npz"
    np.savez(data, X=rng.normal(size=(1200, 20)).astype("float32"), y=rng.integers(0, 10, 1200))
    run = trainwell.fit(
        {
            "data": {"source": str(data), "audit": False},
            "model": {"hidden": [16]},
            "train": {"epochs": 16, "optimizer": "sgd", "lr": 1e-4, "momentum": 0.0},
        },
        doctor__mode="repair",
    )
    treated = [r for r in run.repairs if r["finding"] == "slow_convergence"]
    assert treated and all(r["cured"] is False for r in treated)
    assert treated[0]["why_not"] == "the problem came back"
    (finding,) = [f for f in run.findings if f.code == "slow_convergence"]  # told once
    assert not finding.resolved and "gave up" in finding.message


def test_repairs_that_never_made_the_network_learn_are_followed_by_ones_that_do(out):
    """A deep sigmoid CNN on plain SGD at a small rate (a new user's case)."""
    config = {
        "data": DIGITS,
        "model": {"arch": "cnn", "channels": [8, 8, 8, 8], "hidden": [32], "activation": "sigmoid"},
        "train": {"epochs": 15, "optimizer": "sgd", "lr": 0.005},
    }
    detected = trainwell.fit(config, doctor__mode="detect")
    repaired = trainwell.fit(config, doctor__mode="repair")
    assert detected.metrics["test_accuracy"] < 0.3  # chance is 0.1
    assert repaired.metrics["test_accuracy"] >= 0.85, repaired.repairs
    # batch norm (with a rebuild or on its own), Adam or a higher rate, before any lower rate
    makes_it_learn = [
        "batchnorm: False -> True" in r["changed"] or r["remedy"] in ("switch_to_adam", "raise_lr")
        for r in repaired.repairs
    ]
    assert any(makes_it_learn), repaired.repairs
    remedies = [r["remedy"] for r in repaired.repairs]
    assert "lower_lr" not in remedies[: makes_it_learn.index(True)]


def test_early_stopping_keeps_an_epoch_of_the_repaired_model(out):
    config, _, _ = BROKEN["a network too narrow to fit"]
    run = trainwell.fit(
        config, doctor__mode="repair", train__early_stopping={"monitor": "val_loss", "patience": 5}
    )
    rebuilt = [r for r in run.repairs if r["remedy"] == "widen"]
    assert rebuilt, run.repairs
    assert run.metrics["best_epoch"] > rebuilt[0]["epoch"]  # never an epoch of the narrow net
    loaded = trainwell.load_run(run.run_dir)
    X = torch.randn(4, 1, 8, 8)
    assert torch.allclose(loaded.model.eval()(X), run.model.eval().cpu()(X))


class _Kill(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_start(self, epoch):
        if epoch == self.at:
            raise KeyboardInterrupt  # as a SIGKILL would: the last checkpoint is what is left


RESUMED = {
    "switched optimizer": (BROKEN["a learning rate too small to converge"][0], 14, 7),
    "dropped rows, then a rebuilt model": (BROKEN["noisy labels trained too long"][0], 30, 20),
    # widened at epoch 2 of 4, the run lengthened to 5: killed in the epoch it added
    "a network widened late": (BROKEN["a network too narrow to fit"][0], 4, 4),
}


@pytest.mark.parametrize("name", list(RESUMED))
def test_a_repaired_run_resumes_to_the_same_end(out, name):
    config, epochs, kill_at = RESUMED[name]
    config = {**config, "train": {**config["train"], "checkpoint_every": 0}}
    whole = trainwell.fit(config, doctor__mode="repair", train__epochs=epochs, report=False)
    assert whole.repairs and whole.repairs[0]["epoch"] < kill_at
    with pytest.raises(KeyboardInterrupt):
        trainwell.fit(
            config,
            doctor__mode="repair",
            train__epochs=epochs,
            out=out / "killed",
            callbacks=[_Kill(kill_at)],
            report=False,
        )
    (run_dir,) = (out / "killed").iterdir()
    resumed = trainwell.resume(run_dir, report=False)
    assert resumed.metrics | {"seconds": 0, "samples_per_second": 0} == whole.metrics | {
        "seconds": 0,
        "samples_per_second": 0,
    }
    assert resumed.repairs == whole.repairs
    assert [f.to_dict() for f in resumed.findings] == [f.to_dict() for f in whole.findings]
    assert resumed.config == whole.config  # the repaired config


# --- the doctor inside a Trainer, forcing the accelerator's code path on a CPU --------------


def _problem(n=1024, d=12, classes=3, nan_rows=()):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, d, generator=g)
    y = (X @ torch.randn(d, classes, generator=g)).argmax(1)
    for row in nan_rows:
        X[row, 0] = math.nan
    return X, y


def _rebuild(train: dict) -> Rebuild:
    cfg = RunConfig.model_validate({"model": {"hidden": [32]}, "train": train})
    return Rebuild(
        cfg,
        lambda spec: build_model(spec, (12,), 3, regression=False),
        make_optimizer,
        lambda *_: None,
    )


def _doctored(train: dict, X, y, repair=False, after=(), device=None, **doctor):
    """A Trainer with the doctor, as a user's own code would set it up."""
    rebuild = _rebuild(train)
    torch.manual_seed(0)
    net = rebuild.model(rebuild.config.model)
    if repair:
        doctor |= {"mode": "repair", "rebuild": rebuild}
    doctor = DoctorCallback(every=4, **doctor)
    trainer = Trainer(
        net,
        make_optimizer(rebuild.config.train, net),
        epochs=rebuild.config.train.epochs,
        n_classes=3,
        callbacks=[doctor, *after],
        device=device,
    )
    result = trainer.fit(TensorBatches(X, y, 32), TensorBatches(X, y, 512, shuffle=False))
    return result, doctor


@pytest.mark.parametrize("each_step", [True, False])
def test_divergence_is_repaired_on_either_code_path(each_step, device):
    X, y = _problem()
    train = {"optimizer": "sgd", "lr": 10.0, "epochs": 4}
    detected, _ = _doctored(train, X, y, check_each_step=each_step, device=device)
    assert detected.status == "diverged"
    repaired, doctor = _doctored(train, X, y, repair=True, check_each_step=each_step, device=device)
    assert repaired.status == "completed" and doctor.trainer.device.type == device
    assert doctor.repairs[0]["finding"] == "divergence"
    healthy, _ = _doctored({"optimizer": "adam", "lr": 1e-3, "epochs": 4}, X, y, device=device)
    assert repaired.history[-1]["val_accuracy"] >= 0.9 * healthy.history[-1]["val_accuracy"]


class _RunAway(Callback):
    """From step `at` on, the output layer's weights double at every step: the loss runs
    away between the doctor's probes, as under a rate that warms up too far."""

    def __init__(self, at):
        self.at, self.losses = at, {}

    def on_batch_end(self, step, loss):
        self.losses[step] = loss.item()
        if step >= self.at:
            with torch.no_grad():
                self.trainer.model.net[-1].weight.mul_(2.0)


def test_a_loss_running_away_between_probes_is_probed_at_once_where_it_is_read_each_step():
    X, y = _problem()
    train = {"optimizer": "adam", "lr": 1e-3, "epochs": 4}
    at = 77  # in epoch 2 (32 steps an epoch), where probes have thinned out
    found, at_once = {}, []
    for each_step in (True, False):
        runaway = _RunAway(at)
        _, doctor = _doctored(train, X, y, after=[runaway], check_each_step=each_step)
        (found[each_step],) = [f for f in doctor.findings if f.code == "divergence"]
        limit = 10 * found[each_step].evidence["first_loss"]  # Thresholds.runaway_factor
        crossed = min(step for step, loss in runaway.losses.items() if loss > limit)
        at_once = at_once or [f.code for f in doctor.findings if f.step == crossed + 1]
    # `sustain` (2) probes running above the limit: the step it crossed and the next
    assert found[True].step == crossed + 1 and found[True].epoch == 2
    # the gradients the runaway blew up are its doing: judged on probe steps, not there
    assert at_once == ["divergence"]
    assert found[False].step is None or found[False].step > crossed + 1  # probes alone: later
    _, healthy = _doctored(train, X, y, check_each_step=True)
    assert not [f for f in healthy.findings if f.code == "divergence"]


@pytest.mark.parametrize("each_step", [True, False])
def test_nan_inputs_are_found_and_imputed_on_either_code_path(each_step, device):
    X, y = _problem(nan_rows=(200,))
    train = {"optimizer": "adam", "lr": 0.01, "epochs": 3}
    repaired, doctor = _doctored(train, X, y, repair=True, check_each_step=each_step, device=device)
    (divergence,) = [f for f in doctor.findings if f.code == "divergence"]
    assert divergence.evidence["first_nonfinite_output"] == "input"
    assert doctor.repairs[0]["remedy"] == "impute_inputs"
    assert repaired.status == "completed" and repaired.history[-1]["val_accuracy"] > 0.8


class _Knocked(Callback):
    """At the end of epoch `at`, after its validation, the weights are knocked off their
    path: the next epoch's network is worse than the best one before it."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, metrics):
        if epoch == self.at:
            with torch.no_grad():
                for p in self.trainer.model.parameters():
                    p.add_(
                        0.5 * torch.randn(p.shape, generator=torch.Generator().manual_seed(1)).to(p)
                    )


@pytest.mark.parametrize("lr", [10.0, 1e-3])
def test_a_repaired_run_knocked_past_its_best_ends_on_it_and_says_so(lr):
    """End to end, in repair mode: the run the doctor repaired (SGD at 10 diverges) ends on
    its best epoch's weights, and the finding it treated last says which; a healthy run it
    had nothing to repair ends on its last, as the config asked."""
    X, y = _problem()
    train = {"optimizer": "sgd" if lr > 1 else "adam", "lr": lr, "epochs": 5}
    result, doctor = _doctored(train, X, y, repair=True, after=[_Knocked(at=3)])
    kept = doctor.trainer.kept_epoch
    if lr < 1:
        assert not doctor.repairs and kept is None
        assert result.history[4]["val_loss"] > min(row["val_loss"] for row in result.history)
        return
    last = doctor.repairs[-1]
    treated = [f for f in doctor.findings if f.code == last["finding"]][-1]
    assert kept is not None and kept < 4 and last["kept_epoch"] == kept
    assert treated.message.endswith(f"The run ends on the weights of epoch {kept}, its best.")
    assert result.history[4]["val_loss"] > result.history[kept]["val_loss"]


class _ComesBack(Callback):
    """After epoch 0, the divergence the doctor is treating fires again."""

    def __init__(self):
        self.seen = {}

    def on_epoch_end(self, epoch, metrics):
        doctor = self.trainer.callbacks.callbacks[0]
        repairer = doctor.repairer
        if epoch != 0 or "divergence" not in repairer.treating:
            return
        self.seen["healthy"] = repairer.healthy["optimizer_type"]
        finding = repairer.treating["divergence"].finding
        self.seen["treated"] = repairer.treat(finding, None, doctor.examiner.history)


def test_a_second_problem_after_switching_optimizer_rolls_back_into_the_live_one():
    X, y = _problem()
    comes_back = _ComesBack()
    train = {"optimizer": "sgd", "lr": 10.0, "epochs": 3}
    result, doctor = _doctored(train, X, y, repair=True, after=[comes_back])
    assert [r["remedy"] for r in doctor.repairs[:2]] == ["clip_and_adam", "lower_lr_and_clip"]
    assert comes_back.seen == {"healthy": "Adam", "treated": True}  # snapshot of the live one
    assert isinstance(doctor.trainer.optimizer, torch.optim.Adam)
    assert doctor.trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert result.status == "completed" and math.isfinite(result.history[-1]["train_loss"])


class _OverfitsAt(Callback):
    """At the end of epoch `epoch`, an overfitting finding reaches the repairer."""

    def __init__(self, epoch):
        self.epoch, self.remedy = epoch, None

    def on_epoch_end(self, epoch, metrics):
        if epoch != self.epoch:
            return
        doctor = self.trainer.callbacks.callbacks[0]
        finding = Finding("overfitting", "warning", "training", "the validation loss rises")
        doctor.repairer.treat(finding, None, doctor.examiner.history)
        self.remedy = doctor.repairs[-1]["remedy"]


@pytest.mark.parametrize(("epoch", "acts_at_once"), [(1, False), (7, True)])
def test_a_curve_problem_too_late_to_judge_gets_the_remedy_that_acts_at_once(epoch, acts_at_once):
    """With too few epochs left to judge a remedy that trains on, the best weights are put
    back at once; earlier, the remedies that train on come first."""
    X, y = _problem()
    late = _OverfitsAt(epoch)
    _doctored({"optimizer": "adam", "lr": 1e-3, "epochs": 8}, X, y, repair=True, after=[late])
    assert late.remedy is not None
    assert (late.remedy == "stop_early") is acts_at_once


class _FoundAt(Callback):
    """At the end of epoch `epoch`, the doctor's examiner finds `code`; keeps the weights the
    epoch ended on and those the remedy left."""

    def __init__(self, epoch, code):
        self.epoch, self.code = epoch, code

    def on_fit_start(self):
        doctor = self.trainer.callbacks.callbacks[0]
        end_epoch = doctor.examiner.end_epoch

        def finds(row, penalty=None, val_rows=None):
            found = end_epoch(row, penalty, val_rows)
            if row["epoch"] == self.epoch:
                self.ended = [p.detach().clone() for p in self.trainer.model.parameters()]
                found.append(Finding(self.code, "warning", "training", "a curve problem"))
            return found

        doctor.examiner.end_epoch = finds

    def on_epoch_end(self, epoch, metrics):
        if epoch == self.epoch:
            self.treated = [p.detach().clone() for p in self.trainer.model.parameters()]
            self.remedy = self.trainer.callbacks.callbacks[0].repairs[-1]["remedy"]
            best = self.trainer.best.weights
            self.best = [best[name] for name, _ in self.trainer.model.named_parameters()]


@pytest.mark.parametrize(
    ("code", "remedy", "starts_from"),
    [("slow_convergence", "switch_to_adam", "ended"), ("oscillating_loss", "lower_lr", "best")],
)
def test_a_network_that_only_learns_slowly_is_treated_on_its_live_weights(
    code, remedy, starts_from
):
    """Slow convergence did the weights no harm: Adam takes over from where the epoch ended
    (a rollback to the last healthy state, an epoch back, would throw that epoch away). An
    oscillating loss may have thrown them off: its remedy starts from the best weights."""
    X, y = _problem()
    found = _FoundAt(3, code)
    _doctored({"optimizer": "sgd", "lr": 0.01, "epochs": 8}, X, y, repair=True, after=[found])
    assert found.remedy == remedy
    start = found.ended if starts_from == "ended" else found.best
    assert all(torch.equal(a, b) for a, b in zip(start, found.treated, strict=True))


class _RemedyAt(Callback):
    """At the end of epoch `epoch`, the doctor's examiner finds overfitting."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_fit_start(self):
        examiner = self.trainer.callbacks.callbacks[0].examiner
        end_epoch = examiner.end_epoch

        def overfits(row, penalty=None, val_rows=None):
            found = end_epoch(row, penalty, val_rows)
            if row["epoch"] == self.epoch:
                found.append(Finding("overfitting", "warning", "training", "rises"))
            return found

        examiner.end_epoch = overfits


@pytest.mark.parametrize("remedy_at", [None, 3])
def test_probes_thin_out_while_healthy_and_not_while_a_remedy_is_judged(remedy_at):
    """32 steps an epoch, every=4: every 4 steps in epoch 0, 8 in epoch 1, then 16 (4 x
    every); after a remedy, every 8 again for the epochs that judge it."""
    X, y = _problem()
    after = [_RemedyAt(remedy_at)] if remedy_at is not None else []
    train = {"optimizer": "adam", "lr": 1e-3, "epochs": 12}
    _, doctor = _doctored(train, X, y, repair=remedy_at is not None, after=after)
    first, *rest = doctor.examiner.histories
    gaps = list(np.diff(first.steps))
    assert gaps[:12] == [4] * 8 + [8] * 4 and set(gaps[12:]) == {16}
    if remedy_at is None:
        assert rest == [] and doctor.interval == 16
    else:
        (fresh,) = rest
        assert doctor.repairs[0]["remedy"] != "stop_early"
        assert fresh.steps[0] == 32 * (remedy_at + 1)  # the first step after the remedy
        gaps = list(np.diff(fresh.steps))
        assert gaps[:12] == [8] * 12 and set(gaps[12:]) == {16}


# --- mixed precision ------------------------------------------------------------------------


def _deep(std=None):
    torch.manual_seed(0)
    layers = [nn.Linear(12, 128), nn.ReLU()]
    for _ in range(4):
        layers += [nn.Linear(128, 128), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(128, 3))
    if std:
        for module in model:
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=std)
    return model


@pytest.mark.parametrize(("std", "flagged"), [(None, False), (1.0, True)])
def test_gradient_scaler_overflow_is_not_an_explosion(std, flagged, device):
    """fp16 with a scale far too large: the scaler skips steps and lowers its scale, which
    is normal; a network that really blows up is still flagged."""
    X, y = _problem()
    model = _deep(std)
    doctor = DoctorCallback(every=4)
    trainer = Trainer(
        model,
        torch.optim.SGD(model.parameters(), 0.01),
        epochs=1,
        precision="fp16",
        callbacks=[doctor],
        device=device,
    )
    trainer.scaler = torch.amp.GradScaler(device, init_scale=2.0**30)
    trainer.fit(TensorBatches(X, y, 32))
    assert trainer.scaler.get_scale() < 2.0**30  # steps were skipped
    problems = {f.code for f in doctor.findings if f.severity != "info"}
    assert bool(problems) == flagged, problems
    if not flagged:
        assert "exploding_gradient" not in problems


def _judging(history: list[float], code="vanishing_gradient", remedy="relu_activation", at=0):
    """A repairer judging `remedy`, applied in epoch `at` to a network at the class prior
    (2 epochs to judge it), or to an overfitting one (4)."""
    from trainwell.health._repair import Repairer
    from trainwell.health._treatment import Treatment

    model = nn.Linear(4, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters()), epochs=20)
    repairer = Repairer(trainer, rebuild=None, prior_loss=1.0)
    finding = Finding(code, "error", "training", "")
    record = {"finding": code, "remedy": remedy, "changed": "model", "cured": None}
    repairer.repairs.append(record)
    stalled, needs = (False, 4) if code == "overfitting" else (True, 2)
    repairer.treating[code] = Treatment(finding, ["stop_early"], record, at, needs, stalled)
    trainer.history = [{"train_loss": loss} for loss in history]
    return repairer, record


def test_a_cure_is_judged_on_epochs_the_treated_network_trained():
    """A remedy at an epoch's last step leaves that epoch no loss of the treated network:
    the network that trained one epoch is not yet judged to have failed to learn."""
    repairer, record = _judging([math.nan, 1.0], remedy="raise_lr")
    assert repairer.epoch_end(1, {"train_loss": 1.0}) == [] and record["cured"] is None
    repairer.trainer.history.append({"train_loss": 0.995})  # a second epoch, still stuck
    assert [f.code for f in repairer.epoch_end(2, {"train_loss": 0.995})] == ["vanishing_gradient"]
    assert record["cured"] is False and "does not learn" in record["why_not"]
    # the twin whose remedy came mid-epoch has trained two epochs by epoch 1: judged then
    twin, twin_record = _judging([1.0, 1.0], remedy="raise_lr")
    assert twin.epoch_end(1, {"train_loss": 1.0}) and twin_record["cured"] is False


def test_a_network_rebuilt_from_scratch_gets_a_fresh_runs_epochs_to_start_learning():
    """A rebuilt network still at the class prior's loss after 2 epochs is not yet judged:
    a deep one takes off after 3 or 4, as a fresh run's would (the curve rules wait for 4).
    It is judged after 4; one that learns is cured at once; and a remedy that keeps the
    network is judged after 2 (above)."""
    repairer, record = _judging([1.3, 1.0], remedy="relu_activation")
    for epoch, loss in ((1, 1.0), (2, 0.99)):
        assert repairer.epoch_end(epoch, {"train_loss": loss}) == [] and record["cured"] is None
        repairer.trainer.history.append({"train_loss": 0.99})
    assert repairer.epoch_end(3, {"train_loss": 0.99}) and record["cured"] is False
    # the same network taking off in its third epoch: cured then, with no remedy on top
    taking_off, took_off = _judging([1.3, 1.0, 0.99, 0.85], remedy="relu_activation")
    assert taking_off.epoch_end(3, {"train_loss": 0.85}) == [] and took_off["cured"]


def test_a_rebuilt_network_that_only_reaches_the_prior_has_not_learned():
    """A rebuilt network starts above the class prior's loss: falling to it is learning the
    class frequencies, not learning; falling below it is."""
    repairer, record = _judging([1.3, 1.0, 1.0, 1.0])  # the prior's loss is 1.0
    assert repairer.epoch_end(3, {"train_loss": 1.0}) and record["cured"] is False
    learning, learning_record = _judging([1.3, 0.95])  # below the prior, though stalled
    assert learning.epoch_end(1, {"train_loss": 0.95}) == [] and learning_record["cured"]


def test_a_state_whose_weights_flew_off_is_not_kept_as_healthy():
    """Weights 30x their first probe's (and oversized) at an epoch's end, before any rule
    could confirm the runaway: a rollback must go back past them; a state whose weights
    merely doubled is kept."""
    from trainwell.health import ProbeHistory
    from trainwell.health._repair import Repairer

    model = nn.Linear(4, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters()), epochs=5)
    repairer = Repairer(trainer, rebuild=None, prior_loss=1.0)
    start = repairer.healthy
    h = ProbeHistory(layers=["weight"], activations=[], activation_kinds=[], rows=[2])
    h.steps, h.loss = [0, 8], [1.0, 1.1]
    h.weight_norm = [np.array([1.0]), np.array([30.0])]
    repairer.epoch_end(0, {"train_loss": 1.1}, h)
    assert repairer.healthy is start
    h.weight_norm[-1] = np.array([2.0])
    repairer.epoch_end(1, {"train_loss": 1.0}, h)
    assert repairer.healthy is not start


@pytest.mark.parametrize("kind", ["dead", "saturated"])
def test_a_state_whose_units_the_last_probe_saw_lost_is_not_kept_as_healthy(kind):
    """A ReLU layer 90% dead (or a tanh layer 90% saturated) at the epoch's last probe,
    one probe before the rule can speak: units a large step killed stay dead at a lower
    rate, so a rollback must go back past that state. A layer 30% dead is kept."""
    from trainwell.health import ProbeHistory
    from trainwell.health._repair import Repairer

    model = nn.Linear(4, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters()), epochs=5)
    repairer = Repairer(trainer, rebuild=None, prior_loss=1.0)
    start = repairer.healthy
    h = ProbeHistory(layers=["weight"], activations=["act"], activation_kinds=["relu"], rows=[2])
    h.steps, h.loss = [0, 8], [1.0, 0.9]
    h.weight_norm = [np.array([1.0]), np.array([1.1])]
    other = "saturated" if kind == "dead" else "dead"
    setattr(h, other, [np.array([np.nan]), np.array([np.nan])])  # not this activation's kind
    setattr(h, kind, [np.array([0.1]), np.array([0.9])])
    repairer.epoch_end(0, {"train_loss": 0.9}, h)
    assert repairer.healthy is start
    getattr(h, kind)[-1] = np.array([0.3])
    repairer.epoch_end(1, {"train_loss": 0.8}, h)
    assert repairer.healthy is not start


@pytest.mark.parametrize("killed", [True, False])
def test_units_the_steps_killed_roll_back_to_before_they_died(killed):
    """A ReLU layer alive at the first probe and 50% dead at an epoch's last (under the 70%
    that makes `dying_relu`, over half of it): that state is kept as healthy, but a dying
    ReLU the steps killed rolls back past it, to the last state whose units were alive,
    where a lower rate keeps them alive; units dead from the start (not killed by the steps)
    roll back to the last healthy state. A layer 20% dead moves the alive state on."""
    from trainwell.health import ProbeHistory
    from trainwell.health._repair import Repairer

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [32]}, "train": {"epochs": 10}})
    repairer = Repairer(trainer, rebuild, prior_loss=1.0)
    h = ProbeHistory(layers=["weight"], activations=["act"], activation_kinds=["relu"], rows=[2])
    h.steps, h.loss = [0, 8], [1.0, 0.9]
    h.weight_norm = [np.array([1.0]), np.array([1.1])]
    h.saturated = [np.array([np.nan]), np.array([np.nan])]
    h.dead = [np.array([0.0]), np.array([0.2])]
    repairer.epoch_end(0, {"train_loss": 0.9}, h)
    assert repairer.alive is repairer.healthy  # 20% dead: alive
    alive = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)  # the steps of the next epoch
    h.dead[-1] = np.array([0.5])
    repairer.epoch_end(1, {"train_loss": 0.8}, h)
    assert repairer.healthy is not repairer.alive
    resumed = Repairer(trainer, rebuild, prior_loss=1.0)
    resumed.load_state_dict(repairer.state_dict([]), [])
    assert all(torch.equal(resumed.alive["model"][k], alive[k]) for k in alive)
    dying = Finding("dying_relu", "error", "training", "", evidence={"killed_in_training": killed})
    assert repairer.treat(dying, None, h)
    assert repairer.repairs[-1]["remedy"] == ("lower_lr" if killed else "leaky_relu")
    restored = trainer.model.state_dict()
    back = all(torch.equal(restored[k], alive[k]) for k in alive)
    assert back is killed
    assert repairer.alive is repairer.healthy  # the state after the remedy


def test_a_state_whose_validation_loss_ran_away_is_not_kept_as_healthy():
    """A validation loss 100x the best before it (a onecycle peak far too high: 2.4, then
    255) shows the weights flown off an epoch before the training loss overflows: a
    rollback must go back past that state. One a third above the best is kept."""
    from trainwell.health._repair import Repairer

    model = nn.Linear(4, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters()), epochs=5)
    repairer = Repairer(trainer, rebuild=None, prior_loss=1.0)
    start = repairer.healthy
    trainer.history = [{"epoch": 0, "train_loss": 0.8, "val_loss": 2.4}]
    trainer.history.append({"epoch": 1, "train_loss": 4.2, "val_loss": 255.0})
    repairer.epoch_end(1, trainer.history[-1])
    assert repairer.healthy is start
    trainer.history[-1] = {"epoch": 1, "train_loss": 0.7, "val_loss": 3.2}
    repairer.epoch_end(1, trainer.history[-1])
    assert repairer.healthy is not start


def test_a_cure_is_judged_on_the_data_loss_not_on_an_l1_penalty():
    """An L1 penalty adds to the training loss; the network's fit to the data is the rest: a
    data loss below the prior's is learning, whatever the penalty adds."""
    rows = [{"train_loss": 1.3}, {"train_loss": 1.15, "train_penalty": 0.2}]
    repairer, record = _judging([1.3, 1.15], remedy="raise_lr")
    repairer.trainer.history = rows
    assert repairer.epoch_end(1, rows[-1]) == [] and record["cured"]
    twin, twin_record = _judging([1.3, 1.15], remedy="raise_lr")  # all of it the data's
    assert twin.epoch_end(1, {"train_loss": 1.15}) and twin_record["cured"] is False


@pytest.mark.parametrize("treated", ["overfitting", "vanishing_gradient", None])
def test_a_repaired_run_ends_on_its_best_weights(treated):
    """Without early stopping, a repaired run whose network trained past its best would end
    on the last epoch's network; the doctor puts the best back, whatever it treated. A run
    it did not repair keeps its last weights, as the config asked."""
    repairer, record = _judging([1.0, 0.5, 0.4], code=treated or "overfitting")
    if treated is None:
        repairer.repairs.clear()
    trainer = repairer.trainer
    best = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.best.update(1, {"val_accuracy": 0.9}, trainer.model)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.add_(1.0)  # two epochs later the network is worse
    kept = repairer.keep_the_best({"epoch": 2, "val_accuracy": 0.6})
    now = list(trainer.model.parameters())
    if not treated:
        assert kept is None and "kept_epoch" not in record
        assert not any(torch.equal(a, b) for a, b in zip(best, now, strict=True))
        return
    assert kept.epoch == 1 and record["kept_epoch"] == 1 and trainer.kept_epoch == 1
    assert kept.words == "The run ends on the weights of epoch 1, its best."
    assert all(torch.equal(a, b) for a, b in zip(best, now, strict=True))
    # a repaired run whose last epoch is its best: nothing to put back
    trainer.kept_epoch = None
    trainer.best.update(3, {"val_accuracy": 0.95}, trainer.model)
    assert repairer.keep_the_best({"epoch": 3, "val_accuracy": 0.95}) is None


@pytest.mark.parametrize(("best_epoch", "cured"), [(2, False), (5, True)])
def test_an_overfitting_remedy_that_never_beats_the_best_weights_is_not_a_cure(best_epoch, cured):
    """Regularised at epoch 3 from the best weights (epoch 2), the network must beat their
    validation accuracy before its silent rule counts as a cure."""
    losses = [0.5 - 0.01 * i for i in range(8)]
    repairer, record = _judging(losses, code="overfitting", remedy="regularize", at=3)
    repairer.trainer.best.update(best_epoch, {"val_accuracy": 0.8}, repairer.trainer.model)
    again = repairer.epoch_end(7, {"train_loss": 0.43})
    assert record["cured"] is cured and bool(again) is not cured
    if not cured:
        assert "validation accuracy never beat its best" in record["why_not"]


@pytest.mark.parametrize(("code", "kept"), [("divergence", False), ("oscillating_loss", True)])
def test_the_best_weights_of_a_run_that_ran_away_are_forgotten_when_it_is_treated(code, kept):
    """A remedy for divergence starts the best weights again: an epoch before the runaway
    may hold the lowest validation loss (the class prior's, learning nothing), and a later
    remedy that starts from the best weights would go back to it. A loss that oscillated
    ran on healthy weights: their best stays a model to return to, and its remedy goes on
    from there."""
    from trainwell.config import RunConfig
    from trainwell.findings import Finding
    from trainwell.health import ProbeHistory, Rebuild
    from trainwell.health._repair import Repairer
    from trainwell.train import make_optimizer

    cfg = RunConfig.model_validate({"train": {"optimizer": "sgd", "lr": 0.1, "epochs": 10}})
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(model, make_optimizer(cfg.train, model), epochs=10)
    trainer.best.update(2, {"val_accuracy": 0.5}, model)
    best = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(-1.0)  # the last swing left the weights elsewhere, "healthy" to the probes
    rebuild = Rebuild(cfg, None, make_optimizer, lambda spec, optimizer: None)
    repairer = Repairer(trainer, rebuild, prior_loss=1.1)
    history = ProbeHistory(layers=["0", "2"], activations=["1"], activation_kinds=["relu"])
    finding = Finding(code, "error", "training", "the loss ran away or oscillated")
    assert repairer.treat(finding, step=96, history=history)
    assert repairer.repairs[-1]["remedy"] in ("clip_and_adam", "lower_lr")
    assert (trainer.best.epoch == 2) is kept
    assert (trainer.best.weights is not None) is kept
    # an oscillation goes on from the best weights, a runaway from the last healthy state
    at_best = all(torch.equal(a, b) for a, b in zip(best, model.parameters(), strict=True))
    assert at_best is kept


def _squares(n=256):
    """8x8 images whose class is the corner a bright square sits in: clean labels."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 4
    X = 0.1 * torch.randn(n, 1, 8, 8, generator=g)
    for k in range(4):
        row, col = divmod(k, 2)
        X[y == k, :, 4 * row : 4 * row + 3, 4 * col : 4 * col + 3] += 1.0
    return X, y


def test_a_data_remedy_that_beat_its_start_stays_though_the_overfitting_came_back():
    """Augmentation after which the network beat the best weights it started from helped:
    it stays for the next remedy to build on. One after which it never did is undone."""
    from trainwell.health import REMEDIES
    from trainwell.health._repair import Repairer
    from trainwell.health._treatment import Treatment
    from trainwell.train import AugmentedBatches

    X, y = _squares()
    for best_epoch, stays in ((5, True), (2, False)):
        trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16]}})
        trainer._train_batches = TensorBatches(X, y, 32)
        REMEDIES["augment"](trainer, rebuild)
        trainer.best.update(best_epoch, {trainer.best.monitor: 0.5}, trainer.model)
        repairer = Repairer(trainer, rebuild, prior_loss=1.4)
        finding = Finding("overfitting", "warning", "training", "overfits")
        treatment = Treatment(finding, [], {"remedy": "augment", "cured": None}, 3)
        repairer._not_cured(treatment, "the problem came back")
        assert isinstance(trainer._train_batches, AugmentedBatches) is stays
        assert ("kept" in treatment.record) is stays and ("undone" in treatment.record) is not stays
        assert rebuild.config.data.remedies == (["augment"] if stays else [])


def test_augment_wraps_the_images_where_they_are_held_is_undone_and_replayed():
    from torch.utils.data import DataLoader, TensorDataset

    from trainwell.health import REMEDIES
    from trainwell.health._rebuild import NotApplicable
    from trainwell.health._repair import Repairer
    from trainwell.health._treatment import Treatment
    from trainwell.train import AugmentedBatches, ShardedBatches
    from trainwell.train._control import replay_data_changes

    X, y = _squares()
    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16]}})
    rows = TensorBatches(X, y, 32)
    trainer._train_batches = ShardedBatches(rows, 0, 1)
    assert "rotations, shifts" in REMEDIES["augment"](trainer, rebuild)
    assert rebuild.config.data.remedies == ["augment"]
    sharded = trainer._train_batches  # shares out augmented rows, as a config's remedy does
    assert isinstance(sharded, ShardedBatches) and isinstance(sharded.batches, AugmentedBatches)
    moved, labels = next(iter(sharded))
    assert torch.cdist(moved.flatten(1), X.flatten(1)).min() > 0.1 and labels.dtype == torch.long
    with pytest.raises(NotApplicable, match="already"):
        REMEDIES["augment"](trainer, rebuild)
    # judged not cured: the rows are seen as they are again, and the config stops asking
    repairer = Repairer(trainer, rebuild, prior_loss=1.4)
    treatment = Treatment(Finding("overfitting", "warning", "training", "overfits"), [])
    treatment.record = {"remedy": "augment", "cured": None}
    repairer._not_cured(treatment, "the validation loss never got below its best")
    assert treatment.record["undone"] == "stopped augmenting the training images"
    assert sharded.batches is rows and rebuild.config.data.remedies == []
    # a resumed run replays the edits in order
    assert trainer._data_changes == [{"augment": True}, {"augment": False}]
    trainer._train_batches, trainer._data_changes = ShardedBatches(rows, 0, 1), []
    replay_data_changes(trainer, [{"augment": True}])
    assert isinstance(trainer._train_batches.batches, AugmentedBatches)
    # table rows, and batches not held in memory: nothing it can augment
    for batches in (TensorBatches(X.flatten(1), y, 32), DataLoader(TensorDataset(X, y))):
        trainer._train_batches = batches
        with pytest.raises(NotApplicable, match="needs images held in memory"):
            REMEDIES["augment"](trainer, rebuild)


@pytest.mark.parametrize("images", [True, False])
def test_overfitting_on_images_gets_augmentation_before_regularisation(images):
    """Clean labels: the label check finds nothing to drop. Images are augmented next;
    table rows, which no change is known to keep the labels of, are regularised."""
    X, y = _squares()
    if not images:
        X = X.flatten(1)
    spec = {"arch": "cnn", "channels": [4]} if images else {"hidden": [16]}
    cfg = RunConfig.model_validate(
        {"model": spec, "train": {"optimizer": "adam", "lr": 1e-3, "epochs": 6}}
    )
    shape = tuple(X.shape[1:])
    rebuild = Rebuild(
        cfg, lambda s: build_model(s, shape, 4, regression=False), make_optimizer, lambda *_: None
    )
    net = rebuild.model(cfg.model)
    overfits = _OverfitsAt(1)
    doctor = DoctorCallback(every=4, mode="repair", rebuild=rebuild)
    trainer = Trainer(
        net, make_optimizer(cfg.train, net), epochs=6, n_classes=4, callbacks=[doctor, overfits]
    )
    trainer.fit(TensorBatches(X, y, 32), TensorBatches(X, y, 256, shuffle=False))
    record = next(r for r in doctor.repairs if r["finding"] == "overfitting")
    assert overfits.remedy == record["remedy"] == ("augment" if images else "regularize")
    assert record["skipped"][0].startswith("drop_label_issues: only")
    assert (trainer._data_changes[:1] == [{"augment": True}]) is images


def test_input_norm_repair_keeps_a_feature_measured_in_small_units(out, tmp_path):
    """Unscaled columns, the label carried by a concentration in mol/l (std 1e-3) beside a
    pressure in Pa: the repair's input norm must pass the concentration on at the scale of
    the others (batch norm with eps 1 shrank it 1000x: 0.50 test accuracy after repair)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 4)) * [1e-3, 0.5, 2e3, 1e4] + [4e-3, 7.0, 2e4, 1e5]
    frame = pd.DataFrame(X, columns=["conc_mol_l", "ph", "flow_l_h", "pressure_pa"])
    noisy = X[:, 0] + rng.normal(scale=2e-4, size=1500)
    frame["state"] = np.where(noisy > 4e-3, "fault", "ok")
    frame.to_csv(tmp_path / "reactor.csv", index=False)
    source = str(tmp_path / "reactor.csv")
    config = {
        "data": {"source": source, "target": "state", "standardize": False, "audit": False},
        "model": {"hidden": [64, 64]},
        "train": {"epochs": 12},
    }
    assert trainwell.fit(config, doctor__mode="detect").metrics["test_accuracy"] < 0.6
    run = trainwell.fit(config, doctor__mode="repair")
    assert [r["remedy"] for r in run.repairs] == ["input_norm"]
    assert run.metrics["test_accuracy"] > 0.9


@pytest.mark.parametrize(
    ("data", "lr", "learns"),
    [("diabetes", 1e-5, False), ("diabetes", 0.01, True), ("digits", 1e-5, True)],
)
def test_an_explosion_cured_into_a_network_that_never_learns_is_not_cured(out, data, lr, learns):
    """Eight GELU layers drawn at std 0.3: the gradients explode from the first step, and He
    init (with batch norm) cures that. Under SGD at 1e-5 the regression re-initialised never
    learns (its loss above predicting the targets' mean): that is no cure, and the next
    remedy (Adam) follows; at 0.01, or on digits, it learns and the first remedy stands."""
    config = {
        "data": {"source": data},
        "model": {
            "arch": "mlp",
            "hidden": [64] * 8,
            "activation": "gelu",
            "init": {"weights": "normal", "std": 0.3},
        },
        "train": {"optimizer": "sgd", "lr": lr, "momentum": 0.9, "batch_size": 32, "epochs": 20},
    }
    run = trainwell.fit(config, doctor__mode="repair")
    first = run.repairs[0]
    assert (first["finding"], first["remedy"]) == ("exploding_gradient", "he_init"), run.repairs
    assert first["cured"] is learns, run.repairs
    if not learns:
        assert "predicting the targets' mean" in first["why_not"]
        assert run.repairs[1]["remedy"] == "clip_and_adam"


def _rebuilt_after_its_best(code: str, later_accuracy: float):
    """A network whose best epoch (2) scored 0.9, rebuilt by `he_init` for `code` at epoch
    4; the new network's best is `later_accuracy` at epoch 8. Returns the repairer, the
    first network's best weights, and the new network."""
    from trainwell.health._repair import Repairer

    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16]}})
    trainer.epochs = 20
    trainer.best.update(2, {"val_accuracy": 0.9}, trainer.model)
    first_best = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.epoch = 4
    repairer = Repairer(trainer, rebuild)
    repairer._apply("he_init", code)
    repairer.repairs.append({"finding": code, "remedy": "he_init", "cured": True})
    new = trainer.model
    trainer.best.update(8, {"val_accuracy": later_accuracy}, new)
    return repairer, first_best, new


@pytest.mark.parametrize("later_accuracy", [0.8, 0.95])
def test_a_rebuilt_network_that_never_beats_the_one_it_replaced_is_not_kept(later_accuracy):
    """A network rebuilt for a finding (late, or wrongly) can fall short of the one it
    replaced in the epochs it has left: the run ends on the better of the two, with the
    config that built it. A rebuilt network that beats it is kept, as before."""
    repairer, first_best, new = _rebuilt_after_its_best("dying_relu", later_accuracy)
    trainer, rebuild = repairer.trainer, repairer.rebuild
    assert rebuild.config.model.init.weights == "he"
    kept = repairer.keep_the_best({"epoch": 10, "val_accuracy": 0.5})
    record = repairer.repairs[0]
    if later_accuracy > 0.9:
        assert trainer.model is new and kept.epoch == 8 and "kept_network" not in record
        assert rebuild.config.model.init.weights == "he"
        return
    assert trainer.model is not new and kept.epoch == 2 == trainer.kept_epoch
    state = trainer.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in first_best.items())
    assert rebuild.config.model.init.weights != "he"  # the config that built it
    assert (
        record["kept_epoch"] == 2
        and "0.9 at epoch 2, the best after it 0.8" in (record["kept_network"])
    )
    assert kept.code == "dying_relu" and kept.words.startswith(
        "No network after he_init beat the one it replaced"
    )


def test_a_network_replaced_for_a_runaway_is_never_returned_to():
    """Weights flying off are no model to return to, whatever their best epoch scored."""
    repairer, _, new = _rebuilt_after_its_best("exploding_gradient", 0.8)
    assert repairer.earlier is None
    kept = repairer.keep_the_best({"epoch": 10, "val_accuracy": 0.5})
    assert repairer.trainer.model is new and kept.epoch == 8


def test_the_network_a_remedy_replaced_survives_a_resume(tmp_path):
    """Killed after the rebuild, the run resumes still able to end on the replaced network."""
    from trainwell.health._repair import Repairer

    repairer, first_best, _ = _rebuilt_after_its_best("dying_relu", 0.8)
    path = tmp_path / "state.pt"
    torch.save(repairer.state_dict([]), path)
    trainer, rebuild, _ = _trainer_for({"model": {"hidden": [16], "init": {"weights": "he"}}})
    trainer.best.update(8, {"val_accuracy": 0.8}, trainer.model)
    resumed = Repairer(trainer, rebuild)
    resumed.load_state_dict(torch.load(path, weights_only=True), [])
    assert resumed.keep_the_best({"epoch": 10}).epoch == 2
    state = trainer.model.state_dict()
    assert all(torch.equal(state[k], v) for k, v in first_best.items())


class _WrongRebuild(Callback):
    """At the end of epoch `at`, tells the doctor the healthy network underfits (a
    finding that was wrong); the network rebuilt for it then trains at a rate of 0 when `stuck`."""

    def __init__(self, at: int, stuck: bool) -> None:
        self.at, self.stuck = at, stuck

    def on_epoch_end(self, epoch: int, metrics: dict) -> None:
        if epoch != self.at:
            return
        (doctor,) = [c for c in self.trainer.callbacks.callbacks if isinstance(c, DoctorCallback)]
        wrong = Finding("underfitting", "warning", "training", "underfits", epoch=epoch)
        doctor.examiner.findings.append(wrong)  # as a rule's finding is
        doctor._treat([wrong], None)
        if self.stuck:
            for group in self.trainer.optimizer.param_groups:
                group["lr"] = 0.0


@pytest.mark.parametrize("stuck", [True, False])
def test_a_run_ends_on_the_network_a_rebuild_never_beat(out, stuck):
    """A healthy digits MLP rebuilt for a wrong finding, whose new network never learns: the
    run ends on the first network, saved with the config that builds it, and says so. One
    that learns beats it and is kept."""
    from sklearn.datasets import load_digits

    from trainwell.health._rebuild import REBUILDS_MODEL

    config = {
        "data": DIGITS,
        "model": {"hidden": [32]},
        "train": {"epochs": 10, "lr": 0.002},
    }
    run = trainwell.fit(config, doctor__mode="repair", callbacks=[_WrongRebuild(4, stuck)])
    (repair,) = [r for r in run.repairs if r["finding"] == "underfitting"]
    assert repair["remedy"] in REBUILDS_MODEL
    if not stuck:
        assert "kept_network" not in repair and run.config.model.hidden == [128]
        return
    assert "kept_network" in repair
    assert run.metrics["best_epoch"] == repair["kept_epoch"] <= 4
    assert run.metrics["test_accuracy"] > 0.85  # the first network's, not the stuck one's
    assert run.config.model == trainwell.load_run(run.run_dir).config.model
    asked = RunConfig.model_validate(config)
    assert (run.config.model, run.config.train) == (asked.model, asked.train)  # not the rebuild's
    (finding,) = [f for f in run.findings if f.code == "underfitting"]
    assert "No network after" in finding.message
    X = load_digits().data[:100]
    assert (trainwell.load_run(run.run_dir).predict(X) == run.predict(X)).all()
