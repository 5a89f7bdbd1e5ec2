"""One term of a multi-task loss drowning the others: a model with two heads, a class's
scores and a regression, trained on a cross entropy plus a squared error on a target left
in raw units (thousands). The squared error's gradient is thousands of times the cross
entropy's, the shared layers step for it alone, and the first task never learns (stress
25: 0.339 accuracy on 4 classes against 0.812 with the target standardised; nothing else
was found, Adam's steps being no larger for it).

The probes measure the loss's error signal at the model's first output and the largest at
its other outputs (`Probe._record_error`, `_record_other_error`). `DROWNS` times or more
from the first probe on, and the first output's signal barely falling, is this. A
mixture's means, whose gradient is their residual over a variance that shrinks as it
learns, reach such ratios late, not from the start.
"""

from __future__ import annotations

import math

from ..findings import Finding
from ._history import ProbeHistory
from ._silent import epoch_finding

DROWNS = 1000.0  # the other output's error signal over the first's
STALLED = 0.8  # the first output's signal at the last probe over the first probe's, at least
TRAINER_FIX = "standardise that output's targets, or scale its term of the loss down"


def drowned_output(h: ProbeHistory, epoch: int, step: int) -> Finding | None:
    """At the first probe and the last 2 (3 probes at least), the other outputs' error
    signal is `DROWNS` times the first's or more, and the first's has not fallen below
    `STALLED` of where it started; judged at an epoch's end."""
    pairs = [
        (other, first)
        for other, first in zip(h.other_error, h.output_error, strict=False)
        if math.isfinite(other) and math.isfinite(first) and first > 0
    ]
    if len(pairs) < 3:
        return None
    ratios = [other / first for other, first in pairs]
    if ratios[0] < DROWNS or min(ratios[-2:]) < DROWNS:
        return None
    start, now = pairs[0][1], pairs[-1][1]
    if now < STALLED * start:
        return None
    return epoch_finding(
        "drowned_output",
        "warning",
        (
            f"One term of the loss drowns the others: its error signal at the model's other "
            f"output is {ratios[-1]:,.0f} times the one at its first output, from the first "
            f"probe on, and the first output's barely falls ({start:.3g} -> {now:.3g}). The "
            f"shared layers step for that term alone, and the first output's task does not "
            f"learn (a regression target in raw units beside a cross entropy)."
        ),
        epoch=epoch,
        step=step,
        evidence={"ratio": round(ratios[-1], 1), "first_error": [start, now]},
        trainer_fix=TRAINER_FIX,
        data_at_hand=h.data_at_hand,
    )
