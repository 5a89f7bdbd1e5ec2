"""An adaptive optimizer whose `eps` dwarfs its gradients (Adam(eps=1.0), a value copied
from a recipe for another optimizer): each step is the rate x gradient / eps, a tiny SGD,
and the loss barely moves. The doctor names eps as the cause of the slow convergence, and
a loop's doctor in repair mode sets it back to its default."""

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

import trainwell


def _loop(eps: float, mode: str = "detect", optimizer: str = "adam") -> tuple:
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y)
    Xv, yv, X, y = X[:300], y[:300], X[300:], y[300:]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    kind = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[optimizer]
    opt = kind(model.parameters(), lr=1e-3, eps=eps)
    doctor = trainwell.Doctor(model, opt, mode=mode)
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        order, total = torch.randperm(len(y), generator=g), 0.0
        for i in range(0, len(y), 64):
            rows = order[i : i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(X[rows]), y[rows])
            loss.backward()
            doctor.step(loss)
            opt.step()
            total += loss.item()
        with torch.no_grad():
            accuracy = (model(Xv).argmax(1) == yv).float().mean().item()
        doctor.epoch_end(total / -(-len(y) // 64), val_accuracy=accuracy)
    return doctor, accuracy


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_an_eps_that_dwarfs_the_gradients_is_named_as_the_cause(optimizer):
    doctor, _ = _loop(eps=1.0, optimizer=optimizer)
    slow = [f for f in doctor.findings if f.code == "slow_convergence"]
    assert slow and slow[0].evidence["optimizer_eps"] == 1.0, doctor.findings
    assert "The optimizer's eps (1) is" in slow[0].message
    assert "Raise the learning rate" not in slow[0].message


def test_repair_sets_eps_back_and_the_network_learns():
    _, stuck = _loop(eps=1.0)
    doctor, repaired = _loop(eps=1.0, mode="repair")
    assert [r["remedy"] for r in doctor.repairs] == ["default_eps"]
    assert doctor.optimizer.param_groups[0]["eps"] == 1e-8
    assert repaired >= stuck + 0.3 and repaired >= 0.8


def test_the_default_eps_is_left_alone():
    doctor, accuracy = _loop(eps=1e-8, mode="repair")
    assert not [f for f in doctor.findings if f.severity != "info"], doctor.findings
    assert accuracy >= 0.85


def _half_loop(eps: float, mode: str) -> tuple[trainwell.Doctor, float]:
    """`model.half()` and float16 inputs under Adam, on digits (stress 24's c13)."""
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float16), torch.tensor(y)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)).half()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=eps)
    doctor = trainwell.Doctor(model, opt, mode=mode)
    for _ in range(4):
        total = 0.0
        for i in range(0, len(y), 64):
            opt.zero_grad()
            loss = F.cross_entropy(model(X[i : i + 64]).float(), y[i : i + 64])
            loss.backward()
            doctor.step(loss)
            opt.step()
            total += loss.item()
        doctor.epoch_end(total / -(-len(y) // 64))
    with torch.no_grad():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
    return doctor, accuracy


def test_an_eps_float16_weights_round_to_0_is_named_and_raised():
    """Adam's eps of 1e-8 is 0 in float16: a weight whose gradients are 0 steps by 0 / 0,
    and the weights are NaN after the first step, which the doctor blamed on the backward
    pass (a square root at 0). Named, and repair raises eps to 1e-4."""
    doctor, _ = _half_loop(1e-8, "detect")
    nan = [f for f in doctor.findings if f.code == "divergence"]
    assert nan and nan[0].evidence["eps_underflows"] == 1e-8, doctor.findings
    assert "is 0 in float16" in nan[0].message and "backward pass made" not in nan[0].message
    doctor, accuracy = _half_loop(1e-8, "repair")
    assert [r["remedy"] for r in doctor.repairs] == ["raise_eps"] and accuracy >= 0.85


def test_an_eps_float16_keeps_is_left_alone():
    doctor, accuracy = _half_loop(1e-4, "repair")
    assert not [f for f in doctor.findings if f.severity != "info"], doctor.findings
    assert doctor.repairs == [] and accuracy >= 0.85
