"""A regression whose last layer is followed by an activation that bounds its outputs (a
ReLU, a sigmoid) while the targets lie beyond that range: standardised targets are half
negative, and a ReLU output can predict none of them. Nothing raises; the doctor reads the
activation from the loss's graph and where the targets lie from the error's gradient."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health._bounded_output import bounded_regression


class Squeeze(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(-1)


def _data(shift: float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1200, 6, generator=g)
    y = torch.sin(X[:, 0]) * 2 + X[:, 1] * X[:, 2] + 0.1 * torch.randn(1200, generator=g)
    return X, (y - y.mean()) / y.std() + shift


def _loop(tail: list[nn.Module], shift: float = 0.0) -> trainwell.Doctor:
    X, y = _data(shift)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 1), *tail, Squeeze())
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    doctor = trainwell.Doctor(model, optimizer)
    for _ in range(4):
        total = 0.0
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            loss = F.mse_loss(model(X[i : i + 64]), y[i : i + 64])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / -(-len(y) // 64))
    return doctor


@pytest.mark.parametrize(
    ("tail", "name", "beyond"), [(nn.ReLU, "ReLU", 0.3), (nn.Sigmoid, "sigmoid", 0.5)]
)
def test_targets_beyond_the_output_activation_s_range_are_found(tail, name, beyond):
    doctor = _loop([tail()])
    found = [f for f in doctor.findings if f.code == "bounded_output"]
    assert len(found) == 1 and found[0].severity == "error", doctor.findings
    assert found[0].evidence["activation"] == name
    assert found[0].evidence["share_beyond"] >= beyond
    assert "end the network with its last linear layer" in found[0].message


@pytest.mark.parametrize(
    ("tail", "shift"),
    [([], 0.0), ([nn.Softplus()], 6.0), ([nn.ReLU()], 6.0)],  # linear; targets in its range
)
def test_an_output_that_can_reach_its_targets_is_not_flagged(tail, shift):
    doctor = _loop(tail, shift)
    assert not [f for f in doctor.findings if f.code == "bounded_output"], doctor.findings


def test_the_trainer_finds_it_in_your_own_module(out):
    """`fit(config, model=...)` with a module ending in a ReLU, on diabetes (standardised
    targets); the same module without it is clean."""

    def module(tail):
        torch.manual_seed(0)
        layers = [nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1), *tail, Squeeze()]
        return nn.Sequential(*layers)

    config = {"data": {"source": "diabetes"}, "train": {"epochs": 4}}
    bounded = trainwell.fit(config, model=module([nn.ReLU()]), report=False)
    assert [f.code for f in bounded.findings if f.code == "bounded_output"] == ["bounded_output"]
    linear = trainwell.fit(config, model=module([]), report=False)
    assert not [f for f in linear.findings if f.code == "bounded_output"]


def test_the_loss_graph_names_the_activation_a_mean_squared_error_reads():
    x = torch.randn(8, 1, requires_grad=True)
    y = torch.randn(8)

    def graph(loss):
        loss.backward()  # read after backward, as the doctor reads it
        return bounded_regression(loss)

    assert graph(F.mse_loss(torch.relu(x).squeeze(-1), y)) == "ReluBackward"
    assert graph(F.mse_loss(torch.sigmoid(x).squeeze(-1), y) + x.abs().sum()) == "SigmoidBackward"
    assert graph(F.mse_loss(x.squeeze(-1), y)) is None  # a linear output
    assert graph(0.5 * F.mse_loss(torch.relu(x).squeeze(-1), y)) is None  # scaled: not read
    assert graph(F.mse_loss(torch.relu(x).squeeze(-1), y, reduction="sum")) is None
    p = torch.sigmoid(x).squeeze(-1)
    assert graph(F.binary_cross_entropy(p, (y > 0).float())) is None  # probabilities, meant
