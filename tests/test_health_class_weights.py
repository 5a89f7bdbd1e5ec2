"""Class weights the wrong way round (`pos_weight = positives / negatives`, `weight=counts`)
are read from the loss's gradient at the outputs and told, for a cross entropy, a binary
one and several labels' binary ones; weights that balance the classes, no weights, and
losses whose gradient has another form are not."""

from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health._class_weights import (
    LossForms,
    class_weights_read,
    loss_forms,
    weights_of,
)

SHARES = (0.55, 0.25, 0.12, 0.08)  # of the rows, per class


def _mlp(outputs: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, outputs))


def _cnn(outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(4 * 4 * 4, outputs),
    )  # fmt: skip


ARCHS = {"mlp": _mlp, "cnn": _cnn}


def _data(binary: bool, labels: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 images, each class's rows a share of `SHARES` (binary: the last class against
    the others, 8% positives; `labels`: three labels, class 3 (8%), class 2 or 3 (20%) and
    class 1 (25%)), its mean brightness in a quadrant of its own."""
    g = torch.Generator().manual_seed(0)
    counts = [int(1600 * share) for share in SHARES]
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    X = torch.randn(len(y), 1, 8, 8, generator=g)
    for c in range(4):
        X[y == c, 0, 4 * (c // 2) : 4 * (c // 2) + 4, 4 * (c % 2) : 4 * (c % 2) + 4] += 1.0
    order = torch.randperm(len(y), generator=g)
    X, y = X[order], y[order]
    if labels:
        return X, torch.stack([y == 3, y >= 2, y == 1], 1).float()
    return (X, (y == 3).float()) if binary else (X, y)


def _loss(weights: str, binary: bool, y: torch.Tensor):
    if y.dim() == 2:  # several labels, a pos_weight each
        positives, negatives = y.sum(0), (1 - y).sum(0)
        pos_weight = {
            "inverted": positives / negatives,
            "balancing": negatives / positives,
            "none": None,
        }[weights]
        return lambda out, t: F.binary_cross_entropy_with_logits(out, t, pos_weight=pos_weight)
    counts = torch.bincount(y.long()).float()
    if binary:
        positives, negatives = counts[1], counts[0]
        pos_weight = {
            "inverted": positives / negatives,
            "balancing": negatives / positives,
            "none": None,
        }[weights]
        return lambda out, t: F.binary_cross_entropy_with_logits(
            out.squeeze(1), t, pos_weight=pos_weight
        )
    weight = {
        "inverted": counts / counts.mean(),
        "balancing": counts.mean() / counts,
        "none": None,
        "smoothed_inverted": counts / counts.mean(),
    }[weights]
    smoothing = 0.1 if weights.startswith("smoothed") else 0.0
    return lambda out, t: F.cross_entropy(out, t, weight=weight, label_smoothing=smoothing)


def _loop(
    arch: str, weights: str, binary: bool = False, epochs: int = 4, labels: bool = False
) -> trainwell.Doctor:
    X, y = _data(binary, labels)
    torch.manual_seed(0)
    model = ARCHS[arch](3 if labels else 1 if binary else 4)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    loss_fn = _loss(weights, binary, y)
    doctor = trainwell.Doctor(model, optimizer, every=4)
    for _ in range(epochs):
        total = 0.0
        for i in range(0, len(y), 64):
            optimizer.zero_grad()
            loss = loss_fn(model(X[i : i + 64]), y[i : i + 64])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / 25)
    return doctor


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "inverted_class_weights"]


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("binary", [False, True], ids=["weight", "pos_weight"])
def test_weights_that_favour_the_frequent_class_are_told(arch, binary):
    (found,) = _told(_loop(arch, "inverted", binary))
    assert found.severity == "warning"
    assert found.evidence["binary"] is binary
    # the most frequent class (0, or the negatives) against the rarest (3, the positives)
    assert (found.evidence["frequent"], found.evidence["rare"]) == (0, 1 if binary else 3)
    planted = SHARES[0] / SHARES[3] if not binary else (1 - SHARES[3]) / SHARES[3]
    assert planted / 2 < found.evidence["weight_ratio"] < planted * 2
    assert "inverse frequency" in found.message


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("binary", [False, True], ids=["weight", "pos_weight"])
@pytest.mark.parametrize("weights", ["balancing", "none"])
def test_weights_that_balance_the_classes_or_none_are_not(arch, binary, weights):
    assert _told(_loop(arch, weights, binary)) == []


@pytest.mark.parametrize("arch", list(ARCHS))
def test_several_labels_weighed_the_wrong_way_round_are_told(arch):
    """A pos_weight a label, each its positives over its negatives (stress 26's multi-label
    loop: 0.43 F1 against 0.59): each label's negatives and positives read as two classes,
    the rarest positives (label 0's, 8%) against the most frequent negatives (label 2's)."""
    (found,) = _told(_loop(arch, "inverted", labels=True))
    assert found.evidence["binary"] is True
    assert (found.evidence["frequent"], found.evidence["rare"]) == (2 * 0, 2 * 0 + 1)
    assert "label 0's negative rows" in found.message
    assert "label 0's positive ones" in found.message
    # each side's share of its own label's rows: the two add up to all of them
    shares = [int(s.split("%")[0]) for s in found.message.split("(")[1:3]]
    assert "of its label's rows probed" in found.message and 99 <= sum(shares) <= 101, found.message


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("weights", ["balancing", "none"])
def test_several_labels_weighed_to_balance_them_or_not_at_all_are_not(arch, weights):
    assert _told(_loop(arch, weights, labels=True)) == []


def _weights(out: torch.Tensor):
    reading, blocks = class_weights_read(out.grad, out.detach())
    return weights_of(reading.numpy(), blocks)


def test_a_gradient_of_another_form_reads_no_weights():
    # label smoothing moves every row's target off the one-hot: not read, whatever the weights
    assert _told(_loop("mlp", "smoothed_inverted")) == []
    out = torch.randn(32, 1, requires_grad=True)  # a regression's squared error
    F.mse_loss(out, torch.randn(32, 1)).backward()
    assert _weights(out) is None


def test_a_vocabularys_scores_are_not_read():
    # a cross entropy's gradient over 2,000 classes: a language model's, not read (another
    # copy of its scores at each probe); the same over 10 classes is
    for classes, read in ((2000, False), (10, True)):
        out = torch.randn(64, classes, requires_grad=True)
        F.cross_entropy(out, torch.randint(0, classes, (64,))).backward()
        assert (class_weights_read(out.grad, out.detach()) is not None) is read
        if read:
            assert _weights(out) is not None


@pytest.mark.parametrize("weights", ["inverted", "balancing"])
def test_the_trainers_doctor_reads_a_loss_of_your_own_alike(weights):
    from trainwell.health import DoctorCallback
    from trainwell.train import TensorBatches, Trainer

    X, y = _data(binary=False)
    torch.manual_seed(0)
    model = _mlp(4)
    doctor = DoctorCallback(mode="detect")
    loss_fn = _loss(weights, False, y)
    trainer = Trainer(
        model, torch.optim.Adam(model.parameters(), 3e-3), loss_fn, epochs=4, callbacks=[doctor]
    )
    trainer.fit(TensorBatches(X, y, 64, seed=0))
    told = [f for f in doctor.examiner.findings if f.code == "inverted_class_weights"]
    assert len(told) == (weights == "inverted")


def test_the_loss_graph_says_which_readings_are_worth_taking():
    """A loop's doctor reads the graph at its looks: a cross entropy's scores are read as
    such only, a binary one's as such, a regression's not at all; and only where the loss
    can weigh its rows differently (a weight, a pos_weight, rows left unreduced for the
    loop to weigh): an unweighted mean or sum weighs every class alike."""
    out, labels = torch.randn(8, 4, requires_grad=True), torch.randint(0, 4, (8,))
    weight, targets = torch.rand(4), torch.ones(8, 4)
    smoothed = F.cross_entropy(out, labels, weight=weight, label_smoothing=0.1)
    assert loss_forms(smoothed) == (True, False, False)
    with_pos_weight = F.binary_cross_entropy_with_logits(out, targets, pos_weight=weight)
    assert loss_forms(with_pos_weight) == (False, True, False)
    assert loss_forms(F.mse_loss(out, targets)) == (False, False, False)
    summed = 2 * F.cross_entropy(out, labels, weight=weight) + F.mse_loss(out, targets)
    assert loss_forms(summed) == (True, False, False)
    by_rows = (F.cross_entropy(out, labels, reduction="none") * weight[labels]).mean()
    assert loss_forms(by_rows) == (True, False, False)
    # the same losses unweighted: every row alike, nothing to read
    assert loss_forms(F.cross_entropy(out, labels, label_smoothing=0.1)) == (False, False, False)
    assert loss_forms(F.binary_cross_entropy_with_logits(out, targets)) == (False, False, False)
    assert loss_forms(2 * F.cross_entropy(out, labels, reduction="sum")) == (False, False, False)
    weighted = F.cross_entropy(out, labels, weight=weight)
    weighted.backward()  # the doctor reads the graph after it, its saved weight freed
    assert loss_forms(weighted) == (True, False, False)
    out.grad = None
    # a segmentation's (batch, classes, height, width) scores, weighed: read by position
    pixels = torch.randn(2, 4, 3, 3, requires_grad=True)
    per_pixel = F.cross_entropy(pixels, torch.zeros(2, 3, 3).long(), weight=weight)
    assert loss_forms(per_pixel) == (True, False, True)
    F.cross_entropy(out, labels).backward()
    assert class_weights_read(out.grad, out.detach(), LossForms(False, False)) is None
    ((classes, binary),) = class_weights_read(out.grad, out.detach(), LossForms(True, False))[1]
    assert (classes, binary) == (4, False)


def test_a_sequences_scores_flattened_by_the_loss_are_not_read_by_position():
    """(batch, time, classes) scores a loss reads as `view(-1, classes)`: their second axis
    is time, not the classes, and a language model's would cost a copy of its vocabulary's
    scores at every probe; (batch, classes, time) ones torch's cross entropy reads per
    position are."""
    weight = torch.rand(5)
    tokens = torch.randn(4, 7, 5, requires_grad=True)  # (batch, time, classes)
    labels = torch.randint(0, 5, (4, 7))
    loss = F.cross_entropy(tokens.reshape(-1, 5), labels.reshape(-1), weight=weight)
    loss.backward()
    forms = loss_forms(loss)
    assert forms == (True, False, False)
    assert class_weights_read(tokens.grad, tokens.detach(), forms) is None
    scores = torch.randn(4, 5, 7, requires_grad=True)  # (batch, classes, time)
    loss = F.cross_entropy(scores, labels, weight=weight)
    loss.backward()
    forms = loss_forms(loss)
    assert forms == (True, False, True)
    ((classes, binary),) = class_weights_read(scores.grad, scores.detach(), forms)[1]
    assert (classes, binary) == (5, False)


def _pixels(binary: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """12x12 noisy images of a disc (class 1, ~18% of the pixels) and a thin bar (class 2,
    ~5%) on background (~77%); binary: the bar against the rest."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
    masks = torch.zeros(512, 12, 12, dtype=torch.long)
    for i in range(len(masks)):
        cx, cy, row, col = torch.randint(3, 9, (4,), generator=g).tolist()
        masks[i][(xx - cx) ** 2 + (yy - cy) ** 2 <= 5] = 1
        masks[i, row, col - 3 : col + 3] = 2
    X = masks[:, None].float() + 0.6 * torch.randn(len(masks), 1, 12, 12, generator=g)
    return X, (masks == 2).float()[:, None] if binary else masks


@pytest.mark.parametrize("binary", [False, True], ids=["weight", "pos_weight"])
@pytest.mark.parametrize("weights", ["inverted", "balancing", "none"])
def test_a_segmentations_pixels_are_read_as_rows(binary, weights):
    """Per-pixel class weights, where they are most often hand-written: a cross entropy
    over `(batch, classes, height, width)` scores weighed by the classes' pixel counts
    (stress 28: mean IoU 0.55 against 0.76) is told, as a binary one with `pos_weight`
    inverted; weights that balance the pixels, or none, are not."""
    X, masks = _pixels(binary)
    if binary:
        share = masks.mean()
        pos_weight = {"inverted": share / (1 - share), "balancing": (1 - share) / share}
        pos_weight = pos_weight.get(weights)
        loss_fn = partial(F.binary_cross_entropy_with_logits, pos_weight=pos_weight)
    else:
        counts = torch.bincount(masks.reshape(-1)).float()
        weight = {"inverted": counts / counts.mean(), "balancing": counts.mean() / counts}
        loss_fn = partial(F.cross_entropy, weight=weight.get(weights))
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Conv2d(8, 1 if binary else 3, 1),
    )  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    doctor = trainwell.Doctor(model, optimizer, every=4)
    for _ in range(3):
        total = 0.0
        for i in range(0, len(masks), 32):
            optimizer.zero_grad()
            loss = loss_fn(model(X[i : i + 32]), masks[i : i + 32])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / 16)
    told = _told(doctor)
    assert len(told) == (weights == "inverted"), [f.message for f in doctor.findings]
    if told:  # the background (or the bar's negatives) against the bar
        assert told[0].evidence["binary"] is binary
        assert (told[0].evidence["frequent"], told[0].evidence["rare"]) == (
            (0, 1) if binary else (0, 2)
        )
