"""The Trainer with users' own models, optimizers, losses and DataLoaders."""

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from trainwell import Callback, EarlyStopping, TensorBatches, Trainer


def _problem(n=256, d=10, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    w = torch.randn(d, classes, generator=g)
    return X, (X @ w).argmax(1)


def _net(d=10, classes=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, classes))


def _loader(X, y, batch=32, shuffle=True):
    return DataLoader(TensorDataset(X, y), batch_size=batch, shuffle=shuffle)


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_fit_start(self):
        self.events.append("fit_start")

    def on_epoch_start(self, epoch):
        self.events.append(f"epoch_start {epoch}")

    def on_epoch_end(self, epoch, metrics):
        self.events.append(f"epoch_end {epoch}")

    def on_fit_end(self, result):
        self.events.append(f"fit_end {result.status}")


def test_trains_a_users_model_on_a_dataloader():
    X, y = _problem()
    model = _net()
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 0.01),
        nn.CrossEntropyLoss(),
        epochs=15,
        device="cpu",
    )
    result = trainer.fit(_loader(X, y), _loader(X, y, shuffle=False))
    assert result.status == "completed" and result.epochs == 15
    assert result.history[-1]["train_loss"] < 0.5 * result.history[0]["train_loss"]
    assert result.history[-1]["val_accuracy"] > 0.9
    assert result.steps == 15 * 8 and result.samples_per_second > 0


def test_a_stream_without_a_length_trains_with_the_doctor():
    """A DataLoader over an IterableDataset has `__len__`, which raises: the doctor read the
    epoch's length at fit start and the run died there."""
    from torch.utils.data import DataLoader, IterableDataset

    from trainwell.health import DoctorCallback

    X, y = _problem()

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(zip(X, y, strict=True))

    model = _net()
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 0.01),
        nn.CrossEntropyLoss(),
        epochs=2,
        callbacks=[DoctorCallback()],
    )
    result = trainer.fit(DataLoader(Stream(), batch_size=32))
    assert result.status == "completed" and trainer.steps_per_epoch is None


def test_events_arrive_in_order():
    X, y = _problem(n=64)
    recorder = Recorder()
    model = _net()
    Trainer(model, torch.optim.SGD(model.parameters(), 0.1), epochs=2, callbacks=[recorder]).fit(
        _loader(X, y)
    )
    assert recorder.events == [
        "fit_start",
        "epoch_start 0",
        "epoch_end 0",
        "epoch_start 1",
        "epoch_end 1",
        "fit_end completed",
    ]


def test_per_batch_hooks_are_skipped_unless_overridden():
    trainer = Trainer(_net(), torch.optim.SGD(_net().parameters(), 0.1), callbacks=[Recorder()])
    assert trainer.callbacks.after_backward == [] and trainer.callbacks.batch_end == []


def test_after_backward_sees_gradients_before_the_optimizer_step():
    X, y = _problem(n=64)
    model = _net()
    seen = []

    class Probe(Callback):
        def on_after_backward(self, step, loss):
            weight = self.trainer.model[0].weight
            seen.append((step, weight.grad is not None, weight.detach().clone()))

        def on_batch_end(self, step, loss):
            seen.append((step, "after", self.trainer.model[0].weight.detach().clone()))

    Trainer(model, torch.optim.SGD(model.parameters(), 0.5), epochs=1, callbacks=[Probe()]).fit(
        _loader(X, y, batch=32)
    )
    assert [s[0] for s in seen] == [0, 0, 1, 1]
    assert seen[0][1] is True
    assert not torch.equal(seen[0][2], seen[1][2])  # the step happened between the two hooks


def test_gradient_accumulation_matches_a_larger_batch():
    X, y = _problem(n=64)
    weights = []
    for batch, accumulate in ((64, 1), (16, 4)):
        model = _net()
        Trainer(
            model, torch.optim.SGD(model.parameters(), 0.1), epochs=1, accumulate=accumulate
        ).fit(TensorBatches(X, y, batch, shuffle=False))
        weights.append(model[0].weight.detach())
    torch.testing.assert_close(weights[0], weights[1], rtol=1e-4, atol=1e-6)


def test_gradient_clipping_bounds_the_update():
    X, y = _problem(n=32)
    updates = {}
    for clip in (None, 1e-3):
        model = _net()
        before = [p.detach().clone() for p in model.parameters()]
        Trainer(model, torch.optim.SGD(model.parameters(), 1.0), epochs=1, grad_clip=clip).fit(
            TensorBatches(X, y, 32)
        )
        updates[clip] = torch.cat(
            [
                (p.detach().cpu() - b).flatten()
                for p, b in zip(model.parameters(), before, strict=True)
            ]
        )
    assert float(updates[1e-3].norm()) == pytest.approx(1e-3, rel=1e-3)  # lr 1 * clipped norm
    assert float(updates[None].norm()) > 0.01


def test_l1_penalty_shrinks_weights_and_is_reported_apart():
    """The epoch's train_loss holds the penalty; `train_penalty` says how much of it, so the
    doctor can judge the fit to the data."""
    X, y = _problem()
    norms, rows = [], []
    for l1 in (0.0, 0.01):
        model = _net()
        result = Trainer(model, torch.optim.Adam(model.parameters(), 0.01), epochs=10, l1=l1).fit(
            TensorBatches(X, y, 32)
        )
        norms.append(float(model[0].weight.detach().abs().sum()))
        rows.append(result.history[0])
    assert norms[1] < 0.7 * norms[0]
    assert "train_penalty" not in rows[0]
    weights = [p for p in _net().parameters() if p.dim() > 1]
    assert 0 < rows[1]["train_penalty"] < rows[1]["train_loss"]
    assert (
        rows[1]["train_penalty"] < 0.01 * sum(float(w.detach().abs().sum()) for w in weights) * 1.5
    )


def test_a_huge_learning_rate_diverges_without_crashing():
    X, y = _problem()
    model = _net()
    result = Trainer(model, torch.optim.SGD(model.parameters(), lr=1e12), epochs=5).fit(
        TensorBatches(X, y, 32), TensorBatches(X, y, 64, shuffle=False)
    )
    assert result.status == "diverged"
    assert result.diverged_step is not None and result.diverged_step < 8
    assert "non-finite" in result.stop_reason and result.epochs == 1
    assert math.isnan(result.history[-1]["train_loss"])


def test_a_healthy_run_does_not_diverge():
    X, y = _problem()
    model = _net()
    result = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3).fit(
        TensorBatches(X, y, 32)
    )
    assert result.status == "completed" and result.diverged_step is None


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = _problem(n=64)
    Xv, yv = _problem(n=64, seed=1)  # labels from another rule: val loss rises as it overfits
    model = _net()
    stopper = EarlyStopping("val_loss", patience=2)
    kept = {}

    class Keep(Callback):
        def on_epoch_end(self, epoch, metrics):
            kept[epoch] = {k: v.clone() for k, v in self.trainer.model.state_dict().items()}

    result = Trainer(
        model, torch.optim.Adam(model.parameters(), 0.05), epochs=100, callbacks=[stopper, Keep()]
    ).fit(TensorBatches(X, y, 16), TensorBatches(Xv, yv, 64, shuffle=False))
    assert result.status == "stopped_early" and result.epochs < 100
    assert result.epochs == stopper.best_epoch + 1 + 2
    losses = [row["val_loss"] for row in result.history]
    assert stopper.best_epoch == losses.index(min(losses))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, kept[stopper.best_epoch][key])


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains(precision, device):
    X, y = _problem()
    model = _net()
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 0.01),
        epochs=8,
        precision=precision,
        device=device,
    )
    result = trainer.fit(TensorBatches(X, y, 32), TensorBatches(X, y, 256, shuffle=False))
    assert result.status == "completed"
    assert result.history[-1]["val_accuracy"] > 0.8
    assert (trainer.scaler is not None) == (precision == "fp16")


def test_schedules_move_the_learning_rate():
    X, y = _problem(n=64)
    model = _net()
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    result = Trainer(model, optimizer, epochs=3, scheduler=scheduler).fit(TensorBatches(X, y, 32))
    assert [row["lr"] for row in result.history] == pytest.approx(
        [0.1, 0.05, 0.025]
    )  # used in each epoch
    model = _net()
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    onecycle = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=4)
    trainer = Trainer(model, optimizer, epochs=2, scheduler=onecycle)
    trainer.fit(TensorBatches(X, y, 32))
    assert onecycle.last_epoch == 4  # stepped per batch, not per epoch


def test_regression_with_the_default_loss():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(256, 5, generator=g)
    y = X @ torch.randn(5, generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 1), nn.Flatten(0))
    result = Trainer(
        model, torch.optim.Adam(model.parameters(), 0.05), epochs=30, task="regression"
    ).fit(TensorBatches(X, y, 32), TensorBatches(X, y, 256, shuffle=False))
    assert result.history[-1]["val_r2"] > 0.95
    assert set(result.history[-1]) >= {"val_mse", "val_mae", "val_r2", "val_loss"}


def test_control_surface():
    X, y = _problem(n=64)
    model = _net()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1), epochs=50)
    trainer.set_lr(0.01)
    assert trainer.lr == 0.01

    class StopAtTwo(Callback):
        def on_epoch_end(self, epoch, metrics):
            if epoch == 1:
                self.trainer.request_stop("enough")

    trainer.callbacks = type(trainer.callbacks)([StopAtTwo()])
    result = trainer.fit(TensorBatches(X, y, 32))
    assert (result.status, result.stop_reason, result.epochs) == ("stopped_early", "enough", 2)
    adam = torch.optim.Adam(model.parameters(), 0.001)
    trainer.replace_optimizer(adam)
    assert trainer.optimizer is adam and trainer.lr == 0.001


@pytest.mark.filterwarnings("ignore:A single label was found")
def test_classification_metrics_equal_scikit_learns():
    from sklearn.metrics import confusion_matrix, f1_score

    from trainwell.train._evaluate import _classification

    rng = np.random.default_rng(0)
    for trial in range(200):
        k = int(rng.integers(2, 12))
        true = rng.integers(0, k, size=int(rng.integers(1, 60)))
        predicted = np.where(rng.random(len(true)) < 0.6, true, rng.integers(0, k, len(true)))
        n_classes = k if trial % 2 else 0
        labels = list(range(k)) if n_classes else None
        result = _classification(0.0, true, predicted, n_classes)
        assert result.metrics["macro_f1"] == pytest.approx(
            f1_score(true, predicted, labels=labels, average="macro", zero_division=0)
        )
        assert result.confusion == confusion_matrix(true, predicted, labels=labels).tolist()
        assert result.metrics["accuracy"] == pytest.approx(np.mean(true == predicted))


class _LogitsAndPenalty(nn.Module):
    """An output the loss unpacks: logits and an auxiliary term."""

    def __init__(self):
        super().__init__()
        self.net = _net(classes=2)

    def forward(self, x):
        logits = self.net(x)
        return logits, logits.pow(2).mean()


def _unpacking_loss(out, y):
    logits, penalty = out
    return nn.functional.cross_entropy(logits, y) + 1e-3 * penalty


def _first_column_positive(out):
    return (out[:, 0] > 0).long()


@pytest.mark.parametrize(
    "form",
    ["integer targets", "tuple output", "one logit", "probabilities", "one-hot targets"],
)
def test_validation_reads_the_forms_of_output_and_target_torch_losses_take(form):
    X, y = _problem(n=300, classes=2)
    if form == "integer targets":
        model, loss, target, classes = _net(classes=2), nn.CrossEntropyLoss(), y, None
    elif form == "tuple output":
        model, loss, target = _LogitsAndPenalty(), _unpacking_loss, y
        classes = lambda out: out[0].argmax(1)  # noqa: E731
    elif form == "one logit":
        model, loss, target = _net(classes=1), nn.BCEWithLogitsLoss(), y.float()[:, None]
        classes = _first_column_positive
    elif form == "probabilities":
        model, loss = nn.Sequential(_net(classes=1), nn.Sigmoid()), nn.BCELoss()
        target, classes = y.float()[:, None], lambda out: (out[:, 0] > 0.5).long()
    else:
        model, loss = _net(classes=2), nn.CrossEntropyLoss()
        target, classes = nn.functional.one_hot(y, 2).float(), None
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 0.01), loss, epochs=3)
    result = trainer.fit(_loader(X[:200], target[:200]), _loader(X[200:], target[200:], 50))
    assert result.status == "completed"
    with torch.no_grad():
        out = model.eval()(X[200:].to(trainer.device))
    predicted = (classes or (lambda o: o.argmax(1)))(out).cpu()
    by_hand = float((predicted == y[200:]).float().mean())
    assert result.history[-1]["val_accuracy"] == pytest.approx(by_hand)
    assert by_hand > 0.8  # it learned: a reading of constant classes would not match


def test_regression_metrics_of_a_run_that_flew_off_are_finite_and_quiet():
    """Predictions of 1e30 from a float32 network: finite, but their squares overflow
    float32 (sklearn warned on every diverged regression); scored in float64 instead."""
    import warnings

    from trainwell.train._evaluate import _regression

    true = np.linspace(-1, 1, 8, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flown = _regression(1.0, true, np.full(8, 1e30, dtype=np.float32), (150.0, 75.0))
        exact = _regression(0.0, true, true.copy(), (150.0, 75.0))
    assert math.isfinite(flown.metrics["mse"]) and flown.metrics["r2"] < -1e50
    assert exact.metrics["r2"] == pytest.approx(1.0) and exact.metrics["mse"] < 1e-9


def _state_after_steps(trainer, batches, steps):
    """Train `steps` batches by hand; returns what they leave behind."""
    for (x, y), _ in zip(batches, range(steps), strict=False):
        trainer.optimizer.zero_grad()
        x, y = x.to(trainer.device), y.to(trainer.device)
        trainer.loss_fn(trainer.model(x), y).backward()
        trainer.optimizer.step()
        trainer.scheduler.step()
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


def test_a_snapshot_restores_everything_a_step_changes(device):
    X, y = _problem()
    model = _net().to(device)
    adam = torch.optim.Adam(model.parameters(), 0.01)
    schedule = torch.optim.lr_scheduler.StepLR(adam, step_size=2, gamma=0.5)
    trainer = Trainer(model, adam, scheduler=schedule, epochs=5, device=device)
    batches = TensorBatches(X, y, 32, seed=1)
    trainer._train_batches = batches
    _state_after_steps(trainer, iter(batches), 3)  # moments, a stepped schedule, a used order
    snapshot = trainer.snapshot()
    order = [y.tolist() for _, y in batches]
    expected = _state_after_steps(trainer, iter(batches), 4)
    noise, on_device, lr = torch.randn(3), torch.randn(3, device=device), trainer.lr

    trainer.restore(snapshot)
    assert [y.tolist() for _, y in batches] == order  # the data-order generator
    again = _state_after_steps(trainer, iter(batches), 4)  # same moments and schedule
    for key, value in expected.items():
        torch.testing.assert_close(again[key], value)
    assert trainer.lr == lr
    trainer.restore(snapshot)  # twice: the snapshot itself must not have moved on
    assert schedule.last_epoch == 3 and int(adam.state_dict()["state"][0]["step"]) == 3
    torch.testing.assert_close(torch.randn(3), noise)  # the CPU RNG is where it was
    torch.testing.assert_close(torch.randn(3, device=device), on_device)  # and the GPU's


def test_a_snapshot_restores_the_gradient_scaler(device):
    model = _net()
    trainer = Trainer(
        model, torch.optim.SGD(model.parameters(), 0.1), precision="fp16", device=device
    )
    trainer.scaler.scale(torch.ones((), device=device))  # its state starts with its first use
    scale = trainer.scaler.get_scale()
    snapshot = trainer.snapshot()
    trainer.scaler.update(new_scale=scale / 8)
    assert trainer.scaler.get_scale() == scale / 8
    trainer.restore(snapshot)
    assert trainer.scaler.get_scale() == scale


def test_a_snapshot_of_another_optimizer_is_refused():
    model = _net()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1, momentum=0.9))
    sgd_state = trainer.snapshot()
    trainer.replace_optimizer(torch.optim.Adam(model.parameters(), 0.001))
    with pytest.raises(ValueError, match="SGD optimizer into the live Adam"):
        trainer.restore(sgd_state)
    assert "betas" in trainer.optimizer.param_groups[0]  # nothing half-restored
    trainer.restore(trainer.snapshot())  # a snapshot of the live optimizer is fine


class _Meddler(Callback):
    """At the end of `epoch`, changes the model the way a remedy would."""

    def __init__(self, epoch, replace=False):
        self.epoch, self.replace = epoch, replace

    def on_epoch_end(self, epoch, metrics):
        if epoch != self.epoch:
            return
        if self.replace:
            model = _net(seed=7)
            self.trainer.replace_model(model, torch.optim.Adam(model.parameters(), 0.01))
        else:
            with torch.no_grad():
                for p in self.trainer.model.parameters():
                    p.mul_(0.0)


def test_best_weights_are_those_that_earned_the_metric():
    X, y = _problem()
    model = _net()
    val = TensorBatches(X, y, 256, shuffle=False)
    stopper = EarlyStopping(patience=100)
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 0.01),
        epochs=3,
        callbacks=[_Meddler(epoch=2), stopper],  # a "remedy" zeroes the weights at epoch 2
    )
    trainer.fit(TensorBatches(X, y, 32), val)
    assert stopper.best_epoch == 2
    assert any(w.abs().sum() > 0 for w in trainer.model.state_dict().values())
    recorded = trainer.history[2]["val_loss"]
    assert trainer.evaluate(val).metrics["loss"] == pytest.approx(recorded)


def test_a_classifier_keeps_its_most_accurate_epoch_and_the_loss_breaks_ties():
    """An overfitting classifier's validation loss climbs while its accuracy holds or rises:
    its best epoch is its most accurate, the lower loss deciding between equals. A
    regressor, or a user's early stopping on the loss, keeps the epoch of least loss."""
    model = _net()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1))
    epochs = [(0.60, 1.0), (0.70, 1.2), (0.70, 1.1), (0.70, 1.3), (0.65, 0.5)]
    kept = [
        trainer.best.update(epoch, {"val_accuracy": acc, "val_loss": loss}, model)
        for epoch, (acc, loss) in enumerate(epochs)
    ]
    assert kept == [True, True, True, False, False]
    assert (trainer.best.epoch, trainer.best.value) == (2, 0.70)
    for by_loss in (
        Trainer(model, torch.optim.SGD(model.parameters(), 0.1), task="regression"),
        Trainer(model, torch.optim.SGD(model.parameters(), 0.1), monitor="val_loss"),
    ):
        for epoch, (acc, loss) in enumerate(epochs):
            by_loss.best.update(epoch, {"val_accuracy": acc, "val_loss": loss}, model)
        assert by_loss.best.epoch == 4


def test_a_replaced_model_starts_a_new_best():
    X, y = _problem()
    model = _net()
    stopper = EarlyStopping(patience=100)
    trainer = Trainer(
        model,
        torch.optim.Adam(model.parameters(), 0.05),
        epochs=5,
        callbacks=[_Meddler(epoch=1, replace=True), stopper],
    )
    trainer.fit(TensorBatches(X, y, 32), TensorBatches(X, y, 256, shuffle=False))
    assert stopper.best_epoch >= 2  # never an epoch of the model that was replaced
    assert trainer.kept_epoch == stopper.best_epoch


class _RollBack(Callback):
    checks_inputs = True

    def __init__(self):
        self.calls = []

    def on_fit_start(self):
        self.healthy = self.trainer.snapshot()

    def on_nonfinite_loss(self, step, inputs_finite):
        self.calls.append((step, inputs_finite))
        batches = self.trainer._train_batches
        batches.X[~torch.isfinite(batches.X)] = 0.0
        self.trainer.restore(self.healthy)


def test_a_nonfinite_loss_is_offered_to_callbacks_before_the_run_diverges():
    X, y = _problem()
    X[100, 3] = math.nan  # one bad row
    for callbacks, status in (((), "diverged"), ((_RollBack(),), "completed")):
        model = _net()
        trainer = Trainer(
            model, torch.optim.SGD(model.parameters(), 0.1), epochs=2, callbacks=callbacks
        )
        result = trainer.fit(TensorBatches(X.clone(), y, 32, shuffle=False))
        assert result.status == status
    (step, inputs_finite), *_ = callbacks[0].calls
    assert step == 100 // 32 and inputs_finite is False
    assert math.isfinite(result.history[-1]["train_loss"])


def test_input_extremes_are_finite_exactly_when_the_inputs_are():
    from trainwell.train._losses import input_extremes

    def finite(x):
        return bool(torch.isfinite(torch.stack(input_extremes(x))).all())

    images = torch.rand(64, 1, 28, 28) * 255
    assert finite(images) and finite(images.half())
    assert finite(torch.full((56,), 9.96921e36))  # a fill value: summed, it would overflow
    for bad in (math.nan, math.inf, -math.inf):
        broken = images.clone()
        broken[7, 0, 3, 3] = bad
        assert not finite(broken)
    assert finite(torch.randint(0, 9, (4, 16))) and finite(torch.zeros(0, 3))  # ids, empty


def test_a_signal_during_a_fit_inside_a_fit_stops_the_outer_run_after_its_epoch():
    """The doctor's range test is a short fit inside the run's: a SIGTERM that lands in it
    must reach the run, which stops after its epoch (checkpoint first), not break out of
    the inner fit in the middle of the run's epoch."""
    import os
    import signal

    X, y = _problem()

    class SignalOnce(Callback):
        def on_batch_end(self, step, loss):
            if step == 0:
                os.kill(os.getpid(), signal.SIGTERM)

    class FitInside(Callback):
        def on_epoch_start(self, epoch):
            if epoch == 0:
                net = _net(seed=1)
                optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
                Trainer(net, optimizer, epochs=1, callbacks=[SignalOnce()]).fit(
                    TensorBatches(X, y, 32)
                )

    model = _net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    outer = Trainer(model, optimizer, epochs=3, callbacks=[FitInside()])
    with pytest.raises(KeyboardInterrupt, match="SIGTERM: stopped after epoch 0"):
        outer.fit(TensorBatches(X, y, 32))
    assert len(outer.history) == 1  # the run's epoch 0 ended before it stopped


def test_batches_augmented_mid_run_are_trained_on_from_the_next_epoch():
    """A remedy that augments the training batches (`Trainer.augment`) swaps what the loop
    iterates: the next epoch trains on moved images, and stopping gives the rows back."""
    X, y = torch.randn(64, 1, 8, 8), torch.arange(64) % 2
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    seen: dict[int, list[torch.Tensor]] = {}

    class Swap(Callback):
        def on_epoch_end(self, epoch, metrics):
            self.trainer.augment(on=epoch == 0)

    trainer = Trainer(
        model, torch.optim.SGD(model.parameters(), 0.01), epochs=3, callbacks=[Swap()]
    )
    model.register_forward_pre_hook(
        lambda _, args: seen.setdefault(trainer.epoch, []).append(args[0])
    )
    trainer.fit(TensorBatches(X, y, 16))

    def rows_of_x(inputs):
        return (
            torch.cdist(torch.cat(inputs).cpu().flatten(1), X.flatten(1)).min(1).values.max() < 0.1
        )

    assert rows_of_x(seen[0]) and not rows_of_x(seen[1]) and rows_of_x(seen[2])
    assert trainer._data_changes == [{"augment": True}, {"augment": False}]
    assert trainer.augment(on=False) is False  # nothing to stop
    assert not trainer.augmenting and trainer.augment() and trainer.augmenting


def test_the_doctor_reads_a_train_loss_as_the_val_loss_only_where_they_measure_alike():
    """Overfitting's gap between the val and train losses means something only where the
    train loss is the same criterion on the same kind of rows: not under dropout, on
    augmented images or with an L1 penalty added."""
    from trainwell.health._doctor import _train_as_val

    X, y = torch.randn(64, 1, 8, 8), torch.arange(64) % 2

    def trainer(model, **kwargs):
        built = Trainer(model, torch.optim.SGD(model.parameters(), 0.01), epochs=1, **kwargs)
        built.fit(TensorBatches(X, y, 16))
        return built

    plain = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    assert _train_as_val(trainer(plain))
    assert not _train_as_val(
        trainer(nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 2)))
    )
    assert _train_as_val(trainer(nn.Sequential(nn.Flatten(), nn.Dropout(0.0), nn.Linear(64, 2))))
    assert not _train_as_val(trainer(plain, l1=1e-4))
    augmented = trainer(plain)
    augmented.augment()
    assert not _train_as_val(augmented)


def test_a_run_augmented_mid_run_resumes_to_the_same_weights(tmp_path):
    """The checkpoint carries the swap: a resumed run augments from where it left off, with
    the same draws."""
    X, y = torch.randn(64, 1, 8, 8), torch.arange(64) % 2

    class AugmentAfterFirstEpoch(Callback):
        def on_epoch_end(self, epoch, metrics):
            if epoch == 0:
                self.trainer.augment()

    def run(epochs, resume_from=None, checkpoint_dir=None):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
        trainer = Trainer(
            model,
            torch.optim.SGD(model.parameters(), 0.1),
            epochs=epochs,
            callbacks=[AugmentAfterFirstEpoch()],
            checkpoint_dir=checkpoint_dir,
            checkpoint_every=0,
        )
        trainer.fit(TensorBatches(X, y, 16, seed=1), resume_from=resume_from)
        return model, trainer

    whole, _ = run(3)
    run(2, checkpoint_dir=tmp_path)
    torch.manual_seed(123)  # the checkpoint, not the caller, decides the draws
    resumed, trainer = run(3, resume_from=tmp_path / "last.pt")
    assert trainer._data_changes == [{"augment": True}]
    for a, b in zip(whole.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_schedule_replaced_at_an_epochs_last_step_advances_without_torchs_warning():
    """A remedy at the last step of an epoch gives the run a new optimizer and schedule that
    take no step before the epoch ends: the schedule still advances, silently (torch's
    warning that it stepped before the optimizer is spurious there)."""
    import warnings

    model = nn.Linear(4, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), epochs=4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    trainer.replace_optimizer(optimizer, torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, 4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer._epoch_scheduler_step({"train_loss": 1.0})
    assert [str(w.message) for w in caught] == []
    assert optimizer.param_groups[0]["lr"] < 0.1  # the schedule advanced


def test_a_last_batch_of_one_row_joins_the_one_before_so_batch_norm_can_train_on_it():
    from trainwell.train import batch_bounds

    assert batch_bounds(65, 32) == [(0, 32), (32, 65)]  # not (64, 65): one row
    assert batch_bounds(66, 32) == [(0, 32), (32, 64), (64, 66)]
    assert batch_bounds(1, 32) == [(0, 1)]  # one row in all: nothing to join
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(65, 4, generator=g), torch.randint(0, 2, (65,), generator=g)
    batches = TensorBatches(X, y, 32)
    assert len(batches) == 2 and sorted(len(b) for _, b in batches) == [32, 33]
    net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(net, torch.optim.SGD(net.parameters(), lr=0.1), epochs=2, n_classes=2)
    assert trainer.fit(batches, TensorBatches(X, y, 64, shuffle=False)).status == "completed"


class _Dicts(torch.utils.data.Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"x": self.X[i], "y": self.y[i]}


@pytest.mark.parametrize(
    ("form", "refused"),
    [
        ("DataLoader", None),
        ("list of pairs", None),
        ("generator, one epoch", None),
        ("dicts", "got a dict with keys \\['x', 'y'\\]"),
        ("(x, y, w)", "got a list of 3 items"),
        ("generator", "the training batches are an iterator \\(generator\\)"),
        ("validation generator", "the validation batches are an iterator"),
    ],
)
def test_batches_the_trainer_cannot_take_are_refused_in_one_line(form, refused):
    """Any iterable of (x, y) pairs trains, for as many epochs as asked; batches of another
    form, or an iterator that one pass uses up while more epochs are to read it, are refused
    before a step with a line that says what they are, not a raw unpacking error."""
    from trainwell.errors import InputError

    X, y = _problem(n=128)
    model = _net()
    epochs = 1 if form == "generator, one epoch" else 2
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 0.01), epochs=epochs)
    val = None
    if form == "DataLoader":
        train = _loader(X, y)
    elif form == "list of pairs":
        train = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 128, 32)]
    elif form.startswith("generator"):
        train = ((X[i : i + 32], y[i : i + 32]) for i in range(0, 128, 32))
    elif form == "dicts":
        train = DataLoader(_Dicts(X, y), batch_size=32)
    elif form == "(x, y, w)":
        train = DataLoader(TensorDataset(X, y, torch.ones(128)), batch_size=32)
    else:
        train, val = _loader(X, y), ((X[i : i + 64], y[i : i + 64]) for i in (0, 64))
    if refused:
        with pytest.raises(InputError, match=refused):
            trainer.fit(train, val)
        assert trainer.step == 0 and not trainer.history  # refused before a step
    else:
        result = trainer.fit(train, val)
        assert result.status == "completed" and len(result.history) == epochs
        assert trainer.step == epochs * 4


@pytest.mark.parametrize(
    "task, loss_fn, out, target",
    [
        ("regression", nn.MSELoss(), torch.randn(40, 1), torch.randn(40, 1)),
        ("regression", nn.MSELoss(), torch.randn(40, 3), torch.randn(40, 3)),
        ("classification", nn.BCEWithLogitsLoss(), torch.randn(40, 1), torch.rand(40, 1).round()),
        (
            "classification",
            nn.CrossEntropyLoss(label_smoothing=0.1),
            torch.randn(40, 4),
            torch.arange(40) % 4,
        ),
    ],
)
def test_evaluation_keeps_each_rows_loss_whose_mean_is_the_loss(task, loss_fn, out, target):
    """One loss per row, whatever the output's width, in the order of the batches; none for
    a loss summed over its rows, which is not their mean, nor for a pass of more rows than
    asked for."""
    from trainwell.train._evaluate import evaluate

    batches = [(out[:16], target[:16]), (out[16:], target[16:])]
    scored = evaluate(nn.Identity(), batches, loss_fn, task=task, rows=40)
    assert scored.row_losses.shape == (40,)
    assert float(scored.row_losses.mean()) == pytest.approx(scored.metrics["loss"], rel=1e-5)
    first = loss_fn(out[:1], target[:1]).item()
    assert float(scored.row_losses[0]) == pytest.approx(first, rel=1e-5)
    summed = type(loss_fn)(reduction="sum")
    assert evaluate(nn.Identity(), batches, summed, task=task, rows=40).row_losses is None
    assert evaluate(nn.Identity(), batches, loss_fn, task=task).row_losses is None
    assert evaluate(nn.Identity(), batches, loss_fn, task=task, rows=39).row_losses is None
    again = evaluate(nn.Identity(), batches, loss_fn, task=task, rows=40)
    assert again.row_order == scored.row_order
    turned = [(out[16:], target[16:]), (out[:16], target[:16])]
    assert evaluate(nn.Identity(), turned, loss_fn, task=task, rows=40).row_order != again.row_order

    class Unpacks(nn.Module):  # inputs that are not one tensor: no row to tell apart
        def forward(self, x):
            return x[0]

    paired = [((out[:16], out[:16]), target[:16]), ((out[16:], out[16:]), target[16:])]
    assert evaluate(Unpacks(), paired, loss_fn, task=task, rows=40).row_losses is None


def test_a_second_fit_pairs_its_own_validation_rows():
    """The rows of each fit's validation pass pair with that fit's first pass: a Trainer
    fit again on other validation rows keeps their losses (not none, as rows whose order
    differs from the last fit's first pass would be)."""
    from trainwell.train import TensorBatches, Trainer

    torch.manual_seed(0)
    X, y = torch.randn(60, 4), torch.arange(60) % 3
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    trainer = Trainer(model, torch.optim.Adam(model.parameters()), epochs=1)
    trainer.val_rows_kept = 100
    train = TensorBatches(X, y, 16, seed=0)
    trainer.fit(train, TensorBatches(X[:20], y[:20], 16, shuffle=False))
    assert len(trainer.val_row_losses) == 20
    trainer.epochs = 2
    trainer.fit(train, TensorBatches(X[20:50], y[20:50], 16, shuffle=False))
    assert trainer.val_row_losses is not None and len(trainer.val_row_losses) == 30


def test_rows_drawn_from_a_dataloader_stop_at_a_memory_cap(monkeypatch):
    """The doctor's reference draws up to 20,000 training rows from a DataLoader: a few MB
    of a table, 12 GB of 224x224 RGB images. The draw stops at `DRAWN_BYTES` of inputs;
    rows of a table within the cap are all drawn."""
    from trainwell.train import _control

    images = torch.randn(256, 3, 16, 16)  # 3 KB a row
    labels = torch.randint(0, 2, (256,))
    model = _net(768, 2)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1), epochs=1)
    trainer._train_batches = _loader(images, labels)
    monkeypatch.setattr(_control, "DRAWN_BYTES", 100 * 2**10)  # 33 rows
    X, _ = trainer.train_rows(1_000)
    assert len(X) == 64  # two batches of 32: the one that crossed the cap is kept
    table = torch.randn(256, 10)
    trainer._train_batches = _loader(table, labels)  # 40 bytes a row
    X, y = trainer.train_rows(1_000)
    assert len(X) == len(y) == 256
