"""Dead ReLU units that a rate too high killed, told apart from units dead from the start,
in a hand-written loop: the first are cured by a lower rate, the second by their bias."""

import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch import nn

import trainwell


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    return torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32), torch.tensor(y)


def _train(arch: str, lr: float, bias: float | None, mode: str) -> tuple[trainwell.Doctor, float]:
    """An MLP or a small CNN on digits under SGD (momentum 0.9) at `lr`, its hidden biases
    set to `bias` where given; returns the doctor and the training accuracy."""
    torch.manual_seed(0)
    X, y = _digits()
    if arch == "mlp":
        model = nn.Sequential(
            nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)
        )
    else:
        X = X.view(-1, 1, 8, 8)
        model = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(8 * 64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )
    if bias is not None:
        for layer in list(model)[:-1]:
            if isinstance(layer, nn.Linear | nn.Conv2d):
                nn.init.constant_(layer.bias, bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    doctor = trainwell.Doctor(model, optimizer, epochs=8, mode=mode)
    for epoch in range(8):
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(epoch))
        total = 0.0
        for i in range(0, len(y), 32):
            rows = order[i : i + 32]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / -(-len(y) // 32))
    doctor.close()
    with torch.no_grad():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
    return doctor, accuracy


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_units_a_high_rate_killed_get_a_lower_rate_first(arch):
    """SGD at 0.2 with momentum: the units are alive at step 0 and dead within epochs. Told
    that the steps killed them, and treated with a lower rate first (the CNN got its biases
    zeroed first, which left it to die again: 0.98 after both)."""
    detected, plain = _train(arch, 0.2, None, "detect")
    dead = [f for f in detected.findings if f.code == "dying_relu"]
    assert dead and dead[0].evidence["killed_in_training"], detected.findings
    assert "the steps knocked them off" in dead[0].message
    repaired, accuracy = _train(arch, 0.2, None, "repair")
    assert [r["remedy"] for r in repaired.repairs] == ["lower_lr"]
    assert accuracy > plain + 0.5, (plain, accuracy)


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_units_dead_from_a_negative_bias_are_not_told_killed_by_the_steps(arch):
    """Hidden biases of -3 at a sane rate: dead from the first step. Their bias is the cause:
    zeroed, they learn; no lower rate."""
    detected, _ = _train(arch, 0.01, -3.0, "detect")
    dead = [f for f in detected.findings if f.code == "dying_relu"]
    assert dead and not dead[0].evidence["killed_in_training"], detected.findings
    assert dead[0].evidence["dead_at_start"] >= 0.9
    repaired, accuracy = _train(arch, 0.01, -3.0, "repair")
    assert [r["remedy"] for r in repaired.repairs] == ["zero_biases"] and accuracy > 0.9
