"""The loop doctor's silent-bug checks as a set: which run, what a new finding is, and what
the record says about where `doctor.step` sits. Pure functions of the loop watch's record
(`_silent.LoopRecord`) and the findings so far."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..findings import Finding
from ._ascent import gradient_ascent
from ._batch_mixing import batch_mixing
from ._batch_softmax import softmax_over_batch, softmax_wrong_dim
from ._broadcast import broadcast_loss
from ._clip_after_step import clip_after_step
from ._history import ProbeHistory
from ._initial_loss import high_initial_loss
from ._loop_rules import LOOP_RULES, cleared
from ._norm_momentum import batch_norm_momentum
from ._one_row_norm import batch_norm_one_row
from ._other_stale import other_stale_gradients
from ._repeated_batch import repeated_batch
from ._silent import LoopRecord, LoopThresholds
from ._symmetry import symmetric_units
from ._teacher import teacher_trained
from ._unregistered import unregistered_parameters
from ._unused_rules import used_since

# those of `_loop_rules`, and those that read the model or the loss graph
LOOP_CHECKS = (
    *LOOP_RULES,
    symmetric_units,
    unregistered_parameters,
    broadcast_loss,
    softmax_over_batch,
    softmax_wrong_dim,
    batch_mixing,
    high_initial_loss,
    batch_norm_one_row,
    batch_norm_momentum,
    repeated_batch,
    gradient_ascent,
    clip_after_step,
    teacher_trained,
    other_stale_gradients,
)
ALL_DEAD = 0.99  # a layer whose share of dead units is this is dead: nothing passes it
BLIND = (
    "trainwell.Doctor: at doctor.step(loss) the parameters' .grad is cleared, though "
    "loss.backward() gives them gradients that optimizer.step() applies: doctor.step is "
    "called before loss.backward(), or after optimizer.zero_grad(). Its probes read no "
    "gradient there and cannot see the problems of this run: call doctor.step(loss) after "
    "loss.backward() and before optimizer.step()."
)


def new_findings(record: LoopRecord, t: LoopThresholds, seen: set[str]) -> Iterator[Finding]:
    """The findings of the checks whose code is not in `seen` (told already), each added to
    it. Each check is named after its code."""
    for rule in LOOP_CHECKS:
        if rule.__name__ in seen:
            continue
        finding = rule(record, t)
        if finding is not None and finding.code not in seen:
            seen.add(finding.code)
            yield finding


def withdraw_unused(findings: list[Finding], record: LoopRecord) -> None:
    """An unused_parameters warning whose parameters now get gradients and learn is
    downgraded to a note that says from when: the branch was switched on later."""
    for finding in findings:
        if finding.code != "unused_parameters" or finding.severity == "info":
            continue
        step = used_since(record, finding)
        if step is not None:
            finding.severity = "info"
            finding.evidence["used_at_step"] = step
            finding.message += (
                f" Withdrawn: at step {step} they got gradients and learned, so the loss "
                f"reads them from some point on (an auxiliary loss switched on later)."
            )


def withdraw_unfrozen(findings: list[Finding], record: LoopRecord) -> None:
    """A frozen_parameters warning of parameters given to the optimizer with
    requires_grad=False, all of which now require gradients, is downgraded to a note that
    says from when: they were unfrozen on purpose (gradual unfreezing). One whose
    unfreezing never took effect (`module.requires_grad = True`, a plain attribute) stays."""
    for finding in findings:
        frozen = finding.evidence.get("requires_grad_false")
        if finding.code != "frozen_parameters" or finding.severity != "warning" or not frozen:
            continue
        if finding.evidence.get("never_applied") or set(frozen) & set(record.frozen_in_optimizer):
            continue
        finding.severity = "info"
        finding.evidence["unfrozen_at_step"] = record.step
        finding.message += (
            f" Withdrawn: by step {record.step} they require gradients and the optimizer "
            f"steps them (unfrozen later, as in gradual unfreezing)."
        )


def unused_open(findings: list[Finding]) -> bool:
    """Whether parameters are reported unused (a warning not withdrawn yet)."""
    return any(f.code == "unused_parameters" and f.severity != "info" for f in findings)


def looked_enough(record: LoopRecord, t: LoopThresholds) -> bool:
    """Whether `sustain` checks saw a backward and an optimizer step (what every check asks
    for)."""
    return sum(check.complete for check in record.checks) >= t.sustain


def blind(record: LoopRecord, t: LoopThresholds) -> bool:
    """Whether doctor.step sits where `.grad` is cleared: in each of the last `sustain`
    checks the loop's backward gave gradients and its optimizer step applied them (the
    parameters moved), yet at doctor.step `.grad` was None or zero throughout —
    doctor.step before loss.backward(), or after optimizer.zero_grad(). The loop trains;
    the doctor's probes read no gradient, and would report a healthy run whatever it
    does. (Cleared between backward and the step, nothing moves: frozen_parameters.)"""
    checks = record.checks[-t.sustain :]
    if len(checks) < t.sustain or checks[-1].moved is None:
        return False
    return bool(checks[-1].moved.any()) and all(map(cleared, checks))


def all_dead(history: ProbeHistory) -> bool:
    """Whether some layer's units were all dead at the last probe."""
    dead = history.dead
    return bool(dead) and bool(np.any(np.asarray(dead[-1], dtype=float) >= ALL_DEAD))
