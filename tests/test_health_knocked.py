"""A loss knocked back to knowing nothing: a warm restart of the rate throws a CNN without
batch norm off all it learned (a hand-written loop; its val accuracy 0.98 -> 0.24, back at
chance for six epochs before it recovered, and nothing was told). With batch norm, the
same restarts lift the loss a little: its design."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import trainwell


def _blobs(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """16x16 images of 1-4 Gaussian blobs with noise; the class is how many."""
    X, y = torch.zeros(n, 1, 16, 16), torch.randint(0, 4, (n,), generator=generator)
    rows, cols = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    for i in range(n):
        for _ in range(int(y[i]) + 1):
            r, c = (torch.rand(2, generator=generator) * 12 + 2).tolist()
            X[i, 0] += torch.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 2.0)
    return X + 0.1 * torch.randn(X.shape, generator=generator), y


def _cnn(batchnorm: bool) -> nn.Sequential:
    def block(inputs: int, outputs: int) -> list[nn.Module]:
        conv = nn.Conv2d(inputs, outputs, 3, padding=1, bias=not batchnorm)
        return [conv, nn.BatchNorm2d(outputs), nn.ReLU()] if batchnorm else [conv, nn.ReLU()]

    return nn.Sequential(
        *block(1, 32), *block(32, 32), nn.MaxPool2d(2), *block(32, 64),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 4),
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("batchnorm", [False, True])
def test_a_warm_restart_that_knocks_the_network_back_is_told(batchnorm):
    torch.manual_seed(14)
    generator = torch.Generator().manual_seed(1)
    (X, y), (X_val, y_val) = _blobs(3000, generator), _blobs(800, generator)
    batches = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(X, y), batch_size=64, shuffle=True
    )
    model = _cnn(batchnorm)
    rate = 0.05 if batchnorm else 0.02
    optimizer = torch.optim.SGD(model.parameters(), rate, momentum=0.9, nesterov=True)
    restarts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, 3 * len(batches))
    doctor = trainwell.Doctor(model, optimizer)
    for _ in range(7):
        model.train()
        total = 0.0
        for xb, yb in batches:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            restarts.step()
            total += loss.item() * len(xb)
        model.eval()
        with torch.no_grad():
            out = model(X_val)
        accuracy = (out.argmax(1) == y_val).float().mean().item()
        doctor.epoch_end(total / len(X), nn.functional.cross_entropy(out, y_val).item(),
                         val_accuracy=accuracy)  # fmt: skip
    told = [f for f in doctor.findings if f.severity in ("warning", "error")]
    if batchnorm:
        assert told == [] and accuracy > 0.9
        return
    (knocked,) = [f for f in told if f.code == "oscillating_loss"]
    assert knocked.evidence["knocked_epoch"] == 6 and "restart's peak" in knocked.message
