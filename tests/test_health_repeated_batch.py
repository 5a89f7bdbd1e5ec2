"""A loop that trains on one batch for ever (`torch.manual_seed` inside the step loop,
`next(iter(loader))` at each step of a loader without shuffle) is told, with the steps that
saw the same input; loaders with or without shuffle, a seed reset each epoch and full-batch
training are not."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import trainwell

ROWS, BATCH = 512, 32


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 4 * 4, 4),
    )  # fmt: skip


class _Tokens(nn.Module):
    """Token ids in (a LongTensor), classes out: the input fingerprinted is not a float."""

    def __init__(self) -> None:
        super().__init__()
        self.embed, self.head = nn.EmbeddingBag(50, 16), nn.Linear(16, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(ids))


ARCHS = {"mlp": _mlp, "cnn": _cnn, "tokens": _Tokens}


def _data(arch: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`ROWS` rows to train on, 256 to validate on."""
    g = torch.Generator().manual_seed(0)
    if arch == "tokens":
        X = torch.randint(0, 50, (ROWS + 256, 12), generator=g)
        return X, X[:, 0] % 4
    X = torch.randn(ROWS + 256, 1, 8, 8, generator=g)
    return X, (X[:, 0, :4].mean((1, 2)) > 0).long() + 2 * (X[:, 0, :, :4].mean((1, 2)) > 0)


def _batches(how: str, X: torch.Tensor, y: torch.Tensor, epoch: int):
    """The (inputs, labels) of one epoch's steps, drawn as `how` says."""
    steps = ROWS // BATCH
    if how == "full_batch":  # one step an epoch, on every row
        yield X, y
    elif how in ("seed_each_step", "seed_each_epoch"):
        if how == "seed_each_epoch":
            torch.manual_seed(0)
        for _ in range(steps):
            if how == "seed_each_step":
                torch.manual_seed(0)  # "for reproducibility"
            rows = torch.randint(0, ROWS, (BATCH,))
            yield X[rows], y[rows]
    else:  # loaders: the first batch at each step, or the epoch's batches in turn
        loader = DataLoader(TensorDataset(X, y), BATCH, shuffle=how == "shuffled")
        if how == "first_batch":
            for _ in range(steps):
                yield next(iter(loader))
        else:
            yield from loader


def _loop(
    arch: str, how: str, epochs: int = 4, mode: str = "detect", anchored: bool = False
) -> trainwell.Doctor:
    """`anchored`: the loss also reads the model's outputs at two fixed rows, after the
    batch's (as a physics-informed loss reads its boundary points beside its collocation
    points), pulled towards 0."""
    X, y = _data(arch)
    (X, X_val), (y, y_val) = (t.split([ROWS, len(t) - ROWS]) for t in (X, y))
    torch.manual_seed(1)
    model = ARCHS[arch]()
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer, every=4, mode=mode)
    for epoch in range(epochs):
        total, steps = 0.0, 0
        for xb, yb in _batches(how, X, y, epoch):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            if anchored:
                loss = loss + 0.01 * model(X_val[:2]).pow(2).mean()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total, steps = total + loss.item(), steps + 1
        with torch.no_grad():
            val_loss = F.cross_entropy(model(X_val), y_val).item()
        doctor.epoch_end(total / steps, val_loss)
    return doctor


def _repeated(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "repeated_batch"]


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("how", ["seed_each_step", "first_batch"])
def test_one_batch_for_ever_is_told_with_the_steps_that_saw_it(arch, how):
    (found,) = _repeated(_loop(arch, how))
    assert found.severity == "error"
    epochs = found.evidence["epochs"]
    assert len(set(epochs)) == 2 and len(epochs) == 3  # two of one epoch, one of the next
    assert found.step == found.evidence["steps"][-1] < 2 * ROWS // BATCH  # by epoch 1
    assert "manual_seed" in found.message and "next(iter(loader))" in found.message


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("how", ["shuffled", "in_order", "seed_each_epoch", "full_batch"])
def test_batches_that_change_within_an_epoch_are_not_told(arch, how):
    # in order or re-seeded each epoch, the batches repeat from epoch to epoch, not within
    # one; full-batch training takes one step an epoch
    epochs = 20 if how == "full_batch" else 4
    assert _repeated(_loop(arch, how, epochs)) == []


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
@pytest.mark.parametrize("how", ["shuffled", "seed_each_step"])
def test_fixed_rows_the_loss_reads_beside_the_batch_are_not_the_batch(arch, how):
    """Two fixed rows read after each batch (a physics-informed loss's boundary points:
    stress 28 told a healthy one "every step trains on the same batch"): the batch is the
    input that reads the most values; one batch for ever beside them is still told."""
    found = _repeated(_loop(arch, how, anchored=True))
    assert bool(found) == (how == "seed_each_step"), found


def test_what_overfits_that_batch_is_explained_by_it_not_treated():
    doctor = _loop("mlp", "seed_each_step", epochs=12, mode="repair")
    (root,) = _repeated(doctor)
    assert doctor.repairs == []  # no remedy of the doctor's draws new batches
    followed = [f for f in doctor.findings if f is not root and f.severity != "info"]
    assert [f.code for f in followed] == ["overfitting"]
    assert "Cause: every step trains on the same batch" in followed[0].message


@pytest.mark.parametrize("acting", [True, False])
def test_a_q_network_acting_on_one_start_state_between_replay_batches_is_not_told(acting):
    """A DQN acts on its start state before each replay step, in train mode with gradients
    on, and trains on replay batches of one-hot states, whose sum and norm are the batch
    size and its root whatever states they hold (stress 26: repeated_batch on 3 seeds of
    6). The input read is the training batch's, fingerprinted by its values' positions."""
    g = torch.Generator().manual_seed(0)
    states = F.one_hot(torch.randint(0, 10, (4000,), generator=g), 10).float()
    targets = torch.randn(4000, generator=g)
    torch.manual_seed(0)
    q = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(q.parameters(), 1e-3)
    doctor = trainwell.Doctor(q, optimizer, every=4)
    start = F.one_hot(torch.tensor([2]), 10).float()
    for _ in range(6):
        for i in range(0, 4000, 100):
            if acting:
                q(start).argmax(1)  # the action at the start state
            optimizer.zero_grad()
            loss = F.mse_loss(q(states[i : i + 32])[:, 0], targets[i : i + 32])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    assert not [f for f in doctor.findings if f.code == "repeated_batch"]
