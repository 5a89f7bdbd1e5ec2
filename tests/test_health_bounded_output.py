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


def _data(shift: float = 0.0, squash: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised targets (`shift` added), or squashed into (0, 1)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1200, 6, generator=g)
    y = torch.sin(X[:, 0]) * 2 + X[:, 1] * X[:, 2] + 0.1 * torch.randn(1200, generator=g)
    y = (y - y.mean()) / y.std()
    return X, torch.sigmoid(2 * y) if squash else y + shift


def _loop(
    tail: list[nn.Module],
    shift: float = 0.0,
    *,
    squash: bool = False,
    l1: bool = False,
    scaled: bool = False,
) -> trainwell.Doctor:
    """`l1`: an L1 term on the outputs beside the MSE; `scaled`: a GradScaler's loop."""
    X, y = _data(shift, squash)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 1), *tail, Squeeze())
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    scaler = torch.amp.GradScaler("cpu") if scaled else None
    doctor = trainwell.Doctor(model, optimizer, scaler=scaler)
    for _ in range(4):
        total = 0.0
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            out, target = model(X[i : i + 64]), y[i : i + 64]
            loss = F.mse_loss(out, target) + (F.l1_loss(out, target) if l1 else 0.0)
            (scaler.scale(loss) if scaler else loss).backward()
            doctor.step(loss)
            if scaler:
                scaler.step(optimizer)
                scaler.update()
            else:
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


@pytest.mark.parametrize("how", [{"l1": True}, {"scaled": True}])
def test_targets_are_read_only_from_a_gradient_the_mean_squared_error_alone_made(how):
    """Targets in (0, 1) under a sigmoid output: healthy. Read from a gradient another term
    adds to (an L1 on the outputs beside the MSE), or one a GradScaler scaled, they looked
    beyond its range (84%, 95%: review). The residuals read back must give the loss."""
    healthy = _loop([nn.Sigmoid()], squash=True, **how)
    assert not [f for f in healthy.findings if f.code == "bounded_output"], healthy.findings


def test_a_gradient_scaler_s_loop_is_read_unscaled():
    doctor = _loop([nn.ReLU()], scaled=True)
    assert [f.code for f in doctor.findings if f.code == "bounded_output"] == ["bounded_output"]


def test_the_trainer_finds_it_in_your_own_module(out):
    """`fit(config, model=...)` with a module ending in a ReLU, on diabetes (standardised
    targets); the same module without it is clean."""

    def module(tail):
        torch.manual_seed(0)
        layers = [nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 1), *tail, Squeeze()]
        return nn.Sequential(*layers)

    config = {"data": {"source": "diabetes"}, "train": {"epochs": 4}}
    bounded = trainwell.fit(config, model=module([nn.ReLU()]), report=False)
    found = [f for f in bounded.findings if f.code == "bounded_output"]
    assert len(found) == 1 and "the Trainer trains on standardised targets" in found[0].message
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
