"""How the loop's doctor turns what it found into treatment: the silent-bug checks' findings
(a bug behind every training finding becomes their root cause), and each new problem treated
where the loop lets it (a remedy that needs no rebuild: `LoopRepairer`), the rebuild named
for the rest; after a remedy, the history restarts so that its code is judged afresh."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..findings import TRAINING_CODES, Finding
from ._examiner import Examiner
from ._loop_advice import recommend
from ._loop_causes import explained_by, resolve_explained
from ._loop_checks import new_findings, withdraw_unfrozen, withdraw_unused
from ._loop_orders import LOOP_ORDERS, RATE_CUTS
from ._loop_remedies import withdraw
from ._probes import SCALE_FREE
from ._silent import LOOP_FIX

if TYPE_CHECKING:
    from ._loop import Doctor

LOOP_CODES = frozenset(LOOP_FIX)
# findings whose remedy acts in place between any two steps: treated wherever doctor.step
# sits, before a check knows whether it comes before the optimizer's step
ANY_ORDER = ("high_initial_loss", "batch_norm_momentum", "teacher_trained")


def check_loop(doctor: Doctor) -> list[Finding]:
    """Run the silent-bug checks on what the watch recorded."""
    withdraw_unused(doctor.findings, doctor.watch.record)
    withdraw_unfrozen(doctor.findings, doctor.watch.record)
    new = []
    for finding in new_findings(doctor.watch.record, doctor.loop_thresholds, doctor._seen):
        doctor._found(finding)  # (a root cause among them explains the others)
        new.append(finding)
    checks = doctor.watch.record.checks
    if doctor.repairer and doctor._root is None and checks and checks[-1].complete:
        doctor._clean_repairs = len(doctor.repairer.repairs)  # no bug behind those yet
    return new


def treat(
    doctor: Doctor, found: list[Finding], loss: float | None = None, at_epoch_end: bool = False
) -> None:
    """Treat each new problem the loop lets the doctor treat; name the rebuild for the
    others. After a remedy its code may fire again: then the next remedy is tried.
    `loss`: the loss the problem was found at (default: the last probe's);
    `at_epoch_end`: called from `epoch_end`, where the step count is the next step's."""
    order_ok = doctor.watch.order_ok
    losses = _losses(doctor.examiner, loss)
    cut = False  # the rate was cut at this call: once, then judged afresh
    for finding in found:
        if finding.severity == "info" or "explained_by" in finding.evidence:
            continue  # (explained: its cause is treated instead)
        if cut and doctor.repairer.cuts_the_rate(finding):
            continue  # found with it: judged afresh after it (dead units and a runaway
            # at one probe had the rate cut twice in one step; a rate cut and a lower
            # momentum for a runaway and a swing at one probe are both kept)
        if "other_optimizer" in finding.evidence:
            continue  # one player's loss, perhaps: a rate for it alone breaks the game
        # the step is taken already, or the loop's order unknown yet
        if order_ok is not True and finding.code not in ANY_ORDER:
            recommend(finding, isinstance(doctor.optimizer, SCALE_FREE))
            if finding.code in LOOP_ORDERS:
                finding.message += (
                    " (Repair needs doctor.step(loss) between loss.backward() and "
                    "optimizer.step().)"
                    if order_ok is False
                    else " (Found before a check saw where doctor.step sits in the loop: "
                    "not treated.)"
                )
            continue
        fresh, params = doctor.watch.fresh, doctor.watch.params
        if finding is doctor._root and doctor.repairer.can_treat(finding):
            # what was done for its symptoms since the checks last saw no bug is undone
            symptoms = [f for f in doctor.findings if f.remedy and explained_by(f, finding)]
            withdraw(doctor.repairer, symptoms, finding.code, doctor._clean_repairs)
        if not doctor.repairer.treat(finding, doctor._epoch, fresh, params, losses):
            continue
        cut = cut or doctor.repairer.repairs[-1]["remedy"] in RATE_CUTS
        if finding.code in LOOP_CODES:  # judged afresh, on checks after the remedy
            doctor._seen.discard(finding.code)
            doctor.watch.forget()
        renewed = finding is doctor._root  # the cause of all treated: all judged afresh
        if renewed:
            doctor._root = None
            resolve_explained(doctor.findings, finding)
        if renewed or finding.code not in LOOP_CODES:
            # the epochs left; 0 where the loop never said how many it runs (unknown)
            remaining = max(doctor.epochs - doctor._epoch, 1) if doctor.epochs else 0
            codes = [*TRAINING_CODES] if renewed else [finding.code]
            doctor.examiner.reset(doctor.model, remaining, doctor.repairer.clip, codes)
            doctor.examiner.probe.arm()
            doctor._reset_in = doctor._epoch
            doctor._probe_at = doctor._step if at_epoch_end else doctor._step + 1
            doctor.pace.remedied()


def _losses(examiner: Examiner, loss: float | None) -> tuple[float, float]:
    """The loss now (`loss`, else the last probe's) and at the loop's first probe; NaN
    where none was probed yet."""
    histories = [h for h in examiner.histories if h.loss]
    if not histories:
        return math.nan, math.nan
    now = histories[-1].loss[-1] if loss is None else loss
    return now, histories[0].loss[0]
