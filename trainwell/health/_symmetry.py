"""Units that training cannot tell apart: weights initialised to a constant.

Where every unit of a layer starts with the same weights (zeros, or `nn.init.constant_`),
every unit computes the same output and receives the same gradient, so they stay alike for
ever: the layer learns as if it had one unit, and where the weights are zero and the next
layer's are too, no gradient reaches them at all. A layer initialised at zero on purpose
(a classifier head, LoRA's B, a "zero convolution") is parted by its first step, because
the gradients of its units differ; only units still alike after a step are reported.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding


def alike_rows(params: list[torch.Tensor], candidates: list[int]) -> tuple[list[int], list[int]]:
    """Of `candidates` (indices into `params`), those whose rows along the first axis (a
    linear layer's output units, a convolution's output channels) are all equal, and of
    them those that are all zero; one host transfer."""
    if not candidates:
        return [], []
    spreads, sizes = [], []
    for i in candidates:  # each column's smallest and largest: no copy of the matrix
        low, high = params[i].detach().reshape(params[i].shape[0], -1).aminmax(dim=0)
        spreads.append((high - low).amax())
        sizes.append(torch.maximum(high.abs(), low.abs()).amax())
    values = torch.stack(spreads + sizes).tolist()
    n = len(candidates)
    alike = [i for i, spread in zip(candidates, values[:n], strict=True) if spread == 0]
    zero = [i for i, spread, size in zip(candidates, values[:n], values[n:], strict=True)
            if spread == 0 and size == 0]  # fmt: skip
    return alike, zero


def matrices(params: list[torch.Tensor]) -> list[int]:
    """The parameters with units to compare: two rows or more, each of two values or more
    (a per-head scalar, `logit_scale` of shape (heads, 1, 1), is a row of one: no unit)."""
    return [
        i for i, p in enumerate(params) if p.dim() >= 2 and p.shape[0] >= 2 and p[0].numel() >= 2
    ]


def alike_named(named: list[tuple[str, torch.Tensor]]) -> tuple[list[str], list[str]]:
    """Of the (name, parameter) pairs, the names of those whose units are all alike, and of
    them those all zero (`alike_rows` over the parameters with units)."""
    params = [p for _, p in named]
    alike, zero = alike_rows(params, matrices(params))
    return [named[i][0] for i in alike], [named[i][0] for i in zero]


def draw_afresh(params: list[torch.Tensor], optimizer: torch.optim.Optimizer) -> None:
    """Draw `params` afresh in place, as nn.Linear and nn.Conv* draw their weights (Kaiming
    uniform, a = sqrt(5)), and forget their gradient (zeroed: a gradient scaler's step
    needs it to exist) and the optimizer's state for them: the same tensors, so the
    optimizer keeps stepping them."""
    with torch.no_grad():
        for p in params:
            nn.init.kaiming_uniform_(p, a=math.sqrt(5))
            if p.grad is not None:
                p.grad.zero_()  # the old weights' gradient
            optimizer.state.pop(p, None)


def symmetric_units(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Parameters whose units were all alike at the last check, after an optimizer step
    that gave them an exactly zero gradient, or after two that changed them alike
    (`LoopCheck.symmetric`)."""
    if not r.checks:
        return None
    check = r.checks[-1]
    stuck = check.symmetric(r.checks[-2] if len(r.checks) > 1 else None)
    if not stuck:
        return None
    names = [r.params[i] for i in stuck]
    zero = [r.params[i] for i in stuck if check.zero_rows is not None and check.zero_rows[i]]
    return alike_finding(names, zero, check.step, r)


def alike_finding(names: list[str], zero: list[str], step: int, r: LoopRecord) -> Finding:
    """`symmetric_units` for the parameters `names` (`zero`: those all zero), found still
    alike at `step`: the loop doctor's rule, and the Trainer's doctor's check."""
    start = "all zero" if len(zero) == len(names) else "set to one value"
    return loop_finding(
        "symmetric_units",
        "error",
        f"The units of {few_names(names)} are identical at step {step} (every row of "
        f"the weights the same, {start}), after optimizer steps: each unit computes the "
        f"same output and gets the same gradient, so training can never tell them apart "
        f"and each layer learns as if it had one unit"
        + (
            " (all-zero layers in a row, or factors of a product such as LoRA's A and B, "
            "pass no gradient at all: one of them must start random)."
            if zero
            else "."
        ),
        r,
        step,
        parameters=names,
        zero=zero,
    )
