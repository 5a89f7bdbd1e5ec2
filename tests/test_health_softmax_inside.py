"""A softmax over the batch inside the model: a router's or a mixture's weights normalised
over dimension 0, which no loss reads directly (stress 28: a mixture of experts' router,
MSE 12.3 against 0.60; a mixture density network's mixing weights, NLL 4.97 against
-0.28). Each on a loop with the bug and the same loop with the softmax over the row."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import trainwell


class Experts(nn.Module):
    """Four experts and a router that picks one a row, its output scaled by the gate."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.router = nn.Linear(2, 4)
        self.experts = nn.ModuleList(
            nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1)) for _ in range(4)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.softmax(self.router(x), dim=self.dim)
        pick = gate.argmax(1, keepdim=True)
        outs = torch.cat([expert(x) for expert in self.experts], 1)
        return (outs.gather(1, pick) * gate.gather(1, pick)).squeeze(1)


class Mixture(nn.Module):
    """A mixture density network of three Gaussians: log weights, means, log scales."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.body = nn.Sequential(nn.Linear(2, 32), nn.Tanh())
        self.heads = nn.Linear(32, 9)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, mean, log_scale = self.heads(self.body(x)).chunk(3, dim=1)
        return torch.log_softmax(logits, dim=self.dim), mean, log_scale


def _mixture_nll(out: tuple[torch.Tensor, ...], y: torch.Tensor) -> torch.Tensor:
    log_weight, mean, log_scale = out
    z = (y[:, None] - mean) / log_scale.exp()
    log_normal = -0.5 * z**2 - log_scale - 0.5 * math.log(2 * math.pi)
    return -torch.logsumexp(log_weight + log_normal, dim=1).mean()


def _loop(model: nn.Module, loss_of) -> trainwell.Doctor:
    g = torch.Generator().manual_seed(0)
    X = torch.rand(1024, 2, generator=g) * 4 - 2
    y = torch.where(X[:, 0] > 0, X[:, 1] * 2, -X[:, 1]) + 0.1 * torch.randn(1024, generator=g)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer, every=8)
    for _ in range(3):
        total = 0.0
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            loss = loss_of(model(X[i : i + 64]), y[i : i + 64])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / 16)
    return doctor


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "softmax_over_batch"]


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("model", ["experts", "mixture"])
def test_a_softmax_over_the_batch_inside_the_model_is_found(model, dim):
    torch.manual_seed(0)
    if model == "experts":
        doctor = _loop(Experts(dim), nn.functional.mse_loss)
    else:
        doctor = _loop(Mixture(dim), _mixture_nll)
    told = _told(doctor)
    assert len(told) == (dim == 0), doctor.findings
    if told:
        assert told[0].severity == "warning" and told[0].step == 0
        assert "inside the model, of (64, " in told[0].message
        assert "not by the loss" in told[0].message and "dim=-1" in told[0].message


class Weighed(nn.Module):
    """A GRU over (time, batch, features), time first, its outputs per time step (time,
    batch), each state weighed by attention over the time steps, dimension 0: right, not
    the batch, though the output's rows are there too."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(2, 16)
        self.score = nn.Linear(16, 2)
        self.head = nn.Linear(16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self.gru(x)  # (time, batch, 16)
        weights = torch.softmax(self.score(states), dim=0)  # (time, batch, 2): two heads
        return self.head(weights.mean(-1, keepdim=True) * states * len(x)).squeeze(-1)


def test_attention_over_a_time_first_sequence_is_not():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(48, 256, 2, generator=g)  # 48 time steps, 256 sequences
    y = X[:, :, 0].cumsum(0) / 8
    torch.manual_seed(0)
    model = Weighed()
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer, every=2)
    for _ in range(2):
        for i in range(0, 256, 64):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(X[:, i : i + 64]), y[:, i : i + 64])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    assert _told(doctor) == []


def test_similarities_and_a_parameters_own_values_are_not():
    """A contrastive loss's similarities, normalised over dimension 0 (CLIP's text side):
    (batch, batch), or (batch, 2 x batch) with two captions an image; and fusion weights
    softmaxed over a parameter's dimension 0, whatever the batch's size: none is a batch's
    rows normalised against each other. A router's scores of the batch are."""
    from trainwell.health._batch_softmax import softmax_over_rows

    torch.manual_seed(0)
    image_encoder, text_encoder = nn.Linear(8, 8), nn.Linear(8, 8)
    images = image_encoder(torch.randn(16, 8))
    for captions in (16, 32):
        texts = text_encoder(torch.randn(captions, 8))
        loss = -(images @ texts.T).log_softmax(dim=0).diagonal().mean()
        loss.backward(retain_graph=True)
        assert softmax_over_rows(loss, [(16, 8)]) is None, captions
    fusion = torch.randn(16, 3, requires_grad=True)  # (sources, features), 16 by chance
    loss = (fusion.softmax(dim=0).sum(0) * torch.randn(16, 3)).sum()
    loss.backward()
    assert softmax_over_rows(loss, [(16, 3)]) is None
    router = nn.Linear(8, 3)
    loss = (router(images).softmax(dim=0) * torch.randn(16, 3)).sum()
    loss.backward()
    assert "inside the model, of (16, 3)" in softmax_over_rows(loss, [(16, 1)])
    assert softmax_over_rows(loss, [(16, 1)], time_first=True) is None


def test_the_trainers_doctor_finds_it_in_your_module():
    from trainwell.health import DoctorCallback
    from trainwell.train import TensorBatches, Trainer

    g = torch.Generator().manual_seed(0)
    X = torch.rand(512, 2, generator=g) * 4 - 2
    y = (X[:, 0] * X[:, 1])[:, None]
    found = []
    for dim in (0, 1):
        torch.manual_seed(0)
        model = nn.Sequential(Experts(dim), nn.Unflatten(0, (-1, 1)))
        doctor = DoctorCallback(mode="detect")
        trainer = Trainer(
            model,
            torch.optim.Adam(model.parameters(), 3e-3),
            nn.MSELoss(),
            epochs=2,
            callbacks=[doctor],
        )
        trainer.fit(TensorBatches(X, y, 64, seed=0))
        found.append([f.code for f in doctor.examiner.findings if f.code == "softmax_over_batch"])
    assert found == [["softmax_over_batch"], []]
