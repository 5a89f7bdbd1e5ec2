"""An optimizer that climbs the gradient: a hand-written update that adds the step where it
should subtract it (`p.add_(step)` for `p.sub_(step)`, `p += lr * p.grad`). Nothing fails;
each step raises the loss it should lower, and the doctor sees a divergence, exploding
gradients, an oscillation, whose remedies (a lower rate, clipping) only slow the climb (a
digits MLP so trained went from 0.116 to 0.013 under them, stress 24).

The loop watch keeps the weights at a look (in a buffer the check reuses) beside the
gradient it keeps already, and at the check measures the update the optimizer made against
that gradient: the cosine of the two over every parameter it changed. Plain SGD's is -1;
momentum's and Adam's stay below 0, each step going down the gradients of the steps
before (a digits MLP's Adam: -0.59 at the first step, -0.16 in epoch 14; the same Adam
adding its step: +0.59, then +0.28 to +0.33). Above 0.1 at two checks in a row, the
optimizer steps uphill. An optimizer with `maximize=True` climbs on purpose, and torch's
own optimizers descend by construction: neither is measured.
"""

from __future__ import annotations

import torch

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, loop_finding

UPHILL = 0.1  # cos(update, gradient) above which the step went up the gradient


def update_along_gradient(
    gradients: list[torch.Tensor], before: list[torch.Tensor], params: list[torch.Tensor]
) -> list[torch.Tensor]:
    """[gradient . update, |update|^2, |gradient|^2] over the parameters, as tensors on their
    device (read with the check's numbers), where `gradients` were taken at the weights
    `before` and `params` hold the weights the optimizer made of them; `before` is
    overwritten (it then holds minus the update)."""
    torch._foreach_sub_(before, [p.detach() for p in params])  # -update
    along = [
        torch.dot(g.reshape(-1).float(), d.reshape(-1).float())
        for g, d in zip(gradients, before, strict=True)
    ]
    return [
        -torch.stack(along).sum(),
        torch.stack(torch._foreach_norm(before)).float().square().sum(),
        torch.stack(torch._foreach_norm(gradients)).float().square().sum(),
    ]


def unjudged(optimizer: torch.optim.Optimizer | None) -> bool:
    """Whether the optimizer's update is not measured: one that maximises on purpose
    (`maximize=True` in a param group), or one of torch's own, which step down by
    construction (an Adam whose momentum pointed against an oscillating gradient's latest,
    a DQN's, measured +0.1 and more and was told it climbs: stress 26)."""
    if optimizer is None:
        return False
    own = type(optimizer).__module__.startswith("torch.optim")
    return own or any(g.get("maximize") for g in optimizer.param_groups)


def gradient_ascent(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """At the last `sustain` checks, the optimizer stepped and its update's cosine with the
    gradient was above `UPHILL` (the module's docstring)."""
    last = [c for c in r.checks if c.uphill is not None][-t.sustain :]
    if len(last) < t.sustain or not all(c.stepped and c.uphill > UPHILL for c in last):
        return None
    where = " and ".join(f"{c.uphill:+.2f} at step {c.step}" for c in last)
    return loop_finding(
        "gradient_ascent",
        "error",
        f"The optimizer steps up the gradient, not down: the update's cosine with the "
        f"gradient was {where} (a descent's is below 0). Every step raises the loss it "
        f"should lower, and no rate is low enough: a hand-written update adds the step "
        f"where it should subtract it.",
        r,
        last[-1].step,
        uphill=[c.uphill for c in last],
        steps=[c.step for c in last],
    )
