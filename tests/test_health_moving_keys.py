"""A contrastive loop (MoCo: a cross entropy of the query encoder's outputs scored against a
momentum encoder's keys and a queue of past keys): the keys move as the network learns, and
its loss rises and falls with them by design. The doctor reads that from the loss's graph
and tells such a swing as information, not as steps too large. SimCLR's cross entropy
scores the batch's embeddings against each other: bounded similarities over a temperature,
whose floor is not 0."""

import copy

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch import nn

import trainwell
from trainwell.findings import Finding
from trainwell.health import ProbeHistory
from trainwell.health._loss_graph import zero_floor
from trainwell.health._moving_keys import moving_keys, scored_against_keys


def _moco(epochs: int = 30, queue_size: int = 1024, tau: float = 0.1) -> trainwell.Doctor:
    """MoCo v2 on digits (stress 23's c07): an MLP query encoder, its momentum copy (0.99)
    for the keys, a queue of 1024 past keys, Adam at 1e-3."""
    X = torch.tensor(StandardScaler().fit_transform(load_digits().data), dtype=torch.float32)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    query = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
    query.append(nn.Linear(128, 64))
    keys = copy.deepcopy(query).requires_grad_(False)
    optimizer = torch.optim.Adam(query.parameters(), 1e-3)
    doctor = trainwell.Doctor(query, optimizer)
    queue, at = F.normalize(torch.randn(queue_size, 64), dim=1), 0

    def view(x):
        image = torch.roll(
            x.view(-1, 8, 8), torch.randint(-1, 2, (2,), generator=g).tolist(), (1, 2)
        )
        noisy = image.reshape(-1, 64) + 0.2 * torch.randn(len(x), 64, generator=g)
        return noisy * (torch.rand(len(x), 64, generator=g) > 0.1).float()

    for _ in range(epochs):
        total, order = 0.0, torch.randperm(len(X), generator=g)
        for i in range(0, len(X), 64):
            x = X[order[i : i + 64]]
            q = F.normalize(query(view(x)), dim=1)
            with torch.no_grad():
                k = F.normalize(keys(view(x)), dim=1)
            logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.t()], 1) / tau
            loss = F.cross_entropy(logits, torch.zeros(len(x), dtype=torch.long))
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            with torch.no_grad():
                for pq, pk in zip(query.parameters(), keys.parameters(), strict=True):
                    pk.mul_(0.99).add_(pq, alpha=0.01)
                queue[(torch.arange(len(k)) + at) % queue_size] = k
                at = (at + len(k)) % queue_size
            total += loss.item() * len(x)
        doctor.epoch_end(total / len(X))
    return doctor


def test_a_contrastive_loss_that_swings_with_its_keys_is_no_overshoot():
    doctor = _moco()
    swings = [f for f in doctor.findings if f.code == "oscillating_loss"]
    assert all(f.severity == "info" and f.evidence["moving_keys"] for f in swings), swings
    assert not [f for f in doctor.findings if f.severity != "info"], doctor.findings


def _graph(loss: torch.Tensor) -> bool:
    loss.backward()  # read after backward, as the doctor reads it
    return scored_against_keys(loss)


def test_the_graph_tells_keys_the_loss_does_not_train_from_a_classifier_s_weights():
    q = torch.randn(8, 16, requires_grad=True)
    labels = torch.zeros(8, dtype=torch.long)
    queue, k = torch.randn(16, 100), torch.randn(8, 16)
    moco = torch.cat([(q * k).sum(1, keepdim=True), q @ queue], 1) / 0.2
    assert _graph(F.cross_entropy(moco, labels))
    q = torch.randn(8, 16, requires_grad=True)
    assert not _graph(F.cross_entropy(nn.Linear(16, 10)(q), labels))  # a trained head
    q = torch.randn(8, 16, requires_grad=True)
    frozen = nn.Linear(16, 10, bias=False).requires_grad_(False)
    assert not _graph(F.cross_entropy(frozen(q), labels))  # a frozen head: no keys move
    q = torch.randn(8, 16, requires_grad=True)
    assert not _graph(F.cross_entropy(q @ queue[:, :10], labels))  # fixed prototypes
    q = torch.randn(8, 16, requires_grad=True)
    assert not _graph(F.cross_entropy(q @ q.t() / 0.2, torch.arange(8)))  # SimCLR's: trained
    q = torch.randn(8, 16, requires_grad=True)
    assert not _graph(F.mse_loss(q @ queue, torch.randn(8, 100)))  # no cross entropy


@pytest.mark.parametrize(
    ("scored", "code", "told"),
    [
        (True, "oscillating_loss", "info"),
        (False, "oscillating_loss", "warning"),  # a classifier's swing: steps too large
        (True, "slow_convergence", "warning"),  # only a swing is the keys' doing
    ],
)
def test_only_a_swing_of_a_loss_scored_against_moving_keys_is_told_as_information(
    scored, code, told
):
    history = ProbeHistory(layers=["net.0"], activations=[], activation_kinds=[])
    history.scored_against_keys = scored
    finding = Finding(code=code, severity="warning", source="training", message="Swings.")
    moving_keys(finding, history)
    assert finding.severity == told
    assert ("moving_keys" in finding.evidence) == (told == "info")


def _simclr(lr: float, epochs: int = 8) -> trainwell.Doctor:
    """SimCLR on digits (stress 26's c05): two views of each image (shifted, a quarter of
    its pixels dropped, noise added), an MLP encoder and projection, NT-Xent at
    temperature 0.2 over the batch's 2N embeddings, Adam; the validation loss of two views
    of held-out images."""
    X = torch.tensor(load_digits().data / 16.0, dtype=torch.float32)
    X, held_out = X[:1300], X[1300:]
    torch.manual_seed(0)
    encoder = nn.Sequential(
        nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 32)
    )
    optimizer = torch.optim.Adam(encoder.parameters(), lr)
    doctor = trainwell.Doctor(encoder, optimizer)

    def view(x):
        image = torch.roll(x.view(-1, 8, 8), torch.randint(-1, 2, (2,)).tolist(), (1, 2))
        image = image * (torch.rand_like(image) > 0.25) + 0.15 * torch.randn_like(image)
        return image.view(-1, 64)

    def nt_xent(x):
        z = F.normalize(encoder(torch.cat([view(x), view(x)])), dim=1)
        similar = (z @ z.t() / 0.2).masked_fill(torch.eye(len(z), dtype=torch.bool), -1e9)
        return F.cross_entropy(similar, torch.arange(len(z)).roll(len(x)))  # the other view

    for _ in range(epochs):
        total, order = 0.0, torch.randperm(len(X))
        for i in range(0, len(X) - 63, 64):
            loss = nt_xent(X[order[i : i + 64]])
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        with torch.no_grad():
            val = nt_xent(held_out).item()
        doctor.epoch_end(total / (len(X) // 64), val)
    return doctor


def test_a_contrastive_loss_over_the_batch_is_not_held_to_a_floor_of_0():
    """NT-Xent falls slowly towards a floor its temperature and views set (a healthy loop:
    9% in 4 epochs, told as too slow); a rate of 1e-6, which stalls it, is still told."""
    assert not [f for f in _simclr(1e-3).findings if f.severity != "info"]
    (slow,) = [f for f in _simclr(1e-6).findings if f.code == "slow_convergence"]
    assert slow.severity == "warning" and slow.evidence["rate_advice"] == "raise"


def test_the_graph_tells_a_batch_scored_against_itself_from_a_classifier():
    x, labels = torch.randn(8, 16), torch.randint(0, 4, (8,))
    z = F.normalize(nn.Linear(16, 4)(x), dim=1)
    assert not zero_floor(F.cross_entropy(z @ z.t() / 0.5, torch.arange(8)))  # SimCLR
    other = F.normalize(nn.Linear(16, 4)(torch.randn(8, 16)), dim=1)
    assert not zero_floor(F.cross_entropy(torch.matmul(z, other.T) * 10, torch.arange(8)))  # CLIP
    assert zero_floor(F.cross_entropy(nn.Linear(16, 4)(x), labels))
    assert zero_floor(F.cross_entropy(nn.Linear(16, 4, bias=False)(x), labels))
    tied = nn.Parameter(torch.randn(4, 16))  # an output layer tied to an embedding
    assert zero_floor(F.cross_entropy(nn.Linear(16, 16)(x) @ tied.t(), labels))
    frozen = nn.Linear(16, 4, bias=False).requires_grad_(False)
    assert zero_floor(F.cross_entropy(frozen(nn.Linear(16, 16)(x)), labels))
