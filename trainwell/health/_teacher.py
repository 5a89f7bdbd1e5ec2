"""A distillation teacher trained by mistake: the optimizer was built over the teacher's
parameters with the student's, and its outputs, computed outside `torch.no_grad()`, give
the KL divergence its soft targets. Each step then moves the teacher towards the student,
and the targets drift (stress 25: a teacher at 0.976 fell to 0.81, the student to 0.885;
the lower rate its dead units called for left both worse, 0.754).

Read at the looks, from the loss's graph: `F.kl_div`'s term `target * log(target)`
(`XlogyBackward`) reaches the target only where the target carries gradient; the tensors
it reaches below, those the optimizer steps outside the model given to the doctor, are the
teacher's. A target the same model computes (R-Drop's second pass), or one detached, is
not this.
"""

from __future__ import annotations

import torch

from ..findings import Finding
from ._graph_walk import nodes_below, tensors_below
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding

XLOGY = "XlogyBackward"  # the KL divergence's `target * log(target)`


def taught_by(loss: torch.Tensor, outside: dict[int, str]) -> list[str]:
    """The names of the tensors of `outside` (by id: what the optimizer steps besides the
    model) that a KL divergence's targets carry gradient to in the loss's graph."""
    if not outside:
        return []
    start = [getattr(loss, "grad_fn", None)]
    targets = [n for n in nodes_below(start, stop=XLOGY) if n.name().startswith(XLOGY)]
    return sorted({outside[id(t)] for t in tensors_below(targets) if id(t) in outside})


def teacher_trained(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """A KL divergence's targets carried gradient to tensors the optimizer steps outside the
    model, at a look (the module's docstring)."""
    if not r.teacher:
        return None
    return loop_finding(
        "teacher_trained",
        "error",
        f"The optimizer trains the network that gives the soft targets: the KL divergence's "
        f"target carries gradient to {len(r.teacher)} tensors the optimizer steps outside "
        f"the model ({few_names(r.teacher)}), so each step moves the teacher towards the "
        f"student and the targets drift.",
        r,
        r.teacher_step,
        tensors=r.teacher,
    )
