"""Clipping after the optimizer's step: `optimizer.step()` then `clip_grad_norm_(...)`. The
step has applied the gradients unclipped; the clip scales what `zero_grad` throws away next.
Nothing fails, and the loop runs as if it did not clip: a recurrent network whose
gradients the clip was meant to hold can blow up all the same.

Read at the probes (`LoopClip`): a reference to one gradient tensor as the step left it,
and its norm then; read again at the next busy step, `zero_grad` having dropped it from
`.grad`: scaled down since, by one factor for every reading's applied norm to come to one
clipped norm, is `clip_grad_norm_` at that `max_norm` after the step.
"""

from __future__ import annotations

import math

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, loop_finding

AGREE = 1e-3  # relative: clip_grad_norm_ brings every total to max_norm (to its 1e-6 eps)


def clip_after_step(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The last `sustain` readings each saw the gradients clipped after the step, to one
    norm."""
    last = r.clipped_after[-t.sustain :]
    if len(last) < t.sustain or not all(math.isfinite(to) for _, _, to in last):
        return None
    norm = last[-1][2]
    if not all(math.isclose(to, norm, rel_tol=AGREE) for _, _, to in last):
        return None
    applied = ", ".join(f"{a:.3g} at step {s}" for s, a, _ in last)
    return loop_finding(
        "clip_after_step",
        "warning",
        f"The loop clips the gradients after optimizer.step(): the steps applied them "
        f"unclipped (norm {applied}), and then a clip scaled them to {norm:.3g} "
        f"(clip_grad_norm_ with max_norm {norm:.3g}), which zero_grad throws away. The "
        f"clip does nothing: every step goes unclipped.",
        r,
        last[-1][0],
        max_norm=norm,
        applied=[a for _, a, _ in last],
        steps=[s for s, _, _ in last],
    )
