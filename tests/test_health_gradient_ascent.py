"""An optimizer that adds its step where it should subtract it climbs the gradient: the
doctor measures the update against the gradient at its checks and names it, where the
symptoms (a divergence, exploding gradients) would have had the rate cut for nothing.
Optimizers that descend, plain, with momentum, adaptive, decoupled weight decay, or
maximising a negated loss on purpose, are not flagged."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell
from trainwell.health._ascent import unjudged


class HandWritten(torch.optim.Optimizer):
    """SGD with momentum, or Adam, written out; `sign=+1` adds the step (the bug)."""

    def __init__(
        self, params, lr: float, adam: bool, sign: float = -1.0, maximize: bool = False
    ) -> None:
        super().__init__(params, {"lr": lr, "maximize": maximize})
        self.adam, self.sign = adam, sign

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(m=torch.zeros_like(p), v=torch.zeros_like(p), t=0)
                state["t"] += 1
                if self.adam:
                    state["m"].mul_(0.9).add_(p.grad, alpha=0.1)
                    state["v"].mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                    m = state["m"] / (1 - 0.9 ** state["t"])
                    v = state["v"] / (1 - 0.999 ** state["t"])
                    step = group["lr"] * m / (v.sqrt() + 1e-8)
                else:
                    state["m"].mul_(0.9).add_(p.grad)
                    step = group["lr"] * state["m"]
                p.add_(self.sign * step)


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))


def _cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(8 * 4 * 4, 4),
    )  # fmt: skip


ARCHS = {"mlp": _mlp, "cnn": _cnn}
OPTIMIZERS = {
    "sgd_momentum": lambda p, sign: HandWritten(p, 0.01, adam=False, sign=sign),
    "adam": lambda p, sign: HandWritten(p, 1e-3, adam=True, sign=sign),
}
HEALTHY = {
    "torch_sgd": lambda p: torch.optim.SGD(p, 0.05, momentum=0.9),
    "torch_adam": lambda p: torch.optim.Adam(p, 1e-3),
    "torch_adamw": lambda p: torch.optim.AdamW(p, 1e-3, weight_decay=0.1),
    "maximize_negated": lambda p: torch.optim.SGD(p, 0.05, maximize=True),
}


def _loop(arch: str, make_optimizer, mode: str = "detect", epochs: int = 4) -> trainwell.Doctor:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 1, 8, 8, generator=g)
    y = (X[:, 0, :4].mean((1, 2)) > 0).long() + 2 * (X[:, 0, :, :4].mean((1, 2)) > 0)
    torch.manual_seed(0)
    model = ARCHS[arch]()
    optimizer = make_optimizer(model.parameters())
    negated = any(group.get("maximize") for group in optimizer.param_groups)
    doctor = trainwell.Doctor(model, optimizer, every=4, mode=mode)
    for _ in range(epochs):
        total = 0.0
        for i in range(0, 512, 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(X[i : i + 32]), y[i : i + 32])
            (-loss if negated else loss).backward()  # maximised on purpose: its negation
            doctor.step(-loss if negated else loss)
            optimizer.step()
            total += loss.item()
        doctor.epoch_end(total / 16)
    return doctor


def _ascent(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "gradient_ascent"]


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_an_optimizer_that_adds_its_step_is_told(arch, optimizer):
    doctor = _loop(arch, lambda p: OPTIMIZERS[optimizer](p, +1.0))
    (found,) = _ascent(doctor)
    assert found.severity == "error"
    assert all(cosine > 0.1 for cosine in found.evidence["uphill"])
    assert "p.sub_(step)" in found.message


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_the_same_optimizer_subtracting_its_step_is_not(arch, optimizer):
    assert _ascent(_loop(arch, lambda p: OPTIMIZERS[optimizer](p, -1.0))) == []


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("optimizer", list(HEALTHY))
def test_torch_optimizers_descending_are_not_told(arch, optimizer):
    assert _ascent(_loop(arch, HEALTHY[optimizer])) == []


def test_the_symptoms_are_explained_by_it_and_the_rate_is_left_alone():
    doctor = _loop("mlp", lambda p: OPTIMIZERS["sgd_momentum"](p, +1.0), mode="repair")
    (root,) = _ascent(doctor)
    assert doctor.repairs == []  # no rate cut, no clipping: they only slow the climb
    symptoms = [f for f in doctor.findings if f is not root and f.severity != "info"]
    assert symptoms, "the climb shows as training findings too"
    for finding in symptoms:
        assert finding.evidence.get("explained_by") == "gradient_ascent", finding.code


def test_torch_optimizers_are_not_measured_an_optimizer_of_your_own_is():
    """torch's optimizers descend by construction: a DQN's Adam, its momentum against an
    oscillating gradient's latest, measured +0.1 and more and was told it climbs (stress
    26). One written in the loop's own code, or a maximising one, are judged as before."""
    params = list(_mlp().parameters())
    assert unjudged(torch.optim.Adam(params, 1e-3))
    assert unjudged(torch.optim.SGD(params, 0.1, momentum=0.9))
    assert unjudged(HandWritten(params, 0.1, adam=False, maximize=True))
    assert not unjudged(HandWritten(params, 0.1, adam=False))
    assert not unjudged(None)
