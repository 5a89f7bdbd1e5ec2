"""A validation loss and accuracy that cannot come from the same predictions: a mean cross
entropy of L means an accuracy of at least 1 - L / ln 2. A loop whose loss sees the answer
(a language model fed the token it predicts, a label leaking into the inputs) while its
accuracy is taken as the model is used is told; the same loops computing both alike are
not."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.findings import TRAINING_CODES
from trainwell.health import ProbeHistory
from trainwell.health._loss_accuracy import loss_accuracy_mismatch


class _Tokens(nn.Module):
    """A GRU that reads tokens and scores the next one at each position."""

    def __init__(self) -> None:
        super().__init__()
        self.embed, self.rnn, self.head = nn.Embedding(8, 16), nn.GRU(16, 32), nn.Linear(32, 8)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.embed(tokens))[0])


def _language(leak: bool) -> trainwell.Doctor:
    """Sequences of a random walk over 8 tokens; the model predicts each next token, its
    input the tokens before it, or (`leak`) the tokens it predicts: the loss then reads
    the answer, and the accuracy of predicting from the tokens before stays near chance."""
    g = torch.Generator().manual_seed(0)
    steps = torch.randint(-3, 4, (600, 21), generator=g)
    tokens = steps.cumsum(1) % 8
    train, val = tokens[:500], tokens[500:]
    torch.manual_seed(0)
    model = _Tokens()
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    doctor = trainwell.Doctor(model, optimizer)

    def loss_of(batch: torch.Tensor, leaked: bool) -> torch.Tensor:
        inputs = batch[:, 1:] if leaked else batch[:, :-1]
        return F.cross_entropy(model(inputs.t()).reshape(-1, 8), batch[:, 1:].t().reshape(-1))

    for _ in range(6):
        for i in range(0, 500, 50):
            optimizer.zero_grad()
            loss = loss_of(train[i : i + 50], leak)
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        with torch.no_grad():
            val_loss = loss_of(val, leak).item()
            predicted = model(val[:, :-1].t()).argmax(-1)  # as the model is used
            accuracy = (predicted == val[:, 1:].t()).float().mean().item()
        doctor.epoch_end(loss.item(), val_loss, val_accuracy=accuracy)
    return doctor


def _labelled(leak: bool, tanh_layers: int = 0, epochs: int = 6) -> trainwell.Doctor:
    """An MLP on 4 classes that, with `leak`, reads its label in an extra input column for
    its loss; its accuracy is taken with that column empty, as at prediction. ReLU, or
    `tanh_layers` of tanh."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1200, 10, generator=g)
    y = torch.randint(0, 4, (1200,), generator=g)  # labels the features do not carry
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(14, 64), nn.Tanh() if tanh_layers else nn.ReLU())
    for _ in range(tanh_layers - 1):
        model.extend([nn.Linear(64, 64), nn.Tanh()])
    model.append(nn.Linear(64, 4))
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    doctor = trainwell.Doctor(model, optimizer)

    def inputs(rows: slice, leaked: bool) -> torch.Tensor:
        column = 5.0 * F.one_hot(y[rows], 4) if leaked else torch.zeros(len(X[rows]), 4)
        return torch.cat([X[rows], column], 1)

    for _ in range(epochs):
        for i in range(0, 1000, 50):
            optimizer.zero_grad()
            rows = slice(i, i + 50)
            loss = F.cross_entropy(model(inputs(rows, leak)), y[rows])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        with torch.no_grad():
            held = slice(1000, 1200)
            val_loss = F.cross_entropy(model(inputs(held, leak)), y[held]).item()
            accuracy = (model(inputs(held, False)).argmax(1) == y[held]).float().mean().item()
        doctor.epoch_end(loss.item(), val_loss, val_accuracy=accuracy)
    return doctor


LOOPS = {"language": _language, "labelled": _labelled}


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "loss_accuracy_mismatch"]


@pytest.mark.parametrize("loop", list(LOOPS))
def test_a_loss_that_saw_the_answers_beside_the_accuracy_of_use_is_told(loop):
    (found,) = _told(LOOPS[loop](leak=True))
    assert found.severity == "error"
    assert found.evidence["val_accuracy"] < 0.3 < found.evidence["accuracy_at_least"]


@pytest.mark.parametrize("loop", list(LOOPS))
def test_a_loss_and_accuracy_of_the_same_outputs_are_not(loop):
    assert _told(LOOPS[loop](leak=False)) == []


@pytest.mark.parametrize("leak", [True, False])
def test_what_a_loss_that_saw_the_answers_does_to_the_units_is_explained_by_it(leak):
    """Four tanh layers under Adam at 1e-2: the label in the inputs makes the network
    confident, and its units saturate; the mismatch is named their cause (a decoder fed
    the tokens it predicts was told to use ReLU, stress 26). Without the leak it cannot
    learn the labels, and its stall is its own."""
    doctor = _labelled(leak, tanh_layers=4, epochs=8)
    training = [f for f in doctor.findings if f.code in TRAINING_CODES]
    assert training, doctor.findings
    explained = [f.evidence.get("explained_by") for f in training if f.severity != "info"]
    assert explained == [("loss_accuracy_mismatch" if leak else None)] * len(explained)
    assert bool(_told(doctor)) == leak


@pytest.mark.parametrize(
    ("rows", "told"),
    [
        ([(0.005, 0.05), (0.004, 0.03)], True),
        ([(0.005, 0.05)], False),  # one epoch
        ([(0.005, 0.99), (0.004, 0.99)], False),  # a confident, accurate model
        ([(0.5, 0.05), (0.4, 0.03)], False),  # a loss that allows the accuracy
        ([(0.005, 5.0), (0.004, 3.0)], False),  # accuracy in percent
    ],
)
def test_the_bound_a_cross_entropy_puts_on_the_accuracy(rows, told):
    h = ProbeHistory(layers=[], activations=[], activation_kinds=[])
    h.chance_loss = math.log(4)
    h.curves = [
        {"epoch": e, "train_loss": 0.1, "val_loss": loss, "val_accuracy": accuracy}
        for e, (loss, accuracy) in enumerate(rows)
    ]
    assert (loss_accuracy_mismatch(h, len(rows) - 1, 100) is not None) == told
    h.chance_loss = None  # not a cross entropy over classes: not judged
    assert loss_accuracy_mismatch(h, len(rows) - 1, 100) is None
