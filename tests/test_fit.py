"""The Python API: fit, the run directory, load_run."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_iris
from torch import nn

import trainwell
from trainwell.train import Callback, default_monitor


def test_run_directory_has_every_file(out, iris_config):
    run = trainwell.fit(iris_config)
    names = {p.name for p in run.run_dir.iterdir()}
    assert {
        "config.yaml",
        "metrics.jsonl",
        "findings.json",
        "summary.json",
        "corruption.json",
        "model.pt",
        "data.json",
        "evaluation.json",
        "reference.npz",  # what `trainwell monitor` compares new rows with
    } <= names
    assert not [n for n in names if n.endswith(".tmp")]
    lines = (run.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [0, 1, 2]
    # a run of under 30 s that completes needs no checkpoint (it is not resumable anyway)
    assert not (run.run_dir / "checkpoints" / "last.pt").exists()
    evaluation = json.loads((run.run_dir / "evaluation.json").read_text())
    confusion = np.array(evaluation["test_confusion"])
    assert confusion.shape == (3, 3) and confusion.sum() == 30
    assert np.trace(confusion) / 30 == pytest.approx(run.metrics["test_accuracy"])


def test_keyword_overrides_and_config_objects(out, iris_config):
    run = trainwell.fit(iris_config, train__epochs=2, name="named")
    assert run.metrics["epochs"] == 2 and run.run_dir.name.startswith("named-")
    again = trainwell.fit(trainwell.load_config(iris_config), out=out / "elsewhere")
    assert again.run_dir.parent == out / "elsewhere"


def test_a_file_smaller_than_a_batch_trains_in_one_batch_an_epoch(out, tmp_path, capsys):
    X, y = load_iris(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(y))[:40]  # 24 training rows
    frame = {f"x{j}": X[rows, j] for j in range(4)} | {"label": y[rows]}
    source = tmp_path / "few.csv"
    pd.DataFrame(frame).to_csv(source, index=False)
    run = trainwell.fit({"data": {"source": str(source)}, "train": {"epochs": 4}})
    train_rows = json.loads((run.run_dir / "data.json").read_text())["sizes"]["train"]
    assert train_rows < 64  # the default batch size
    assert f"batch_size: {train_rows}" in (run.run_dir / "config.yaml").read_text()
    assert f"larger than the training split ({train_rows} rows)" in capsys.readouterr().err
    assert run.status == "completed" and run.metrics["epochs"] == 4


def test_same_seed_same_result(out, iris_config):
    first, second = trainwell.fit(iris_config), trainwell.fit(iris_config)
    assert first.metrics["val_loss"] == second.metrics["val_loss"]
    third = trainwell.fit(iris_config, seed=1)
    assert third.metrics["val_loss"] != first.metrics["val_loss"]


def test_load_run_predicts_like_the_trained_model(out, iris_config):
    run = trainwell.fit(iris_config, train__epochs=20)
    loaded = trainwell.load_run(run.run_dir)
    data = load_iris()
    predicted = loaded.predict(data.data)
    assert predicted.shape == (150,)
    assert np.mean(predicted == data.target) > 0.85
    np.testing.assert_array_equal(predicted, run.predict(data.data))
    assert loaded.status == "completed" and loaded.metrics == run.summary()["metrics"]


def test_load_run_never_unpickles_code(out, iris_config, tmp_path):
    run = trainwell.fit(iris_config)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save(
        {"state_dict": {}, "config": {}, "data": None, "x": Evil()}, run.run_dir / "model.pt"
    )
    with pytest.raises(trainwell.InputError, match="cannot load"):
        trainwell.load_run(run.run_dir)


def test_regression_run(out):
    run = trainwell.fit(
        {
            "data": {"source": "diabetes"},
            "model": {"hidden": [32]},
            "train": {"epochs": 40, "lr": 0.003, "batch_size": 32},
        }
    )
    assert {"val_mse", "val_mae", "val_r2", "test_mse", "test_mae", "test_r2"} <= set(run.metrics)
    assert run.metrics["test_r2"] > 0.3
    assert run.metrics["test_mae"] < 60  # in the target's own units (range 25..346)
    assert "test_accuracy" not in run.metrics


def test_a_users_own_module(out, iris_config):
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 3)

        def forward(self, x):
            return self.layer(x)

    run = trainwell.fit(iris_config, model=Tiny(), train__epochs=30)
    assert run.metrics["test_accuracy"] > 0.7
    with pytest.raises(
        trainwell.InputError, match=r"nn.Module \(Tiny\): .* load_run\(path, Tiny\(\)\)"
    ):
        trainwell.load_run(run.run_dir)
    loaded = trainwell.load_run(run.run_dir, model=Tiny())
    torch.testing.assert_close(loaded.model.layer.weight, run.model.layer.weight.cpu())


def test_divergence_ends_the_run_with_a_finding(out):
    run = trainwell.fit(
        {
            "data": {"source": "diabetes"},
            "model": {"hidden": [32]},
            "train": {"optimizer": "sgd", "lr": 1.0, "epochs": 5},
        }
    )
    assert run.status == "diverged" and run.metrics["epochs"] == 1
    summary = json.loads((run.run_dir / "summary.json").read_text())
    assert summary["status"] == "diverged"
    # the doctor sees the runaway loss at or before the step where it overflows
    assert summary["findings"][0]["step"] <= summary["metrics"]["diverged_step"]
    assert summary["findings"][0]["code"] == "divergence"
    assert "step" in summary["findings"][0]["message"]


def test_nan_inputs_diverge_at_the_first_step(out, iris_config):
    run = trainwell.fit(iris_config, data__corrupt={"nan_fraction": 0.01})
    assert run.status == "diverged" and run.metrics["diverged_step"] < 6  # in epoch 0
    metrics = run.summary()["metrics"]
    assert metrics["train_loss"] is None  # NaN is written as null
    # a NaN network scores nothing: its argmax's of NaN made the first class's share
    assert metrics["test_loss"] is None and metrics["test_accuracy"] is None
    assert metrics["test_macro_f1"] is None


def test_early_stopping_config(out):
    run = trainwell.fit(
        {
            "data": {"source": "wine"},
            "model": {"hidden": [64]},
            "train": {
                "epochs": 200,
                "lr": 0.01,
                "batch_size": 16,
                "early_stopping": {"monitor": "val_loss", "patience": 3},
            },
        }
    )
    assert run.status == "stopped_early" and run.metrics["epochs"] < 200
    assert run.metrics["best_epoch"] == run.metrics["epochs"] - 4


def test_every_schedule_and_optimizer_runs(out, iris_config):
    for schedule in ("cosine", "onecycle", "step", "plateau"):
        for optimizer in ("sgd", "adamw"):
            run = trainwell.fit(
                iris_config,
                train__epochs=6,
                train__schedule=schedule,
                train__optimizer=optimizer,
                train__accumulate=2,
                train__weight_decay=0.01,
                train__l1=1e-4,
            )
            assert run.status == "completed", (schedule, optimizer)
            lrs = [row["lr"] for row in run.history]
            losses = [row["train_loss"] for row in run.history]
            assert losses[-1] < losses[0], (schedule, optimizer)  # it trained
            if schedule == "step":  # x0.1 every epochs // 3 = 2 epochs
                assert lrs == pytest.approx([0.01, 0.01, 1e-3, 1e-3, 1e-4, 1e-4])
            elif schedule == "cosine":
                assert lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.1 * 0.01
            elif schedule == "onecycle":  # warms up to the peak, then anneals far below it
                assert lrs[0] < max(lrs) > 20 * lrs[-1]
            else:
                assert lrs[-1] <= 0.01


def test_corruption_json_is_the_ground_truth(out):
    run = trainwell.fit(
        {"data": {"source": "digits", "corrupt": {"label_noise": 0.1}}, "train": {"epochs": 1}}
    )
    record = json.loads((run.run_dir / "corruption.json").read_text())
    assert len(record["label_noise"]["rows"]) == round(0.1 * 1077)


def test_a_cnn_on_an_image_folder(out, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, axis in (("horizontal", 0), ("vertical", 1)):
        folder = tmp_path / "images" / label
        folder.mkdir(parents=True)
        for i in range(30):
            stripes = np.zeros((12, 12), dtype=np.uint8)
            index = [slice(None), slice(None)]
            index[axis] = slice(int(rng.integers(0, 3)), None, 3)
            stripes[tuple(index)] = 255
            noisy = np.clip(stripes + rng.normal(0, 30, stripes.shape), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).convert("RGB").save(folder / f"{i}.png")
    run = trainwell.fit(
        {
            "data": {"source": str(tmp_path / "images"), "image_size": [12, 12]},
            "model": {"arch": "cnn", "channels": [8], "hidden": [16]},
            "train": {"epochs": 15, "batch_size": 8, "lr": 0.01},
        }
    )
    assert run.info.input_shape == [3, 12, 12] and run.info.classes == ["horizontal", "vertical"]
    assert len(run.info.x_mean) == 3  # per channel
    assert run.metrics["test_accuracy"] >= 0.9
    loaded = trainwell.load_run(run.run_dir)
    image = np.asarray(Image.open(tmp_path / "images" / "vertical" / "0.png"), dtype=np.float32)
    assert loaded.predict(image.transpose(2, 0, 1)[None] / 255).tolist() == [1]


def test_report_is_written_unless_asked_not_to(out, iris_config):
    assert (trainwell.fit(iris_config).run_dir / "report.html").is_file()
    assert not (trainwell.fit(iris_config, report=False).run_dir / "report.html").exists()


def test_checkpoints_follow_checkpoint_every(out, iris_config):
    run = trainwell.fit(iris_config, train__checkpoint_every=0, report=False)
    state = torch.load(run.run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert state["epoch"] == 3  # after every epoch, the last included


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_the_update_is_fused_and_does_the_arithmetic_of_torchs_default(optimizer):
    """One fused kernel for the update where torch has one; the same step as its default
    (to rounding). A parameter type without fused kernels gets torch's default."""
    from torch import nn

    from trainwell.config import Train
    from trainwell.train import make_optimizer

    spec = Train(optimizer=optimizer, lr=0.1, weight_decay=0.01)
    weights = []
    for fused in (True, None):
        torch.manual_seed(0)
        model = nn.Linear(4, 3)
        made = make_optimizer(spec, model)
        assert made.defaults["fused"] is True
        if fused is None:  # the same optimizer as torch builds it by default
            options = {k: v for k, v in made.defaults.items() if k != "decoupled_weight_decay"}
            made = type(made)(model.parameters(), **(options | {"fused": None}))
        initial = model.weight.detach().clone()
        for _ in range(3):
            made.zero_grad()
            model(torch.ones(2, 4)).square().sum().backward()
            made.step()
        weights.append(model.weight.detach().clone())
    assert torch.allclose(weights[0], weights[1], atol=1e-6)
    assert not torch.equal(weights[0], initial)  # it stepped
    complex_model = nn.Linear(4, 3, dtype=torch.complex64)
    assert make_optimizer(spec, complex_model).defaults["fused"] is None


class _Monitor(Callback):
    """Notes what the Trainer chooses its best epoch by."""

    def on_fit_start(self) -> None:
        self.monitor = self.trainer.best.monitor


@pytest.mark.parametrize(("rare", "monitor"), [(0.02, "val_macro_f1"), (0.3, "val_accuracy")])
def test_the_best_epoch_of_imbalanced_classes_is_chosen_by_macro_f1(out, tmp_path, rare, monitor):
    """At 98:2 a network that learned nothing scores 0.98 accuracy: chosen by accuracy, its
    first epoch beat every later one that learned the rare class, and repairs judged
    against it put it back (test macro F1 0.94 -> 0.75). Balanced: by accuracy, as before."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4))
    y = (rng.random(1000) < rare).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)
    frame.to_csv(tmp_path / "rare.csv", index=False)
    noted = _Monitor()
    config = {"source": str(tmp_path / "rare.csv"), "target": "label", "audit": False}
    trainwell.fit({"data": config, "train": {"epochs": 1}}, callbacks=[noted])
    assert noted.monitor == monitor
    assert default_monitor("regression", [980, 20]) == "val_loss"
