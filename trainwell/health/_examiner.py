"""What the Trainer's doctor and the hand-written loop's share: `Examiner`, which owns the
probe, the history and the findings, and the pace at which both probe.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from torch import nn

from ..findings import Finding
from ._history import Penalty, ProbeHistory, data_loss
from ._probes import Probe
from ._rules import CURVE_RULES, FALLBACK_RULES, PROBE_RULES, RUNAWAY_RULES, Thresholds

DEFAULT_EVERY = 24  # steps between probes at most in epoch 0 (twice that later); ~0.3 ms each
SPARSEST = 4  # a healthy run's probes thin out, epoch by epoch, to one every 4 x `every` steps
HOLD_EPOCHS = 2  # after a remedy, the epochs probed at the density of epoch 1 (its judging)


def next_interval(interval: int, later: int, every: int, hold: int) -> tuple[int, int]:
    """(interval, hold) for the next epoch. Init problems show in epoch 0, later ones develop
    over epochs: from epoch 1 (`later`) a healthy stretch is probed half as often each
    epoch, down to every SPARSEST x `every` steps; while `hold` epochs judge a remedy, at
    `later`. The Trainer's doctor and the hand-written loop's share it."""
    if hold:
        return later, hold - 1
    return max(min(2 * interval, SPARSEST * every), later), 0


def after_remedy(interval: int, later: int) -> tuple[int, int]:
    """(interval, hold) once a remedy changed the run: probed at least as densely as epoch 1
    for the `HOLD_EPOCHS` epoch ends that judge it. The Trainer's doctor and the loop's."""
    return min(interval, later), HOLD_EPOCHS


def probe_interval(every: int, steps_per_epoch: int | None, sustain: int) -> int:
    """At most `every`, and small enough for `sustain` probes (the first at step 0) within
    the first epoch, so gradient and activation problems are found in epoch 0."""
    if not steps_per_epoch:
        return every
    return max(1, min(every, (steps_per_epoch - 1) // max(sustain - 1, 1)))


class Examiner:
    """Runs rules over a probe history; reports each (code, layer) once."""

    def __init__(
        self,
        model: nn.Module,
        *,
        total_epochs: int = 0,
        thresholds: Thresholds | None = None,
        on_finding: Callable[[Finding], None] | None = None,
    ) -> None:
        self.probe = Probe(model, total_epochs)
        self.thresholds = thresholds or Thresholds()
        self.findings: list[Finding] = []
        self.on_finding = on_finding
        self.past: list[ProbeHistory] = []  # histories before each reset, for the report
        self._seen: set[str] = set()

    @property
    def history(self) -> ProbeHistory:
        return self.probe.history

    @property
    def histories(self) -> list[ProbeHistory]:
        """Every history of the run, oldest first: one per stretch between remedies."""
        return [*self.past, self.history]

    def reset(
        self,
        model: nn.Module,
        total_epochs: int,
        grad_clip: float | None,
        codes: list[str],
        l1: float = 0.0,
        rebuilt: bool = False,
    ) -> None:
        """Start a fresh history (after a remedy changed the run); `codes` may fire again.
        `rebuilt`: the remedy built the network anew, untrained: its own first loss is where
        it starts, not the run's (an initialisation that blew the loss up to 603 made a
        re-initialised network's 1.5 look like a loss at its floor, which no curve rule
        reads)."""
        self.probe.disarm()
        self.past.append(self.probe.history)
        self.probe = Probe(model, total_epochs)
        self.probe.history.grad_clip, self.probe.history.l1 = grad_clip, l1
        self.probe.history.inherit_baselines(self.past[-1])
        if rebuilt:
            self.probe.history.run_start = math.nan
        self._seen.difference_update(codes)

    def follow(self, model: nn.Module) -> None:
        """Parameters were frozen or unfrozen: probe the layers that learn from now on. The
        run is the same run: its epoch curve goes on, and what was found stands."""
        old = self.probe.history
        self.reset(model, old.total_epochs, old.grad_clip, [], l1=old.l1)
        self.probe.history.curves, self.probe.history.val_rows = old.curves, old.val_rows
        new = self.probe.history
        new.goes_on_from = old.first_loss()  # a runaway is judged as before
        new.run_start = old.run_start  # no remedy: the run's own start only after one

    def state_dict(self) -> dict[str, Any]:
        return {
            "findings": [f.to_dict() for f in self.findings],
            "seen": sorted(self._seen),
            "past": [h.state_dict() for h in self.past],
            "history": self.history.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.findings = [Finding.from_dict(f) for f in state["findings"]]
        self._seen = set(state["seen"])
        self.past = [ProbeHistory.from_state(h) for h in state["past"]]
        self.probe.history = ProbeHistory.from_state(state["history"])

    def reported(self, code: str) -> bool:
        return code in self._seen

    def report_new(self, finding: Finding | None) -> Finding | None:
        """Report `finding` where its code is not reported yet; returns it if reported."""
        if finding is None or self.reported(finding.code):
            return None
        self.report(finding)
        return finding

    def runaway_loss(self) -> float:
        """The training loss that, read between probes, has run away: `runaway_factor` times
        the first probe's and the class prior's (a network treated late in a run starts a
        history at a loss a noisy batch can be ten times of); inf before the first probe and
        once divergence is reported. The divergence rule judges a runaway at a probe, so
        its step is to be one."""
        h = self.history
        first = h.first_loss()
        if not (math.isfinite(first) and first > 0) or self.reported("divergence"):
            return math.inf
        return max(
            self.thresholds.runaway_factor * max(first, h.untrained_loss()),
            h.nothing_learned_loss(),
        )

    def mark_reported(self, code: str) -> None:
        """`code` is not to be reported again (until a reset names it)."""
        self._seen.add(code)

    def check(self, rules) -> list[Finding]:
        new = []
        for rule in rules:
            if rule in FALLBACK_RULES and self._explained():
                continue
            finding = rule(self.history, self.thresholds)
            if finding is not None and finding.code not in self._seen:
                self.report(finding)
                new.append(finding)
        return new

    def report(self, finding: Finding) -> None:
        """Record a finding (once per code until a reset names it), and pass it on."""
        self._seen.add(finding.code)
        self.findings.append(finding)
        if self.on_finding:
            self.on_finding(finding)

    def _explained(self) -> bool:
        """Whether an open problem other than underfitting has been found: it explains a
        network that does not learn (cured ones do not, nor the fallback's own finding)."""
        return any(
            f.severity != "info" and not f.resolved and f.code != "underfitting"
            for f in self.findings
        )

    def arm_at(self, step: int, interval: int) -> None:
        """At an epoch's end: hook the next forward pass if `step` is a probe step."""
        if step % interval == 0:
            self.probe.arm()
        else:
            self.probe.disarm()

    def end_probe(self, runaway: bool = False) -> list[Finding]:
        """`runaway`: a probe taken off the probe steps because the loss ran away
        (`running_away`), judged for divergence alone (`RUNAWAY_RULES`)."""
        self.probe.after_step()
        if runaway and self.history.steps:
            self.history.runaway_steps.append(self.history.steps[-1])
        return self.check(RUNAWAY_RULES if runaway else PROBE_RULES)

    def end_epoch(
        self,
        row: dict[str, float],
        penalty: Penalty | None = None,
        val_rows: np.ndarray | None = None,
    ) -> list[Finding]:
        """`penalty`: the regularisation strong enough to keep the network from fitting
        (`strong_penalty`, read by the caller from the live model and optimizer);
        `val_rows`: the loss of each validation row, where the caller knows them."""
        if not math.isfinite(data_loss(row)):
            return []  # an epoch rolled back to its start has no loss of its own
        self.history.curves.append(row | {"train_loss": data_loss(row)})
        known = val_rows if val_rows is not None else np.empty(0, dtype=np.float32)
        self.history.val_rows.append(known)
        self.history.penalty = penalty or Penalty()
        self._passed(row)
        return self.check(CURVE_RULES)

    def _passed(self, row: dict[str, float]) -> None:
        """An overfitting finding nothing treated whose val loss has since fallen below the
        best it rose from is marked resolved, with when: a few validation rows turned
        confidently wrong for some epochs and back (wine, 36 rows: 0.0097 -> 0.109 at epoch
        4, 0.0013 at 150; "overfits" stood in the report of a run that ended at its best)."""
        val = row.get("val_loss", math.nan)
        for f in self.findings:
            if f.code != "overfitting" or f.remedy is not None or f.resolved:
                continue
            if f.evidence.get("val_never_learned") and not val < self.history.untrained_loss():
                continue  # (a validation at knowing nothing passes only once it beats that)
            if val < f.evidence.get("best_val_loss", -math.inf):
                f.resolved = True
                self._seen.discard(f.code)  # a relapse is a new finding
                f.message += (
                    f" It passed: the validation loss fell to {val:.3g} in epoch "
                    f"{int(row.get('epoch', -1))}, below its best when this was found."
                )
