"""A contrastive loss that never leaves chance: an InfoNCE scored within the batch has no
floor the doctor knows (the temperature and the views set it), so a slow fall is told as
information; but one that stays at ln of its classes all run learned nothing, whatever its
floor (stress 28: SimCLR with each view's positive another image's)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell


def _info_nce(z: torch.Tensor, shift: int, temperature: float = 0.2) -> torch.Tensor:
    """NT-Xent over 2n views: each view's positive is the other view of its image (shift 0),
    or another image's (shift 1: the labels off by one)."""
    n = len(z) // 2
    z = F.normalize(z, dim=1)
    scores = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), -torch.inf)
    labels = (torch.arange(2 * n) + n + shift) % (2 * n)
    return F.cross_entropy(scores, labels)


@pytest.mark.parametrize("shift", [0, 1], ids=["healthy", "labels_off_by_one"])
def test_a_contrastive_loss_at_chance_all_run_is_a_warning(shift):
    g = torch.Generator().manual_seed(0)
    images = torch.randn(512, 16, generator=g)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 16))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    epochs = 8
    doctor = trainwell.Doctor(model, optimizer, every=4, epochs=epochs)
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(images), 64):
            batch = images[i : i + 64]
            views = torch.cat([batch, batch]) + 0.3 * torch.randn(128, 16, generator=g)
            optimizer.zero_grad()
            loss = _info_nce(model(views), shift)
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / 8)
    told = [f for f in doctor.findings if f.severity != "info"]
    if shift:
        (slow,) = told
        assert slow.code == "slow_convergence" and slow.severity == "warning"
        assert "loss of a guess" in slow.message and "ln of its 128 classes" in slow.message
        assert slow.evidence["rate_advice"] is None
    else:
        assert told == [], [f.message for f in told]


def test_a_loss_at_chance_a_measured_cause_explains_is_told_that_cause():
    """A schedule that took the rate to 0 after its first epoch also keeps a contrastive
    loss at chance: the schedule is named, not the labels."""
    from trainwell.health import ProbeHistory, Thresholds
    from trainwell.health._slow_rules import slow_convergence

    h = ProbeHistory(layers=["net.0"], activations=[], activation_kinds=[], total_epochs=10)
    h.floor_known, h.chance_loss, h.start_lr = False, math.log(128), 0.1
    for epoch in range(8):
        lr = 0.1 if epoch == 0 else 0.0
        h.curves.append({"epoch": epoch, "train_loss": math.log(128) - 1e-3 * epoch, "lr": lr})
    found = slow_convergence(h, Thresholds())
    assert found.severity == "warning" and "loss of a guess" not in found.message
    assert "The learning rate is 0" in found.message, found.message
