"""A loss that adds a penalty to a cross entropy, the penalty far too strong (a Bayesian
network's KL not divided by its training rows, a weight decay written into the loss at
100x): the training loss falls by the penalty while the network is held at guessing, its
validation cross entropy at ln(classes) for its last epochs. Told as underfitting that names the
penalty (stress 31); the same loop at a sane weight, and a network the penalty leaves
underconfident but right, are not."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health import Thresholds
from trainwell.health._history import ProbeHistory
from trainwell.health._loss_graph import term_chance
from trainwell.health._underfit_rules import guessing_beside_terms


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 4)
    )  # fmt: skip


ARCHS = {"mlp": _mlp, "cnn": _cnn}


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 images whose label is the brightest quadrant."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1024, 1, 8, 8, generator=g)
    quadrants = X.unfold(2, 4, 4).unfold(3, 4, 4).mean((-1, -2)).flatten(1)
    return X, quadrants.argmax(1)


def _fit(
    arch: str, weight: float, epochs: int = 10, mode: str = "detect"
) -> tuple[trainwell.Doctor, list[float]]:
    """The cross entropy plus `weight` times the squared weights, under Adam at 3e-3;
    validated on the last 256 rows by their cross entropy and accuracy."""
    X, y = _data()
    torch.manual_seed(0)
    model = ARCHS[arch]()
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer, epochs=epochs, mode=mode)
    accuracies = []
    for _ in range(epochs):
        model.train()
        total = 0.0
        for i in range(0, 768, 64):
            penalty = sum(p.pow(2).sum() for p in model.parameters())
            loss = F.cross_entropy(model(X[i : i + 64]), y[i : i + 64]) + weight * penalty
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item() / 12
        model.eval()
        with torch.no_grad():
            scores = model(X[768:])
            val_loss = F.cross_entropy(scores, y[768:]).item()
            accuracies.append((scores.argmax(1) == y[768:]).float().mean().item())
        doctor.epoch_end(total, val_loss, val_accuracy=accuracies[-1])
    return doctor, accuracies


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize(("weight", "told"), [(1.0, True), (1e-4, False)])
def test_a_penalty_that_holds_the_network_at_guessing_is_named(arch, weight, told):
    doctor, accuracies = _fit(arch, weight)
    found = [f for f in doctor.findings if f.severity != "info"]
    assert [f.code for f in found] == (["underfitting"] if told else [])
    if told:
        assert accuracies[-1] < 0.3  # it ends guessing (a quarter is chance)
        assert found[0].evidence["chance_loss"] == pytest.approx(math.log(4), rel=1e-3)
        assert "penalty that outweighs the data term" in found[0].message
    else:
        assert accuracies[-1] > 0.8


@pytest.mark.parametrize(("accuracy", "told"), [(0.25, True), (0.8, False)])
def test_an_underconfident_network_that_ranks_right_is_not_guessing(accuracy, told):
    """Scores a penalty keeps tiny, their order right: the validation loss sits at ln 4
    (2% of a logit apart), its accuracy far above chance's; the network learned."""
    h = ProbeHistory(layers=["net.1", "net.3"], activations=[], activation_kinds=[])
    h.total_epochs, h.floor_known, h.data_at_hand = 10, False, False
    h.term_chance = math.log(4)
    for epoch in range(6):
        h.curves.append(
            {"epoch": epoch, "train_loss": 9.0 / (epoch + 1), "val_loss": math.log(4) - 0.004}
        )
        h.curves[-1]["val_accuracy"] = accuracy
    assert (guessing_beside_terms(h, Thresholds()) is not None) == told


@pytest.mark.parametrize("arch", list(ARCHS))
def test_repair_recommends_the_weaker_penalty_and_changes_nothing(arch):
    """No remedy the doctor applies makes a penalty weaker: the weights stay the loop's, and
    the finding names the change, not a wider network or a higher rate."""
    doctor, _ = _fit(arch, 1.0, mode="repair")
    (found,) = [f for f in doctor.findings if f.severity != "info"]
    assert "weaker penalty" in found.evidence["recommended"] and not doctor.repairs


def _backed(loss: torch.Tensor) -> torch.Tensor:
    loss.backward()  # the doctor reads the graph after backward: names and shapes survive
    return loss


@pytest.mark.parametrize(
    ("loss_of", "chance"),
    [
        (lambda s, z, y: F.cross_entropy(s, y) + 0.1 * s.pow(2).sum(), math.log(10)),
        (lambda s, z, y: F.cross_entropy(s, y), None),  # nothing added: `chance_loss`'s
        (lambda s, z, y: F.cross_entropy(s, y) + F.cross_entropy(s[:, :4], y % 4), None),
        (lambda s, z, y: F.cross_entropy(z @ z.T, torch.arange(8)) + s.pow(2).mean(), None),
        (lambda s, z, y: F.binary_cross_entropy(s.sigmoid(), s.detach().sigmoid()) + 1, None),
    ],
    ids=["penalty", "alone", "two_heads", "in_batch", "binary"],
)
def test_the_chance_level_of_a_cross_entropy_among_a_sums_terms(loss_of, chance):
    """Read where one cross entropy on labels has terms added; not where its cross
    entropies read different classes, score the batch's rows against each other, or are
    binary (soft targets: a VAE's pixels)."""
    torch.manual_seed(0)
    scores, embedded = torch.randn(8, 10, requires_grad=True), torch.randn(8, 4, requires_grad=True)
    loss = _backed(loss_of(scores, F.normalize(embedded, dim=1), torch.arange(8) % 10))
    read = term_chance(loss, 10)
    assert read == (pytest.approx(chance) if chance else None)
