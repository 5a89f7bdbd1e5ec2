"""A loop that passes `doctor.epoch_end` its last batch's loss: the curve is judged on the
epoch's mean, which the doctor read step by step, not on one batch's noise."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health._loop_epoch_loss import EpochLosses


def _loop(lr: float, spike: float, passed: str, epochs: int = 8) -> trainwell.Doctor:
    """A digits-sized MLP under SGD; the loss of epoch 0's last batch carries `spike` (a
    constant: no gradient), as a noisy batch does; `passed`: what the loop hands
    `epoch_end`, its last batch's loss or its epoch's mean."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(640, 20, generator=g)
    y = (X[:, :5] @ torch.randn(5, 4, generator=g)).argmax(1)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr)
    doctor = trainwell.Doctor(model, optimizer, epochs=epochs)
    for epoch in range(epochs):
        losses = []
        for i in range(0, len(X), 32):
            loss = F.cross_entropy(model(X[i : i + 32]), y[i : i + 32])
            if epoch == 0 and i + 32 >= len(X):
                loss = loss + spike
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            losses.append(loss.item())
        doctor.epoch_end(losses[-1] if passed == "last" else sum(losses) / len(losses))
    return doctor


def _codes(doctor: trainwell.Doctor) -> list[str]:
    return [f.code for f in doctor.findings if f.severity != "info"]


@pytest.mark.parametrize("passed", ["last", "mean"])
def test_a_stalled_loss_is_told_whatever_its_last_batch_said(passed):
    """At a rate of 1e-5 the loss does not move; epoch 0's last batch 0.8 above it read as
    a 25% fall from the first epoch's loss to the next, and the stall went untold."""
    doctor = _loop(lr=1e-5, spike=0.8, passed=passed)
    assert "slow_convergence" in _codes(doctor)
    first = doctor.examiner.histories[0].curve("train_loss")[0]
    assert first < 1.6, first  # the epoch's mean (ln 4 = 1.39, and the spike over 20 steps)


def test_a_learning_loop_passing_its_last_batch_is_not_told_slow():
    doctor = _loop(lr=0.3, spike=0.0, passed="last")
    assert "slow_convergence" not in _codes(doctor)


def test_the_mean_replaces_only_the_last_value_read():
    losses = EpochLosses()
    for value in (2.0, 1.0, 3.0):
        losses.read(value)
    assert losses.epoch_loss(3.0) == pytest.approx(2.0)  # the last batch's: the mean
    for value in (2.0, 1.0, 3.0):
        losses.read(value)
    assert losses.epoch_loss(2.5) == 2.5  # the loop's own figure (a mean over other rows)
    losses.read(2.0)
    losses.read(None)  # off a CPU a step's loss is not read: nothing to average
    assert losses.epoch_loss(2.0) == 2.0
    losses.read(1.0)
    losses.read(math.nan)
    assert math.isnan(losses.epoch_loss(math.nan))  # a bad loss stays what it was
    losses.read(1.0)  # each epoch starts afresh
    assert losses.epoch_loss(5.0) == 5.0  # one step: nothing to average
