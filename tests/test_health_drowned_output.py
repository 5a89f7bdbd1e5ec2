"""A multi-task loss whose regression term, on targets left in raw units, drowns the cross
entropy beside it is told; the same loss on standardised targets is not, nor a mixture
density head whose variance shrinks as it learns (its means' signal grows late, not from
the start)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell


class TwoHeads(nn.Module):
    """A trunk (dense or convolutional) and two heads: 4 classes' scores and one number."""

    def __init__(self, conv: bool) -> None:
        super().__init__()
        self.trunk = (
            nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
            if conv
            else nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU())
        )
        self.cls, self.reg = nn.Linear(64, 4), nn.Linear(64, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.trunk(x)
        return self.cls(h), self.reg(h).squeeze(1)


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """8x8 images: the class is the brightest quadrant, the number a weighted sum of
    pixels in the thousands (6,000 +- 800)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1024, 1, 8, 8, generator=g)
    quadrants = torch.stack(
        [X[:, 0, :4, :4], X[:, 0, :4, 4:], X[:, 0, 4:, :4], X[:, 0, 4:, 4:]], 1
    ).mean((2, 3))
    r = X.flatten(1) @ torch.randn(64, generator=g) / 8
    return X, quadrants.argmax(1), r * 800 + 6000


def _loop(conv: bool, standardised: bool, epochs: int = 5) -> trainwell.Doctor:
    X, y, r = _data()
    if standardised:
        r = (r - r.mean()) / r.std()
    torch.manual_seed(0)
    model = TwoHeads(conv)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    doctor = trainwell.Doctor(model, optimizer, every=4)
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            scores, number = model(X[i : i + 64])
            loss = F.cross_entropy(scores, y[i : i + 64]) + F.mse_loss(number, r[i : i + 64])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / 16)
    return doctor


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "drowned_output"]


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "cnn"])
def test_a_term_on_raw_targets_drowning_the_cross_entropy_is_told(conv):
    (found,) = _told(_loop(conv, standardised=False))
    assert found.severity == "warning" and found.evidence["ratio"] >= 1000
    start, now = found.evidence["first_error"]
    assert now >= 0.8 * start  # the cross entropy's signal barely fell: it did not learn
    assert "standardise that output's targets" in found.message


@pytest.mark.parametrize("conv", [False, True], ids=["mlp", "cnn"])
def test_the_same_term_on_standardised_targets_is_not(conv):
    assert _told(_loop(conv, standardised=True)) == []


@pytest.mark.parametrize(
    ("other", "first", "told"),
    [
        ([2e4, 2e4, 2e4, 2e4], [0.6, 0.6, 0.6, 0.6], True),  # raw targets from the start
        # a mixture's means, their variance shrinking as it learns: large late, not at first
        ([1.0, 50.0, 2e3, 5e3], [0.6, 0.6, 0.6, 0.6], False),
        ([2e4, 2e4, 2e4, 2e4], [0.6, 0.5, 0.4, 0.3], False),  # the first output learns
    ],
)
def test_the_rule_reads_the_ratio_from_the_first_probe_and_the_first_outputs_fall(
    other, first, told
):
    from trainwell.health._drowned_output import drowned_output
    from trainwell.health._history import ProbeHistory

    history = ProbeHistory(layers=["0"], activations=[], activation_kinds=[])
    history.other_error, history.output_error = other, first
    assert (drowned_output(history, epoch=3, step=40) is not None) is told
