"""A Poisson count regression whose loss exponentiates rates: `PoissonNLLLoss()` takes
log-rates by default (`log_input=True`), and a loop that gives it the expected count
(`exp(out) * exposure`, or a softplus) fits exp(rate) to the counts. Told from the loss's
graph (`exp(input) - target * input` on an exp's or softplus' output) as
probabilities_as_logits; the log-rate with its offset, and rates with `log_input=False`,
are not (stress 30)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 1))


def _conv() -> nn.Module:
    return nn.Sequential(
        nn.Unflatten(1, (1, 8)), nn.Conv1d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
        nn.Linear(64, 1),
    )  # fmt: skip


ARCHS = {"mlp": _mlp, "conv": _conv}
# how the loop turns the network's output into the loss's input, and its log_input
LINKS = {
    "log_rate": (lambda out, exposure: out + exposure.log(), True),
    "rate": (lambda out, exposure: out.exp() * exposure, False),
    "softplus_rate": (lambda out, exposure: F.softplus(out) * exposure, False),
    "exp_as_log_rate": (lambda out, exposure: out.exp() * exposure, True),  # the bug
    "softplus_as_log_rate": (lambda out, exposure: exposure * F.softplus(out), True),  # too
}
BUGS = ("exp_as_log_rate", "softplus_as_log_rate")


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(1024, 8, generator=g)
    exposure = torch.rand(1024, generator=g) + 0.5
    rate = (0.5 * X[:, 0] - 0.4 * X[:, 1] + 0.3 * X[:, 2] * X[:, 3]).exp()
    return X, exposure, torch.poisson(rate * exposure, generator=g)


def _fit(arch: str, link: str) -> tuple[trainwell.Doctor, float]:
    """Adam at 1e-2 for 3 epochs; returns the doctor and the deviance of the rates it
    learnt (read as the loop meant them: exp(out) or softplus(out))."""
    X, exposure, counts = _data()
    torch.manual_seed(0)
    model = ARCHS[arch]()
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    doctor = trainwell.Doctor(model, optimizer)
    to_input, log_input = LINKS[link]
    for _ in range(3):
        for i in torch.arange(1024).split(64):
            loss = F.poisson_nll_loss(
                to_input(model(X[i]).squeeze(1), exposure[i]), counts[i], log_input=log_input
            )
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    with torch.no_grad():
        out = model(X).squeeze(1)
        mean = (F.softplus(out) if "softplus" in link else out.exp()) * exposure
    deviance = 2 * (torch.xlogy(counts, counts / mean) - (counts - mean)).mean()
    return doctor, float(deviance)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("link", list(LINKS))
def test_a_poisson_loss_given_rates_as_log_rates_is_told_at_the_first_step(arch, link):
    doctor, _ = _fit(arch, link)
    told = [f for f in doctor.findings if f.code == "probabilities_as_logits"]
    assert [(f.severity, f.step) for f in told] == ([("error", 0)] if link in BUGS else [])
    for finding in told:
        assert "PoissonNLLLoss with log_input=True" in finding.message
        assert finding.evidence["autograd_chain"][:2] == [
            "SubBackward0 (poisson_nll)",
            "ExpBackward0",
        ]
        assert "log_input=False" in finding.message  # the fix line names both ways out


def test_the_bug_costs_the_fit():
    """The planted loop is a real bug: its rates fit the counts far worse."""
    assert _fit("mlp", "exp_as_log_rate")[1] > 1.5 * _fit("mlp", "log_rate")[1]
