"""Batch norm whose running statistics follow the last batches (momentum 0.99 ported from
Keras, or 1.0) is told at the first check and, in repair mode, set back to torch's 0.1;
torch's default, a cumulative average (None) and batch norm without running statistics
are not told."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell


def _mlp(**norm) -> nn.Module:
    return nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32, **norm), nn.ReLU(), nn.Linear(32, 4)
    )


def _cnn(**norm) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4, **norm), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 4),
    )  # fmt: skip


ARCHS = {"mlp": _mlp, "cnn": _cnn}
NORM = {"mlp": "2", "cnn": "1"}  # where each holds its batch norm


def _loop(arch: str, mode: str = "detect", **norm) -> tuple[trainwell.Doctor, nn.Module]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(515, 1, 8, 8, generator=g)  # a last batch of 3 rows
    y = (X[:, 0, :4].mean((1, 2)) > 0).long() + 2 * (X[:, 0, :, :4].mean((1, 2)) > 0)
    torch.manual_seed(0)
    model = ARCHS[arch](**norm)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer, every=4, mode=mode)
    for _ in range(3):
        model.train()
        for i in range(0, len(y), 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i : i + 32]), y[i : i + 32])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    return doctor, model


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "batch_norm_momentum"]


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("momentum", [0.99, 1.0])
def test_running_statistics_that_follow_the_last_batch_are_told(arch, momentum):
    (found,) = _told(_loop(arch, momentum=momentum)[0])
    assert found.severity == "warning" and found.step == 1  # the first check
    assert (found.evidence["modules"], found.evidence["momentum"]) == ([NORM[arch]], [momentum])
    assert ("Keras' 0.01 is torch's 0.99" in found.message) is (momentum == 0.99)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize(
    "norm",
    [{}, {"momentum": None}, {"momentum": 1.0, "track_running_stats": False}],
    ids=["default", "cumulative", "no_running_statistics"],
)
def test_other_batch_norms_are_not(arch, norm):
    assert _told(_loop(arch, **norm)[0]) == []


@pytest.mark.parametrize("arch", list(ARCHS))
def test_repair_sets_the_momentum_back_to_torchs_default(arch):
    doctor, model = _loop(arch, mode="repair", momentum=0.99)
    assert len(_told(doctor)) == 1
    (repair,) = doctor.repairs
    assert repair["remedy"] == "norm_momentum" and repair["cured"] is True
    assert model[int(NORM[arch])].momentum == 0.1
