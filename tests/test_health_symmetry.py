"""Units initialised alike (`symmetric_units`): weights set to zero or to one value keep a
layer's units identical for ever; layers zeroed on purpose, which the first step parts, are
not flagged; repair mode re-initialises the layers in place."""

import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

import trainwell


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / (X.std(0) + 1e-6)
    return torch.tensor(X, dtype=torch.float32)[:512], torch.tensor(y)[:512]


def build(arch: str, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    if arch == "mlp":
        return nn.Sequential(
            nn.Flatten(), nn.Linear(64, 64), activation(), nn.Linear(64, 64), activation(),
            nn.Linear(64, 10),
        )  # fmt: skip
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), activation(),
        nn.Conv2d(8, 8, 3, padding=1), activation(), nn.Flatten(), nn.Linear(8 * 64, 10),
    )  # fmt: skip


def initialise(model: nn.Sequential, how: str) -> None:
    """`zeros` / `constant`: every layer; `zero_head`: the classifier only (as ViTs do);
    `lora`: a low-rank update B @ A added to the first layer, B zero (as LoRA starts)."""
    layers = [m for m in model if isinstance(m, nn.Linear | nn.Conv2d)]
    with torch.no_grad():
        if how in ("zeros", "constant"):
            for layer in layers:
                layer.weight.fill_(0.0 if how == "zeros" else 0.05)
                layer.bias.zero_()
        elif how == "zero_head":
            layers[-1].weight.zero_()
            layers[-1].bias.zero_()


class LoRA(nn.Module):
    def __init__(self, base: nn.Sequential) -> None:
        super().__init__()
        self.base = base
        self.A = nn.Parameter(torch.randn(4, 64) * 0.1)
        self.B = nn.Parameter(torch.zeros(64, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return self.base(x + nn.functional.linear(x, self.B @ self.A))


def train(model: nn.Module, mode: str = "detect", epochs: int = 4) -> tuple[object, float]:
    X, y = digits()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    doctor = trainwell.Doctor(model, optimizer, mode=mode, every=4)
    generator = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        order, total = torch.randperm(len(y), generator=generator), 0.0
        for i in range(0, len(y), 32):
            rows = order[i : i + 32]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / (len(y) // 32))
    with torch.no_grad():
        accuracy = (model(X).argmax(1) == y).float().mean().item()
    return doctor, accuracy


def codes(doctor) -> list[str]:
    return [f.code for f in doctor.findings if f.severity != "info"]


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("how", ["zeros", "constant"])
def test_units_initialised_alike_are_found(arch, how):
    torch.manual_seed(0)
    model = build(arch, nn.Tanh)
    initialise(model, how)
    doctor, _ = train(model)
    found = [f for f in doctor.findings if f.code == "symmetric_units"]
    assert found and found[0].severity == "error"
    hidden = [f"{i}.weight" for i, m in enumerate(model) if isinstance(m, nn.Linear | nn.Conv2d)]
    assert set(hidden[:-1]) <= set(found[0].evidence["parameters"])
    assert found[0].step <= 5  # at the first check after a step
    assert "unused_parameters" not in codes(doctor)  # the zero gradients are its doing


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("how", ["default", "zero_head", "lora"])
def test_layers_zeroed_on_purpose_or_not_at_all_are_not_flagged(arch, how):
    torch.manual_seed(0)
    model = build(arch)
    initialise(model, how)
    doctor, accuracy = train(LoRA(model) if how == "lora" and arch == "mlp" else model)
    assert codes(doctor) == []
    assert accuracy > 0.9


def test_dead_units_of_a_zeroed_network_are_explained_not_treated_with_a_lower_rate():
    torch.manual_seed(0)
    model = build("mlp")
    initialise(model, "zeros")
    doctor, _ = train(model)
    dead = [f for f in doctor.findings if f.code == "dying_relu"]
    assert dead and dead[0].evidence["explained_by"] == "symmetric_units"
    assert "initialise them randomly" in dead[0].message


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Tanh])
def test_repair_reinitialises_the_alike_layers_in_place(activation):
    torch.manual_seed(0)
    model = build("mlp", activation)
    initialise(model, "zeros")
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    doctor, accuracy = train(model, mode="repair")
    (repair,) = [r for r in doctor.repairs if r["finding"] == "symmetric_units"]
    assert repair["remedy"] == "reinitialise" and repair["cured"] is True
    assert [r["finding"] for r in doctor.repairs] == ["symmetric_units"]  # nothing else
    assert all(w is m.weight for w, m in zip(weights, model[1::2], strict=False))
    assert accuracy > 0.9
    _, untreated = train(initialise(m := build("mlp", activation), "zeros") or m)
    assert untreated < 0.3
