"""Why a loss's steps are small though the rate looks sane: a schedule that collapsed the
rate, an optimizer's eps that dwarfs the gradients, a clip that throttles every step. Read
from the probes for `slow_convergence` (`_slow_rules`), which names the one it finds."""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np

from ._history import ProbeHistory
from ._rule_base import Thresholds

# an optimizer's eps this many times its gradients' typical size per weight: Adam's
# denominator is eps, not the gradients' root mean square, and its steps shrink with them
EPS_DWARFS = 10.0


def eps_dwarfs(h: ProbeHistory) -> tuple[float, float] | None:
    """(eps, the gradients' RMS per weight: the median layer's at the last probe) where
    eps is `EPS_DWARFS` times that or more: Adam(eps=1.0), a value copied from a recipe
    for another optimizer, takes steps of 1e-3 x gradient on gradients of 1e-3."""
    if not h.eps or not h.grad_norm or len(h.sizes) != len(h.layers):
        return None
    per_weight = h.grad_norm[-1] / np.sqrt(np.maximum(h.sizes, 1))
    rms = float(np.nanmedian(per_weight))
    return (h.eps, rms) if rms > 0 and h.eps >= EPS_DWARFS * rms else None


def eps_cause(eps: float, rms: float) -> str:
    return (
        f"The optimizer's eps ({eps:g}) is {eps / rms:.0f}x the size of its gradients "
        f"({rms:.1e} per weight): its steps are the rate x gradient / eps, far smaller than "
        f"the rate-sized steps it is built to take. Set eps back to its default (1e-8 for "
        f"Adam)."
    )


# a clip threshold this many times below the gradients' norm throttles every step: clipping
# is meant to cut rare spikes, not the usual gradient
THROTTLED = 10.0


def clipped_down(h: ProbeHistory) -> tuple[float, float] | None:
    """(the clip's norm, how many times it shrinks the usual step) where that is
    `THROTTLED` or more: the median, over the last 3 probes, of the gradients' total norm
    over `grad_clip`; or, for a loop's own clip (`loop_clip`), as measured where it clips
    (before doctor.step, the probes read clipped gradients). A clip at 1e-3 on gradients
    of norm 0.5 made SGD at 0.05 a rate of 1e-4. None without clipping or where it only
    cuts spikes."""
    if h.loop_clip is not None:
        norm, ratio = h.loop_clip
    elif h.grad_clip and h.grad_norm:
        probes = range(-min(3, h.n_probes), 0)
        totals = [math.sqrt(sum(g * g for g in h.loss_grads(i))) for i in probes]
        norm, ratio = h.grad_clip, statistics.median(totals) / h.grad_clip
    else:
        return None
    return (norm, ratio) if ratio >= THROTTLED else None


def collapsed_rate(h: ProbeHistory, t: Thresholds) -> tuple[float, float] | None:
    """(the rate now, the rate the optimizer started at) where a schedule has cut it below
    `collapsed_lr` of its start in the first half of the budget (or with the budget
    unknown): too soon for a schedule that anneals at the end, as cosine and one-cycle do.
    (0, 0) where it has been exactly 0 since the history began (a LambdaLR of epochs
    stepped at every batch had made it 0 before layers unfrozen restarted the history)."""
    rates = [lr for lr in h.curve("lr") if math.isfinite(lr)]
    start = h.start_lr or max(rates, default=None)  # (unread where no probe saw the rate)
    if rates and not any(rates) and not (start and start > 0):
        return 0.0, 0.0  # 0 since the history began (it restarts when layers are unfrozen)
    if not rates or not start or start <= 0 or rates[-1] >= t.collapsed_lr * start:
        return None
    low = list(itertools.takewhile(lambda lr: lr < t.collapsed_lr * start, reversed(rates)))
    if h.total_epochs and len(rates) - len(low) > h.total_epochs / 2:
        return None  # (collapsed since the second half: StepLR(30, 0.1) over 100 epochs)
    return rates[-1], start
