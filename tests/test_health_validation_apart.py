"""A loop's validation that never beats knowing nothing while its training loss falls far
below it (an EMA copy validated that is never updated, validation labels not lined up) is
told as a network whose validation learned nothing, whether or not that loss rises; an EMA
that follows the model is not."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health import ProbeHistory
from trainwell.health._rules import Thresholds
from trainwell.health._val_rules import overfitting


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(1, 8, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(8), nn.Flatten(),
        nn.Linear(64, 4),
    )  # fmt: skip


ARCHS = {
    "mlp": lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4)),
    "cnn": _cnn,
}


def _ema_validated(arch: str, decay: float) -> trainwell.Doctor:
    """Four classes of signals (a quarter of 64 values raised each); the validation scores
    an EMA copy of the model, which `decay=1.0` (for 0.99) never moves from its start."""
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 4, (1200,), generator=g)
    X = torch.randn(1200, 1, 64, generator=g)
    for c in range(4):
        X[y == c, 0, 16 * c : 16 * c + 16] += 1.5
    torch.manual_seed(0)
    model = ARCHS[arch]()
    ema = copy.deepcopy(model).requires_grad_(False)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer)
    for _ in range(8):
        total = 0.0
        for i in range(0, 1000, 50):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i : i + 50]), y[i : i + 50])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            with torch.no_grad():
                for kept, live in zip(ema.parameters(), model.parameters(), strict=True):
                    kept.mul_(decay).add_(live, alpha=1 - decay)
            total += loss.item()
        with torch.no_grad():
            out = ema(X[1000:])
            val_loss = F.cross_entropy(out, y[1000:]).item()
            accuracy = (out.argmax(1) == y[1000:]).float().mean().item()
        doctor.epoch_end(total / 20, val_loss, val_accuracy=accuracy)
    return doctor


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "overfitting" and f.severity == "warning"]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_a_validated_copy_that_never_learns_is_told(arch):
    (found,) = _told(_ema_validated(arch, decay=1.0))
    assert found.evidence["val_never_learned"]
    assert "learns nothing its validation shows" in found.message
    assert "never updated" in found.message


@pytest.mark.parametrize("arch", list(ARCHS))
def test_a_validated_copy_that_follows_the_model_is_not(arch):
    assert _told(_ema_validated(arch, decay=0.9)) == []


@pytest.mark.parametrize(
    ("val", "accuracy", "told"),
    [
        ([1.45, 1.44, 1.46, 1.45, 1.44], None, True),  # at knowing nothing's ln 4
        ([1.45, 1.44, 1.46, 1.45, 1.44], 0.26, True),  # ... and chance's accuracy
        ([1.45, 1.44, 1.46, 1.45, 1.44], 0.60, False),  # an accuracy that learned
        ([14.5, 6.2, 4.1, 3.3, 2.9], None, False),  # summed over 10 batches: another scale
        ([1.2, 0.9, 0.7, 0.6, 0.5], None, False),  # it learns
        ([1.45, 1.44, 1.46, 1.45, 1.44], "unmoved", False),  # a train loss reported / 4
    ],
)
def test_a_validation_apart_from_training_is_read_on_its_own_scale(val, accuracy, told):
    """A loop accumulating 4 micro-batches reports each one's loss / 4: ln 4 / 4 for a
    network that never moved (its steps zeroed before they apply) is no fall (stress 26)."""
    h = ProbeHistory(layers=[], activations=[], activation_kinds=[])
    h.chance_loss, h.data_at_hand = math.log(4), False
    unmoved = accuracy == "unmoved"
    accuracy = None if unmoved else accuracy
    h.curves = [
        {
            "epoch": e,
            "train_loss": math.log(4) / 4 if unmoved else 1.0 / (e + 1) ** 2,
            "val_loss": v,
        }
        | ({} if accuracy is None else {"val_accuracy": accuracy})
        for e, v in enumerate(val)
    ]
    found = overfitting(h, Thresholds())
    assert (found is not None and found.evidence["val_never_learned"]) == told, found
