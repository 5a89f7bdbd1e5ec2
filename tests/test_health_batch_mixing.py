"""`batch_mixing`: rows of a batch that a model reads into each other (a GRU or transformer
built without batch_first=True and fed the batch first, a view where a permute was meant),
each against the same loop without the bug, and the models whose rows mix on purpose."""

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

import trainwell
from trainwell.findings import TRAINING_CODES


class GRUClassifier(nn.Module):
    def __init__(self, batch_first: bool, tokens: bool = False) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8) if tokens else nn.Identity()
        self.gru = nn.GRU(8, 32, batch_first=batch_first)
        self.head = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps, _ = self.gru(self.embed(x))
        return self.head(steps[:, -1])


class EncoderClassifier(nn.Module):
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=batch_first)
        with warnings.catch_warnings():  # (torch's advice to use batch_first)
            warnings.simplefilter("ignore")
            self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x)).mean(1))


class TimeFirstFed(nn.Module):
    """A GRU built time first and fed (time, batch, features): right."""

    def __init__(self) -> None:
        super().__init__()
        self.gru, self.head = nn.GRU(8, 32), nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps, _ = self.gru(x)
        return self.head(steps[-1])


class Conv1dOverTime(nn.Module):
    """(batch, time, channels) into Conv1d's (batch, channels, time): by permute, or by a
    reshape and transpose that reads the rows into each other."""

    def __init__(self, mixes: bool) -> None:
        super().__init__()
        self.mixes = mixes
        self.conv, self.head = nn.Conv1d(8, 16, 3, padding=1), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, time, channels = x.shape
        mixed = x.reshape(channels, batch, time).transpose(0, 1)
        return self.head(self.conv(mixed if self.mixes else x.permute(0, 2, 1)).mean(-1))


class ClampsItsInput(nn.Module):
    """Writes into its input in place, and runs a part under reentrant checkpointing."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.head = nn.Conv1d(12, 16, 3, padding=1), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.clamp_(-2, 2)
        hidden = checkpoint(self.conv, x, use_reentrant=True)
        return self.head(hidden.mean(-1))


def _sequences() -> torch.Tensor:
    return torch.randn(32, 12, 8)


def _tokens() -> torch.Tensor:
    return torch.randint(0, 20, (32, 12))


def _loop(model: nn.Module, batch, steps: int = 30) -> trainwell.Doctor:
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    doctor = trainwell.Doctor(model, optimizer)
    for _ in range(steps):
        x, y = batch(), torch.randint(0, 4, (32,))
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        doctor.step(loss)
        optimizer.step()
    doctor.epoch_end(loss.item())
    return doctor


def _mixing(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "batch_mixing"]


@pytest.mark.parametrize(
    "build, batch",
    [
        (lambda bf: GRUClassifier(bf), _sequences),
        (lambda bf: GRUClassifier(bf, tokens=True), _tokens),
        (EncoderClassifier, _tokens),
    ],
    ids=["gru", "gru-tokens", "encoder"],
)
def test_a_time_first_layer_fed_the_batch_first_is_an_error_and_batch_first_is_clean(build, batch):
    torch.manual_seed(0)
    [found] = _mixing(_loop(build(False), batch))
    assert found.severity == "error" and found.step == 1
    assert found.evidence["share"] >= 0.1 and found.evidence["output_shape"] == [32, 4]
    assert found.evidence["time_first"] and "batch_first=False" in found.message
    assert "batch_first=True" in found.message  # the fix
    torch.manual_seed(0)
    assert _mixing(_loop(build(True), batch)) == []


def test_a_time_first_layer_fed_time_first_is_clean():
    assert _mixing(_loop(TimeFirstFed(), lambda: torch.randn(12, 32, 8))) == []


def test_a_reshape_where_a_permute_was_meant_is_a_warning():
    [found] = _mixing(_loop(Conv1dOverTime(mixes=True), _sequences))
    assert found.severity == "warning" and "time_first" not in found.evidence
    assert "permute" in found.message
    assert _mixing(_loop(Conv1dOverTime(mixes=False), _sequences)) == []


def test_batch_norm_in_train_mode_mixes_rows_on_purpose_and_is_not_measured():
    def cnn(norm: nn.Module) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 8, 3), norm, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(8, 4),
        )  # fmt: skip

    images = lambda: torch.randn(32, 1, 10, 10)  # noqa: E731
    for norm in (nn.BatchNorm2d(8), nn.GroupNorm(2, 8)):
        doctor = _loop(cnn(norm), images)
        assert _mixing(doctor) == [] and doctor._mixing.done


@pytest.mark.filterwarnings("ignore:None of the inputs have requires_grad")
def test_the_measure_changes_nothing_the_loop_computes():
    """The loop's gradients at the measured step are those of the loop without a doctor,
    and a model writing into its input or checkpointing trains on, unmeasured."""
    grads = []
    for watched in (False, True):
        torch.manual_seed(0)
        model = GRUClassifier(batch_first=False)
        optimizer = torch.optim.SGD(model.parameters(), 0.1)
        doctor = trainwell.Doctor(model, optimizer) if watched else None
        for _ in range(2):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(_sequences()), torch.randint(0, 4, (32,)))
            loss.backward()
            if doctor is not None:
                doctor.step(loss)
            optimizer.step()
        grads.append([p.grad.clone() for p in model.parameters()])
    assert doctor._mixing.mixed is not None  # measured at the second step
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))

    doctor = _loop(ClampsItsInput(), lambda: torch.randn(32, 12, 8) * 3)
    assert doctor._mixing.done and _mixing(doctor) == []


class ClassTokenEncoder(nn.Module):
    """Flattened 8x8 images, their rows as tokens behind a class token, classified by it
    (`h[:, 0]`): built time first, the class tokens of the batch attend to each other and
    no output reads the image (stress 29)."""

    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.tokens, self.cls = nn.Linear(8, 32), nn.Parameter(torch.zeros(1, 1, 32))
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=batch_first)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.tokens(x.view(len(x), 8, 8))
        hidden = self.encoder(torch.cat([self.cls.expand(len(x), -1, -1), tokens], 1))
        return self.head(hidden[:, 0])


class AttendsOverTheBatch(nn.Module):
    """Attention over a table's rows as one set, on purpose (a graph's nodes, a bag)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed, self.attend = nn.Linear(64, 32), nn.MultiheadAttention(32, 4)
        self.head = nn.Linear(32, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self.embed(x).unsqueeze(1)  # (rows, 1, features): the rows are the sequence
        return self.head(self.attend(rows, rows, rows)[0][:, 0])


def test_a_class_token_read_along_the_batch_ignores_the_input_and_explains_its_symptoms():
    doctor = _loop(ClassTokenEncoder(batch_first=False), lambda: torch.randn(32, 64))
    [found] = _mixing(doctor)
    assert found.evidence["input_ignored"] and "ignores its input" in found.message
    assert found.evidence["time_first"] and found.severity == "warning"  # a table's rows
    symptoms = [f for f in doctor.findings if f.code in TRAINING_CODES and f.severity != "info"]
    assert symptoms and all(f.evidence.get("explained_by") == "batch_mixing" for f in symptoms)
    assert _mixing(_loop(ClassTokenEncoder(batch_first=True), lambda: torch.randn(32, 64))) == []


def test_attention_over_a_table_s_rows_as_one_set_is_only_a_warning():
    [found] = _mixing(_loop(AttendsOverTheBatch(), lambda: torch.randn(32, 64)))
    assert found.severity == "warning" and "one set" in found.message
    assert not found.evidence["input_ignored"]
    table = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4))  # no time-first part
    doctor = _loop(table, lambda: torch.randn(32, 64))
    assert _mixing(doctor) == [] and doctor._mixing.done


class OnceOnly(torch.autograd.Function):
    """A custom backward that frees what it saved: it can run once."""

    @staticmethod
    def forward(ctx, x):
        ctx.kept = [x.detach()]
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        ctx.kept.pop()
        return grad * 2


class WithOnceOnly(GRUClassifier):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(OnceOnly.apply(x))


def test_the_measure_stays_out_of_backward_hooks_and_custom_backwards():
    """Per-sample-gradient and logging hooks would be called by the measure's passes, and a
    custom backward that runs once would fail in the loop's own backward: not measured."""
    hooked = GRUClassifier(batch_first=False)
    calls = []
    hooked.head.register_full_backward_hook(lambda *args: calls.append(1))
    doctor = _loop(hooked, _sequences, steps=3)
    assert len(calls) == 3 and doctor._mixing.done and doctor._mixing.mixed is None
    doctor = _loop(WithOnceOnly(batch_first=False), _sequences, steps=3)  # (no TypeError)
    assert doctor._mixing.done and doctor._mixing.mixed is None


def test_an_input_written_into_in_place_is_written_for_the_loop_too():
    model = ClampsItsInput()
    model.forward = lambda x: model.head(model.conv(x.clamp_(-2, 2)).mean(-1))
    doctor = trainwell.Doctor(model, torch.optim.SGD(model.parameters(), 0.1))
    for _ in range(2):
        x = torch.randn(32, 12, 8) * 3
        loss = F.cross_entropy(model(x), torch.randint(0, 4, (32,)))
        loss.backward()
        doctor.step(loss)
    assert doctor._mixing.done and float(x.abs().max()) == 2.0  # measured at this forward
