"""Clipping after `optimizer.step()` clips gradients the step has applied already: found at
the probes (a gradient tensor the step applied, scaled down by the time of the next busy
step), and in repair mode the clip moves before the step, at the loop's own norm. A clip
before the step, no clip, a clip that never bites and `zero_grad(set_to_none=False)` (one
gradient tensor reused, in place) are not told."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import trainwell


class _GRU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn, self.head = nn.GRU(4, 16, batch_first=True), nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(x.view(len(x), 16, 4))[0][:, -1])


ARCHS = {
    "mlp": lambda: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 4)),
    "gru": _GRU,
}


def _loop(
    arch: str, clip: str | None, mode: str = "detect", max_norm: float = 0.1, to_none: bool = True
) -> tuple[trainwell.Doctor, list[float]]:
    """Adam on 4 classes; `clip`: "before" or "after" the optimizer's step, or None. Returns
    the doctor and the norm of the gradients each optimizer step applied."""
    g = torch.Generator().manual_seed(0)
    X = torch.randn(512, 64, generator=g)
    y = (X[:, :32].mean(1) > 0).long() + 2 * (X[:, 32:].mean(1) > 0)
    torch.manual_seed(0)
    model = ARCHS[arch]()
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    applied: list[float] = []
    optimizer.register_step_post_hook(  # after any clip of the doctor's (a pre-step hook)
        lambda *_: applied.append(float(nn.utils.get_total_norm(
            [p.grad for p in model.parameters() if p.grad is not None])))
    )  # fmt: skip
    doctor = trainwell.Doctor(model, optimizer, every=4, mode=mode)
    for _ in range(3):
        for i in range(0, len(y), 32):
            optimizer.zero_grad(set_to_none=to_none)
            loss = F.cross_entropy(model(X[i : i + 32]), y[i : i + 32])
            loss.backward()
            doctor.step(loss)
            if clip == "before":
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
            optimizer.step()
            if clip == "after":  # the bug
                nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        doctor.epoch_end(loss.item())
    return doctor, applied


def _told(doctor: trainwell.Doctor) -> list[trainwell.Finding]:
    return [f for f in doctor.findings if f.code == "clip_after_step"]


@pytest.mark.parametrize("arch", list(ARCHS))
def test_a_clip_after_the_step_is_told_with_its_norm(arch):
    doctor, applied = _loop(arch, "after")
    (found,) = _told(doctor)
    assert found.severity == "warning"
    assert found.evidence["max_norm"] == pytest.approx(0.1, rel=1e-3)
    assert all(a > 0.1 for a in found.evidence["applied"])  # the steps went unclipped
    assert found.step < 16  # at the first probes
    assert max(applied) > 0.5  # (what the loop meant to clip)


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize(
    "clip, max_norm, to_none",
    [("before", 0.1, True), (None, 0.1, True), ("after", 100.0, True), ("after", 0.1, False)],
)
def test_a_clip_before_the_step_none_one_that_never_bites_or_a_reused_grad_is_not_told(
    arch, clip, max_norm, to_none
):
    doctor, _ = _loop(arch, clip, max_norm=max_norm, to_none=to_none)
    assert not _told(doctor)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_repair_clips_before_the_step_at_the_loops_norm(arch):
    doctor, applied = _loop(arch, "after", mode="repair")
    (repair,) = [r for r in doctor.repairs if r["finding"] == "clip_after_step"]
    assert repair["remedy"] == "clip_before_step"
    assert "norm 0.1 " in repair["changed"]
    # found at the busy step after the probe that saw it: the steps from then apply clipped
    # gradients
    since = repair["step"] + 4 + 1
    assert max(applied[since:]) <= 0.1 * (1 + 1e-3)
    assert max(applied[:since]) > 0.2
    assert len(_told(doctor)) == 1  # cured: not told again
