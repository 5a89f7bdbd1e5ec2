"""`fit(config, model=...)` tries your own module on two training rows before anything is
written: a module the training step cannot take is one line naming why, and no run
directory is left behind (it was a torch error from inside the first step, the run left
"failed"); a regression head's (batch, 1) is refused, not broadcast against (batch,)."""

import itertools
import json

import pytest
import torch
from torch import nn

import trainwell


class Net(nn.Module):
    def __init__(self, outputs: int = 10, squeeze: bool = False, inputs: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(inputs, 32), nn.ReLU(), nn.Linear(32, outputs))
        self.squeeze = squeeze

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        return out.squeeze(-1) if self.squeeze else out


class TupleOut(Net):
    def forward(self, x):
        return self.net(x), None


class NeedsMask(Net):
    def forward(self, x, mask):
        return self.net(x)


class AuxInTraining(Net):
    """As Inception v3 and GoogLeNet: an auxiliary output while training."""

    def forward(self, x):
        out = self.net(x)
        return (out, out) if self.training else out


DIGITS = {"data": {"source": "digits", "audit": False}, "train": {"epochs": 1}}
REGRESSION = {"data": {"source": "diabetes", "audit": False}, "train": {"epochs": 1}}


@pytest.mark.parametrize(
    ("config", "model", "words"),
    [
        (DIGITS, Net(7), "shape [2, 7] for 2 rows; this classification needs [2, 10]"),
        (DIGITS, TupleOut(), "returns a tuple; it must return one tensor"),
        (DIGITS, Net().double(), "cannot run on this data's rows"),
        (DIGITS, NeedsMask(), "missing 1 required positional argument: 'mask'"),
        (DIGITS, AuxInTraining(), "returns a tuple"),
        (REGRESSION, Net(1, inputs=10), "needs [2]: end forward with .squeeze(-1)"),
        (DIGITS, Net().requires_grad_(False), "has no trainable parameter"),
    ],
)
def test_a_module_the_step_cannot_take_is_one_line_before_anything_is_written(
    out, config, model, words
):
    with pytest.raises(trainwell.InputError) as caught:
        trainwell.fit(config, model=model, out=out, report=False)
    assert words in str(caught.value) and "\n" not in str(caught.value)
    assert not out.exists()


# a lazy module: the audit counted its parameters before any forward had shaped them
LAZY = nn.Sequential(nn.LazyLinear(32), nn.ReLU(), nn.Linear(32, 10))


@pytest.mark.parametrize(
    ("config", "model"),
    [
        (DIGITS, Net()),
        (REGRESSION, Net(1, True, inputs=10)),
        ({**DIGITS, "data": {"source": "digits"}}, LAZY),
    ],
)
def test_a_module_that_fits_the_data_trains(out, config, model):
    run = trainwell.fit(config, model=model, out=out, report=False)
    assert run.status == "completed" and run.metrics["epochs"] == 1


@pytest.mark.parametrize("own", [True, False])
def test_a_run_of_your_own_module_is_named_and_shown_by_its_class(out, own):
    """The directory and the report's configuration said `mlp` for any module."""
    run = trainwell.fit(DIGITS, model=Net() if own else None, out=out)
    assert run.run_dir.name.startswith("digits-net-" if own else "digits-mlp-")
    page = (run.run_dir / "report.html").read_text()
    assert ("class: Net" in page) is own and ("hidden:" in page) is not own


def test_a_run_of_your_own_module_is_refused_by_the_verbs_that_cannot_take_it(out, tmp_path):
    """Serve, monitor, retrain and the registry load a run by its path: they said "pass it as
    load_run(path, model)", which none of them takes, and `registry add` took the run."""
    from trainwell import registry
    from trainwell.errors import InputError

    own = trainwell.fit(DIGITS, model=Net(), out=out, report=False).run_dir
    for load in (trainwell.load_run, lambda path: registry.add(path, "own", home=tmp_path)):
        with pytest.raises(
            InputError, match=r"your own nn.Module \(Net\): .* load_run\(path, Net\(\)\)"
        ):
            load(own)
    built = trainwell.fit(DIGITS, out=out, report=False).run_dir
    assert registry.add(built, "built", home=tmp_path).version == 1


def test_the_try_leaves_the_module_and_the_random_stream_as_they_were():
    from trainwell.config import load_config
    from trainwell.data import load_splits
    from trainwell.pipeline._own_model import check_own_model

    model = nn.Sequential(
        nn.Linear(64, 16), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Linear(16, 10)
    ).eval()
    data = load_splits(load_config(DIGITS))
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_own_model(model, data)
    assert torch.equal(torch.rand(3), expected) and not model.training
    assert torch.equal(model[1].running_mean, torch.zeros(16))
    assert int(model[1].num_batches_tracked) == 0


class _StopAfter(trainwell.Callback):
    """A Ctrl-C after epoch `epoch`: the run checkpoints and stops, resumable."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch, metrics):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_run_of_your_own_module_is_resumed_with_it_only(out):
    """`--resume` cannot take a module: it loaded the checkpoint into the config's network (a
    torch error, the run then "failed"), or, killed before a checkpoint, trained the config's
    network in the run directory. It now says to resume from Python, and that works."""
    from typer.testing import CliRunner

    from trainwell.cli import app

    config = {**DIGITS, "train": {"epochs": 3, "checkpoint_every": 0}}
    with pytest.raises(KeyboardInterrupt):
        trainwell.fit(config, model=Net(), out=out, report=False, callbacks=[_StopAfter(0)])
    (run_dir,) = out.iterdir()
    result = CliRunner().invoke(app, ["fit", "--resume", str(run_dir)])
    assert result.exit_code == 2 and "model=Net()" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
    # another module than the one the run trained: one line, and the run left resumable
    other = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.ReLU(), nn.Linear(8, 10))
    with pytest.raises(trainwell.InputError, match="model=Net"):
        trainwell.resume(run_dir, model=other)
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"
    resumed = trainwell.resume(run_dir, model=Net())
    assert resumed.status == "completed" and isinstance(resumed.model, Net)


class Wide(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("width", [16, 32])
def test_a_resumed_module_that_does_not_fit_the_checkpoint_is_one_line(out, width):
    """The run's own class at another width: torch's four-line error, and the run marked
    failed, before; one line now, the run left resumable. At its width it resumes."""
    config = {**DIGITS, "train": {"epochs": 4, "checkpoint_every": 0}}
    with pytest.raises(KeyboardInterrupt):
        trainwell.fit(config, model=Wide(32), out=out, report=False, callbacks=[_StopAfter(1)])
    (run_dir,) = out.iterdir()
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    if width == 32:
        assert trainwell.resume(run_dir, model=Wide(width)).status == "completed"
        return
    with pytest.raises(trainwell.InputError, match=r"net\.0\.bias is \(32,\) there, \(16,\) here"):
        trainwell.resume(run_dir, model=Wide(width))
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "interrupted"


def test_a_module_that_does_not_fit_the_saved_weights_is_one_line(out):
    def mlp(width: int) -> nn.Module:
        return nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))

    run = trainwell.fit(DIGITS, model=mlp(32), out=out, report=False)
    assert isinstance(trainwell.load_run(run.run_dir, mlp(32)).model, nn.Sequential)
    with pytest.raises(trainwell.InputError) as caught:
        trainwell.load_run(run.run_dir, mlp(16))
    message = str(caught.value)
    assert "does not fit the weights" in message and "size mismatch for 0.weight" in message
    assert "\n" not in message


class DeadStart(nn.Module):
    """Biases at -3: the ReLUs are dead from the start, and the doctor swaps them for
    LeakyReLUs inside this module (it does not rebuild your own)."""

    def __init__(self, relu: bool = True) -> None:
        super().__init__()
        act = nn.ReLU if relu else nn.Tanh
        self.net = nn.Sequential(
            nn.Linear(13, 64), act(), nn.Linear(64, 64), act(), nn.Linear(64, 3)
        )
        if relu:
            for layer in self.net[:-1:2]:
                nn.init.constant_(layer.bias, -3.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def _kinds(model: nn.Module) -> set[str]:
    return {type(m).__name__ for m in model.modules() if type(m) in (nn.ReLU, nn.LeakyReLU)}


@pytest.mark.parametrize("relu", [True, False])
def test_your_module_loaded_or_resumed_is_changed_as_the_doctor_changed_it(out, relu, monkeypatch):
    """The doctor swapped ReLU for LeakyReLU in your module; `load_run(path, DeadStart())`
    and `resume(path, model=DeadStart())` built it with ReLU, loaded the weights trained
    with LeakyReLU and predicted with another function (stress round 11: 0.98 live, 0.85
    loaded). A module the doctor did not change is loaded as it is. The swap is made the
    first remedy: biases at -3 get He init in place first, which, given the epochs a
    network started afresh gets, cures them (0.92 after 8 epochs) and leaves no swap."""
    from trainwell.health import _repair

    order = _repair.remedy_order
    monkeypatch.setattr(
        _repair,
        "remedy_order",
        lambda f, evidence: ("leaky_relu",) if f.code == "dying_relu" else order(f, evidence),
    )
    config = {
        "data": {"source": "wine", "audit": False},
        "train": {"epochs": 3, "checkpoint_every": 0},
        "doctor": {"mode": "repair"},
    }
    with pytest.raises(KeyboardInterrupt):
        trainwell.fit(config, model=DeadStart(relu), out=out, report=False,
                      callbacks=[_StopAfter(1)])  # fmt: skip
    (run_dir,) = out.iterdir()
    resumed = trainwell.resume(run_dir, model=DeadStart(relu))
    swapped = [r for r in resumed.repairs if r["remedy"] == "leaky_relu"]
    assert bool(swapped) == relu, resumed.repairs
    if relu:
        assert swapped[0]["swapped"] == ["net.1", "net.3"]
    assert _kinds(resumed.model) == ({"LeakyReLU"} if relu else set())
    loaded = trainwell.load_run(run_dir, DeadStart(relu))
    assert _kinds(loaded.model) == _kinds(resumed.model)
    X = torch.randn(20, 13)
    resumed.model.eval()
    with torch.no_grad():
        assert torch.equal(loaded.model(X), resumed.model(X))


class Deep(nn.Module):
    """Four ReLU layers of 128, started with weights of std `std` (None: PyTorch's own)."""

    def __init__(self, std: float | None = None) -> None:
        super().__init__()
        widths = [64, 128, 128, 128, 128]
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Linear(128, 10))
        if std is not None:
            for layer in self.net[::2]:
                nn.init.normal_(layer.weight, 0.0, std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("std", [1e-3, None])
def test_your_module_started_far_too_small_is_initialised_again_in_place(out, std):
    """Weights of std 1e-3 in four layers starve every gradient; the doctor, which does not
    rebuild your module, tried rates only and ended at 0.24 (stress round 11). It now draws
    the weights again in place, He for its ReLUs, and the same module learns. Started as
    PyTorch starts it, nothing is drawn again."""
    torch.manual_seed(0)
    model = Deep(std)
    config = {"data": {"source": "digits", "audit": False}, "doctor": {"mode": "repair"},
              "train": {"optimizer": "sgd", "lr": 0.05, "epochs": 20}}  # fmt: skip
    run = trainwell.fit(config, model=model, out=out, report=False)
    drawn = [r for r in run.repairs if r["remedy"] in ("matched_init", "he_init")]
    assert bool(drawn) == (std is not None), run.repairs
    assert run.model is model and run.metrics["test_accuracy"] > 0.85
    if drawn:
        assert "initialised again in place (he, for " in drawn[0]["changed"]
        assert float(model.net[0].weight.detach().std()) > 10 * std


class Tokens(nn.Module):
    """A sequence classifier over integer token ids: an embedding first."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(30, 16)
        self.rnn = nn.GRU(16, 32, batch_first=True)
        self.out = nn.Linear(32, 2)

    def forward(self, x):
        return self.out(self.rnn(self.embed(x.long().clamp(0, 29)))[1][-1])


def _token_file(tmp_path):
    """Sequences of token ids whose class is whether token 7 comes before token 3."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.integers(0, 30, size=(600, 12))
    first = lambda row, t: int(np.argmax(row == t)) if (row == t).any() else 99  # noqa: E731
    y = np.array([int(first(row, 7) < first(row, 3)) for row in X])
    np.savez(tmp_path / "tokens.npz", X=X, y=y)
    return str(tmp_path / "tokens.npz")


def test_an_embedding_module_on_standardised_ids_is_refused_in_one_line(out, tmp_path):
    """Standardised, the ids became fractions its `.long()` maps to 0 and 1: the run sat at
    chance (0.49) while the doctor advised a higher rate. Unstandardised, it learns."""
    config = {"data": {"source": _token_file(tmp_path), "audit": False}, "train": {"epochs": 15}}
    with pytest.raises(trainwell.InputError) as caught:
        trainwell.fit(config, model=Tokens(), out=out, report=False)
    assert "data.standardize: false" in str(caught.value) and "\n" not in str(caught.value)
    assert not out.exists()
    config["data"]["standardize"] = False
    run = trainwell.fit(config, model=Tokens(), out=out, report=False)
    assert run.metrics["test_accuracy"] > 0.8
