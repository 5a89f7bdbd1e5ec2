"""What a look of the loop watch compares between the armed step and the next one: how much
of `.grad` each parameter carried over from before this step's backward (and along what),
which parameters got a gradient, which changed, which have units alike, and whether the
update went along the gradient or against it (`compare`: a `LoopCheck`); and which moved by
weight decay alone (`decay_only`)."""

from __future__ import annotations

import math

import numpy as np
import torch

from ._ascent import update_along_gradient
from ._silent import LoopCheck
from ._symmetry import alike_rows
from ._tensors import dense

_SHRUNK = 0.999  # cos(carried, fresh) at or below minus this: .grad is fresh scaled down
# an optimizer's state that sums the gradients a parameter got (Adam's moments, momentum,
# RMSprop's and Adagrad's squares): all exactly 0, every gradient it ever got was 0
GRADIENT_STATE = ("exp_avg", "exp_avg_sq", "momentum_buffer", "square_avg", "sum")


def compare(
    params: list[torch.Tensor],
    fresh_grads: list[torch.Tensor | None],
    previous_grads: list[torch.Tensor | None],
    work: list[torch.Tensor],
    norms_before: list[float],
    first_norms: list[float],
    alike: list[int],
    *,
    judged: bool,
    step: int,
    epoch: int,
    order_ok: bool | None,
    optimizer_stepped: bool | None,
    batch: object,
) -> tuple[LoopCheck, list[int]]:
    """The check of this step against the armed one, and the parameters whose units may
    still be alike. Per parameter: |.grad|, |fresh| (this backward's gradient, in
    `fresh_grads`), |carried| = |.grad - fresh|, |previous .grad|, |carried + previous| (for
    carried . previous) and |.grad + previous| (for .grad . previous,
    `_fit_on_fresh_and_previous`), in a few fused norms and one transfer; the totals count
    only the parameters the optimizer changed (a gradient nobody applies cannot be stale).
    `work`: a buffer per parameter, holding the weights the armed step's gradients were
    taken at where the update is `judged` (`_ascent`), read first, then overwritten with the
    carried gradients (nothing else is written); `norms_before` and `first_norms`: the
    parameters' norms at the armed look and at the first."""
    n = len(params)
    got = [i for i in range(n) if fresh_grads[i] is not None and params[i].grad is not None]
    grads = [dense(params[i].grad.detach()) for i in got]
    fresh = [fresh_grads[i] for i in got]
    previous = [
        previous_grads[i] if previous_grads[i] is not None else torch.zeros_like(g)
        for i, g in zip(got, grads, strict=True)
    ]
    kept = [i for i in range(n) if previous_grads[i] is not None]
    uphill = (
        update_along_gradient(
            [previous_grads[i] for i in kept], [work[i] for i in kept], [params[i] for i in kept]
        )
        if judged and kept
        else []
    )
    carried = [torch.sub(g, f, out=work[i]) for i, g, f in zip(got, grads, fresh, strict=True)]
    norms = list(torch._foreach_norm([p.detach() for p in params] + grads + fresh + carried))
    if got:
        norms += torch._foreach_norm(previous)
        torch._foreach_add_(carried, previous)  # now carried + previous, in place
        norms += torch._foreach_norm(carried)
        torch._foreach_add_(carried, fresh)  # now .grad + previous
        norms += torch._foreach_norm(carried)
    # one transfer; a few floats per parameter, which plain Python reads faster than
    # numpy's first calls after a step
    values = torch.stack(norms + uphill).tolist()
    along, update, gradient = values[-3:] if uphill else (0.0, 0.0, 0.0)
    weight = values[:n]
    changed = [now != before for now, before in zip(weight, norms_before, strict=True)]
    k = len(got)  # the docstring's six norms, a column each, of the k with a gradient
    columns = [values[n + j * k : n + (j + 1) * k] for j in range(6)]
    rows = [r for r, i in enumerate(got) if changed[i]] or range(k)  # those it applied
    g, f, c, prev, cp, gp = (sum(column[r] ** 2 for r in rows) for column in columns)
    dot = (cp - c - prev) / 2  # |c + p|^2 = |c|^2 + |p|^2 + 2 c.p
    fit = _fit_on_fresh_and_previous(g, f, c, prev, dot, gp)
    g, f, c, prev = (math.sqrt(v) for v in (g, f, c, prev))
    share, cosine = np.full(n, np.nan), np.full(n, np.nan)  # per parameter applied
    shrunk = np.zeros(n, dtype=bool)
    for r in rows:
        g_r, f_r, c_r, p_r, cp_r = (columns[j][r] for j in range(5))
        share[got[r]] = c_r / g_r if g_r > 0 else np.nan
        if c_r > 0 and p_r > 0:
            cosine[got[r]] = (cp_r**2 - c_r**2 - p_r**2) / 2 / (c_r * p_r)
        if c_r > 0 and f_r > 0:  # .grad = fresh + carried: |g|^2 = |f|^2 + |c|^2 + 2 c.f
            shrunk[got[r]] = (g_r**2 - c_r**2 - f_r**2) / 2 / (c_r * f_r) <= -_SHRUNK
    wiped = np.array(
        [f is not None and p.grad is None for f, p in zip(fresh_grads, params, strict=True)]
    )
    same_rows, zero_rows = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    alike, zero = alike_rows(params, alike)
    same_rows[alike], zero_rows[zero] = True, True
    has_grad, fresh_scale = np.zeros(n, dtype=bool), np.zeros(n)
    has_grad[got] = True
    fresh_scale[got] = [
        size / max(weight[i], 1e-12) for i, size in zip(got, columns[1], strict=True)
    ]
    check = LoopCheck(
        step=step,
        epoch=epoch,
        got_grad=has_grad,
        fresh_scale=fresh_scale,
        changed=np.array(changed, dtype=bool),
        grad_norm=g,
        fresh_norm=f,
        carried_norm=c,
        previous_norm=prev,
        carried_cosine=float(dot / max(c * prev, 1e-30)),
        carried_fit=fit,
        carried_shares=share,
        carried_cosines=cosine,
        shrunk=shrunk,
        wiped=wiped,
        same_rows=same_rows,
        zero_rows=zero_rows,
        order_ok=order_ok,
        optimizer_stepped=optimizer_stepped,
        moved=np.array([now != first for now, first in zip(weight, first_norms, strict=True)]),
        batch=batch,
        uphill=along / math.sqrt(update * gradient) if update * gradient > 0 else None,
    )
    return check, alike


def _fit_on_fresh_and_previous(
    g2: float, f2: float, c2: float, p2: float, cp: float, gp2: float
) -> tuple[float, float, float] | None:
    """(a, b, unexplained): .grad fitted as a * fresh + b * previous by least squares, and
    the share of |.grad| the fit leaves; None where fresh and previous are parallel. From
    the squared norms of .grad, fresh, carried (.grad - fresh), previous and .grad +
    previous, and carried . previous. A loop without zero_grad that clips after backward
    gets a = b = the clipping's scale: its carried part no longer points along the previous
    gradient, but .grad is still their sum, scaled."""
    gf, gp = (g2 + f2 - c2) / 2, (gp2 - g2 - p2) / 2
    fp = gp - cp  # fresh . previous = .grad . previous - carried . previous
    det = f2 * p2 - fp**2
    if not det > 1e-6 * f2 * p2:
        return None
    a, b = (gf * p2 - gp * fp) / det, (gp * f2 - gf * fp) / det
    left = max(g2 - a * gf - b * gp, 0.0)
    return a, b, math.sqrt(left / g2) if g2 > 0 else math.nan


def decay_only(
    optimizer: torch.optim.Optimizer | None, params: list[torch.Tensor], check: LoopCheck
) -> np.ndarray:
    """Per parameter: it moved since the first look, got an exactly zero gradient at this
    check, and its optimizer's sums of gradients (`GRADIENT_STATE`) are all exactly 0: no
    gradient it ever got was other than 0, and what moved it is decoupled weight decay
    (AdamW's), which shrinks every weight whether the loss reads it or not."""
    only = np.zeros(len(params), dtype=bool)
    if optimizer is None or check.moved is None:
        return only
    candidates = check.moved & check.got_grad & (check.fresh_scale == 0)
    for index in np.flatnonzero(candidates):
        state = optimizer.state.get(params[index], {})
        sums = [state[key] for key in GRADIENT_STATE if torch.is_tensor(state.get(key))]
        only[index] = bool(sums) and not any(bool(t.any()) for t in sums)
    return only
