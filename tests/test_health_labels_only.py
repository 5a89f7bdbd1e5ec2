"""A loss whose every term is a cross entropy on class indices (CLIP's two directions) has
labels for targets: no finding tells it to standardise them (stress 31: a CLIP loop whose
labels were all zeros was told its targets were "far from standardised")."""

import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health._history import ProbeHistory
from trainwell.health._loss_graph import labels_only
from trainwell.health._rule_base import finding

STANDARDISE = "Standardise the targets"


def test_labels_only_reads_every_term_of_the_loss():
    torch.manual_seed(0)
    logits = torch.randn(8, 8, requires_grad=True)
    rows = torch.arange(8)
    weight = torch.ones((), requires_grad=True)
    assert labels_only((F.cross_entropy(logits, rows) + F.cross_entropy(logits.T, rows)) / 2)
    assert labels_only(F.cross_entropy(logits, rows))
    assert not labels_only(F.cross_entropy(logits, rows) + logits.pow(2).mean())
    assert not labels_only(F.mse_loss(logits, torch.zeros(8, 8)))
    assert not labels_only(weight * F.cross_entropy(logits, rows))


def _far_history(labels: bool) -> ProbeHistory:
    """A first probe whose error signal at the outputs is 40 times a standardised target's
    while the outputs are small: targets on raw units, unless they are labels."""
    h = ProbeHistory(layers=["0"], activations=[], activation_kinds=[], total_epochs=10)
    h.steps.append(0)
    h.epochs.append(0)
    h.loss.append(5.0)
    h.output_level.append(0.01)
    h.output_error.append(40.0)
    h.labels_only = labels
    return h


def test_a_finding_on_labels_does_not_ask_to_standardise_them():
    raw = finding("exploding_gradient", "error", "The gradients explode.", _far_history(False))
    assert STANDARDISE in raw.message and raw.evidence["error_signal"] == 40.0
    labels = finding("exploding_gradient", "error", "The gradients explode.", _far_history(True))
    assert STANDARDISE not in labels.message and "error_signal" not in labels.evidence


class Tower(nn.Module):
    def __init__(self, conv: bool):
        super().__init__()
        if conv:
            self.net = nn.Sequential(
                nn.Unflatten(1, (1, 4, 4)), nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                nn.Flatten(), nn.Linear(64, 8),
            )  # fmt: skip
        else:
            self.net = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))

    def forward(self, x):
        return F.normalize(self.net(x), dim=1)


class TwoTowers(nn.Module):
    def __init__(self, conv: bool):
        super().__init__()
        self.a, self.b = Tower(conv), Tower(conv)

    def forward(self, x):
        return self.a(x), self.b(x + 0.1 * torch.randn_like(x))


def _history_after_a_look(model: nn.Module, loss_of) -> ProbeHistory:
    torch.manual_seed(0)
    X = torch.randn(128, 16)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    doctor = trainwell.Doctor(model, optimizer, every=2)
    for i in range(0, 128, 32):
        optimizer.zero_grad()
        loss = loss_of(model(X[i : i + 32]))
        loss.backward()
        doctor.step(loss)
        optimizer.step()
    doctor.epoch_end(loss.item())
    return doctor.examiner.history


def test_a_clip_loop_is_read_as_labels_and_a_regression_is_not():
    for conv in (False, True):

        def clip_loss(out):
            za, zb = out
            logits, rows = za @ zb.T / 0.1, torch.arange(len(za))
            return (F.cross_entropy(logits, rows) + F.cross_entropy(logits.T, rows)) / 2

        def regression(out):
            za, zb = out
            return F.mse_loss(za.sum(1), 1000 * zb.sum(1).detach())

        assert _history_after_a_look(TwoTowers(conv), clip_loss).labels_only
        assert not _history_after_a_look(TwoTowers(conv), regression).labels_only
