"""A loop that compares two outputs of one network (a Siamese net's contrastive pair loss,
stress 22): a distance written by hand as sqrt(sum(d ** 2)) has an infinite derivative where
a pair is one point twice, and its NaN gradients are the backward pass's, not a rate too
high; the final layer's bias cancels in every distance, so its exactly-zero gradient is no
unused parameter."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell

ROWS, BATCH, EPOCHS = 600, 50, 6


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    centres = torch.randn(5, 16) * 0.6
    y = torch.arange(ROWS) % 5
    return centres[y] + torch.randn(ROWS, 16), y


def _pairs(y: torch.Tensor, rows: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """A partner per row: one of its class (at times the row itself) for the first half,
    any row for the second."""
    partner = torch.randint(0, ROWS, (len(rows),), generator=g)
    half = len(rows) // 2
    for i in range(half):
        same = torch.nonzero(y == y[rows[i]]).flatten()
        partner[i] = same[torch.randint(0, len(same), (1,), generator=g)]
    if torch.rand((), generator=g) < 0.25:
        partner[0] = rows[0]  # a pair of one point twice, in a batch in four
    return partner


def _siamese(
    mode: str | None, by_hand: bool, weight_norm: str | None = None
) -> tuple[trainwell.Doctor | None, float]:
    """Trains the embedding; returns the doctor and the 1-nearest-neighbour accuracy of the
    embedding, read on the training rows (other rows as references). `weight_norm`: the
    last layer's weight parametrized (its parameters renamed `original0`, `original1`)."""
    X, y = _data()
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8)
    )
    if weight_norm == "parametrizations":
        nn.utils.parametrizations.weight_norm(model[4])
    elif weight_norm == "legacy weight_norm":  # 4.weight_g, 4.weight_v
        nn.utils.weight_norm(model[4])
    elif weight_norm == "legacy spectral_norm":  # 4.weight_orig
        nn.utils.spectral_norm(model[4])
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    doctor = None if mode is None else trainwell.Doctor(model, optimizer, mode=mode, every=4)
    g = torch.Generator().manual_seed(2)
    for _ in range(EPOCHS):
        total = 0.0
        for _ in range(ROWS // BATCH):
            rows = torch.randperm(ROWS, generator=g)[:BATCH]
            partner = _pairs(y, rows, g)
            a, b = model(X[rows]), model(X[partner])
            d = torch.sqrt(((a - b) ** 2).sum(1)) if by_hand else F.pairwise_distance(a, b)
            same = (y[rows] == y[partner]).float()
            loss = (same * d**2 + (1 - same) * F.relu(2.0 - d) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            if doctor is not None:
                doctor.step(loss)
            optimizer.step()
            total += loss.item()
        if doctor is not None:
            doctor.epoch_end(total / (ROWS // BATCH))
    with torch.no_grad():
        e = model(X)
        d = torch.cdist(e, e) + torch.eye(ROWS) * 1e9
        accuracy = (y[d.argmin(1)] == y).float().mean().item()
    return doctor, accuracy


def _problems(doctor: trainwell.Doctor) -> list:
    return [f for f in doctor.findings if f.severity != "info"]


def test_nan_gradients_of_a_finite_loss_are_named_the_backward_pass_s():
    """Before, `divergence` ("lower the learning rate or clip") and `exploding_gradient`;
    repair cut the rate three times and the run stayed at chance."""
    doctor, _ = _siamese("detect", by_hand=True)
    problems = _problems(doctor)
    assert [f.code for f in problems][:1] == ["divergence"]
    assert problems[0].evidence["backward_nonfinite"] is True
    assert "sqrt(x + 1e-12)" in problems[0].message
    assert "exploding_gradient" not in {f.code for f in problems}


def test_nan_gradients_of_a_finite_loss_are_skipped_not_slowed():
    _, healthy = _siamese(None, by_hand=False)
    _, plain = _siamese(None, by_hand=True)
    doctor, repaired = _siamese("repair", by_hand=True)
    assert [r["remedy"] for r in doctor.repairs] == ["skip_nonfinite"]
    assert plain < 0.5 and repaired > healthy - 0.1


def test_a_pair_loss_with_an_epsilon_is_healthy_and_its_cancelled_bias_no_unused_parameter():
    """The last layer's bias cancels in a - b: its gradient is exactly zero, as before
    (when it was reported unused), while the layer's weight learns."""
    doctor, accuracy = _siamese("detect", by_hand=False)
    assert _problems(doctor) == [] and accuracy > 0.7
    assert "unused_parameters" not in {f.code for f in doctor.findings}


@pytest.mark.parametrize(
    "weight_norm", ["parametrizations", "legacy weight_norm", "legacy spectral_norm"]
)
def test_a_cancelled_bias_beside_a_parametrized_weight_is_no_unused_parameter(weight_norm):
    """Weight norm renames the layer's weight `4.parametrizations.weight.original0/1` (the
    older nn.utils functions: `4.weight_g`/`4.weight_v`, `4.weight_orig`): the bias beside
    it was reported unused, as no `4.weight` learned."""
    doctor, accuracy = _siamese("detect", by_hand=False, weight_norm=weight_norm)
    assert accuracy > 0.7
    assert "unused_parameters" not in {f.code for f in doctor.findings}
