"""Repair: roll back to the last healthy state, apply the next remedy, judge whether it cured.

A cure is judged on evidence that could still show the problem. A probe problem (gradients,
units, divergence) is cured when its rule, reading fresh probes, stays silent for
`cure_epochs` epochs. A curve problem (oscillation, slow convergence, under- and overfitting)
is cured only once the rule has seen as many epochs after the remedy as it needs to speak
(`Thresholds.min_epochs`, `judge_after`) and stayed silent; a run that ends before then
leaves the cure unconfirmed, and says so. Either way, a network that was not learning when
it was treated must learn afterwards (its loss below the class prior's), or the remedy did
not cure it.

If the rule fires again, or the network still does not learn, the next remedy in the order
is tried; after the last one the doctor gives up and says so. Remedies that rebuild the model
from scratch are tried only while `rebuild_budget` of the epochs remain, except for a network
that falls short of what its data allows (`underfitting`): its new network gets that share
of the budget, the run extended for it where fewer epochs are left. Every attempt is
recorded with its before/after evidence.
"""

from __future__ import annotations

import math
from typing import Any

from ..findings import Finding
from ..train import Trainer
from ._evidence import ADAPTIVE, Evidence, gather_evidence
from ._history import ProbeHistory, data_loss
from ._kept_weights import EarlierNetwork, Kept, better, keep_the_best, monitored, outgoing
from ._rebuild import FROM_BEST, REBUILDS_MODEL, SWUNG_CODES, NotApplicable, Rebuild
from ._rebuild_epochs import rebuild_epochs
from ._remedy_order import ACTS_AT_ONCE, REMEDIES, remedy_order
from ._repair_records import cause_of, epoch_of, key_evidence
from ._rules import (
    CURVE_CODES,
    LEARNING_CODES,
    Thresholds,
    flown_off,
    killed_units,
    units_dying,
    units_lost,
)
from ._treatment import Treatment
from ._verdicts import (
    beat_its_start,
    cured,
    gave_up,
    losses_since,
    not_cured,
    not_learning,
    prior_named,
    ran_away,
    unconfirmed,
)

# The loss or the gradients ran away: the weights of that run are no model to return to,
# even where an epoch of it had a lower validation loss than any after the cure (the class
# prior's, having learned nothing, below a cured network's that overfits at twice its
# accuracy). Their remedies start the best weights again from the cured run.
RUNAWAY_CODES = ("divergence", "exploding_gradient")
# remedies that lower the rate: once one was applied, a higher rate is not tried again,
# neither raised nor Adam's default given to an adaptive optimizer (`_raises_a_lowered_rate`)
LOWERS_RATE = ("lower_lr", "lower_lr_and_clip")
RAISES_RATE = ("raise_lr",)
SWITCHES_TO_ADAM = ("switch_to_adam", "smaller_batches_and_adam")
# A network that learns too slowly, or has stalled, has done its weights no harm: its
# remedies apply to the live ones. A rollback to the last healthy state, an epoch back,
# would only throw away progress (and a remedy that then proves not applicable leaves the
# run an epoch poorer for nothing); a weaker penalty judged on weights it had not yet
# shrunk would judge its strength on others.
SOUND_WEIGHTS_CODES = ("slow_convergence", "underfitting")
# problems whose network, not learning when treated, must learn after its remedy: those that
# keep it from learning, and gradients that exploded from the start (an initialisation far
# too large, re-drawn, left a network under SGD at 1e-5 that never learned: "cured")
STALLING_CODES = (*LEARNING_CODES, "exploding_gradient")


class Repairer:
    """Holds the healthy state in memory and applies remedies in order; the best weights
    are the Trainer's (`trainer.best`)."""

    def __init__(
        self,
        trainer: Trainer,
        rebuild: Rebuild,
        *,
        prior_loss: float | None = None,
        thresholds: Thresholds | None = None,
        cure_epochs: int = 2,
        max_repairs: int = 8,
        rebuild_budget: float = 0.4,
    ) -> None:
        self.trainer, self.rebuild = trainer, rebuild
        self.thresholds = thresholds or Thresholds()
        self.cure_epochs, self.max_repairs = cure_epochs, max_repairs
        self.rebuild_budget = rebuild_budget  # share of the epochs a rebuilt model needs left
        self.budget = trainer.epochs  # the epochs the run was given, before any extension
        self.repairs: list[dict[str, Any]] = []
        self.treating: dict[str, Treatment] = {}
        self.prior_loss = prior_loss  # the best constant prediction's loss (`prior_loss()`)
        self.healthy = trainer.snapshot()
        # the last healthy state whose ReLU units were alive, where the steps since have been
        # killing them (`units_dying`): a dying ReLU killed by the steps rolls back to it
        self.alive = self.healthy
        self.earlier: EarlierNetwork | None = None  # the best network a remedy replaced

    def evidence(self, history: ProbeHistory) -> Evidence:
        last = self.trainer.history[-1] if self.trainer.history else None
        return gather_evidence(
            history,
            prior_loss=self.prior_loss,
            prior_share=self.thresholds.prior_share,
            train_loss=data_loss(last) if last else None,
            model=self.trainer.model,
            optimizer=self.trainer.optimizer,
            l1=self.trainer.l1,
            steps_per_epoch=self.trainer.steps_per_epoch,
        )

    def treat(self, finding: Finding, step: int | None, history: ProbeHistory) -> bool:
        """Apply the next remedy for `finding`; False when there is none left (gave up)."""
        treatment = self.treating.get(finding.code)
        if treatment is None:  # the cause decides the first remedy
            evidence = self.evidence(history)
            earlier = [r for r in self.repairs if r["finding"] == finding.code]
            tried = {r["remedy"] for r in earlier}
            if earlier and earlier[-1]["cured"]:  # cured, and back some epochs later
                earlier[-1].setdefault("came_back", len(self.trainer.history) - 1)
            order = remedy_order(finding, evidence)
            treatment = Treatment(finding, [name for name in order if name not in tried])
            treatment.was_stalled = evidence.stalled and finding.code in STALLING_CODES
            self.treating[finding.code] = treatment
            finding.evidence["cause"] = cause_of(evidence)
        elif treatment.record.get("cured") is None:  # the rule fired again
            self._not_cured(treatment, "the problem came back")
        trainer = self.trainer
        if self._rebuild_epochs(finding.code) < self.rebuild_budget * self.budget:
            # too late to train a rebuilt model from scratch: try the cheaper remedies
            treatment.remaining = [n for n in treatment.remaining if n not in REBUILDS_MODEL]
        if trainer.epochs - trainer.epoch < self._epochs_to_judge(finding.code):
            # too few epochs left to judge a remedy that trains on: one that acts at once first
            treatment.remaining.sort(key=lambda name: name not in ACTS_AT_ONCE)
        if not treatment.remaining or len(self.repairs) >= self.max_repairs:
            return self._give_up(treatment, "no remedy left to try")
        skipped: list[str] = []
        while True:
            name = treatment.remaining.pop(0)
            try:
                changed = self._apply(name, finding.code, killed=killed_units(finding))
                if finding.code in RUNAWAY_CODES:
                    trainer.best.forget()
                break
            except NotApplicable as why:
                skipped.append(f"{name}: {why}")
                if not treatment.remaining:
                    return self._give_up(treatment, "; ".join(skipped))
        treatment.record = {
            "step": step,
            "epoch": epoch_of(finding, trainer, again=bool(treatment.record)),
            "remedy": name,
            "finding": finding.code,
            "changed": changed,
            "before": key_evidence(finding),
            "after": None,
            "cured": None,
        }
        treatment.record |= self.rebuild.recorded
        self.rebuild.recorded = {}
        if skipped:
            treatment.record["skipped"] = skipped
        if name == "stop_early":
            treatment.record["restored_epoch"] = trainer.kept_epoch
        treatment.applied_epoch = trainer.epoch
        treatment.needs_epochs = self._epochs_to_judge(finding.code)
        self.repairs.append(treatment.record)
        finding.remedy = name
        if name == "stop_early":
            cured(self.trainer, treatment, {})
        return True

    def _epochs_to_judge(self, code: str) -> int:
        """Epochs after a remedy before the cure can be judged: a curve rule needs as many
        as it needs to speak at all (the history restarts at the remedy). Underfitting's
        compare the best of the last `creep_epochs` with the best before them: one more."""
        if code not in CURVE_CODES:
            return self.cure_epochs
        t, trainer = self.thresholds, self.trainer
        remaining = max(trainer.epochs - trainer.epoch, 1)
        speaks = t.creep_epochs + 1 if code == "underfitting" else t.min_epochs
        return max(speaks, math.ceil(t.judge_after * remaining), self.cure_epochs)

    def _apply(self, name: str, code: str, *, killed: bool = False) -> str:
        """Apply remedy `name` for a problem `code` from the right starting point (the best
        weights for an overfitting remedy or an oscillation, the last healthy state for the
        others that keep the model); returns what it changed. The healthy snapshot is taken
        again after every remedy, so that a rollback always restores the live model and
        optimizer with the change in place (a rollback to the state before a lower learning
        rate would undo it). Units the steps killed (`killed`) roll back to before they died."""
        trainer = self.trainer
        if self._raises_a_lowered_rate(name):
            raise NotApplicable("a remedy lowered the rate: this one would raise it back 10x")
        if name == "stop_early":
            return self._stop_early()
        if name in FROM_BEST:  # the best weights, before the network memorised more noise
            trainer.restore_best()
        elif name not in REBUILDS_MODEL and code not in SOUND_WEIGHTS_CODES:
            trainer.restore(self.alive if killed else self.healthy)  # undo what the problem did
            if code in SWUNG_CODES and trainer.restore_best() is not None:
                trainer.optimizer.state.clear()  # its momentum was the swing's
        replaced = (
            outgoing(trainer, self.rebuild, len(self.repairs))
            if name in REBUILDS_MODEL and code not in RUNAWAY_CODES
            else None
        )
        budget, needed = trainer.epochs, trainer.epoch + self._rebuild_epochs(code)
        if name in REBUILDS_MODEL and needed > budget:
            self._set_epochs(needed)  # before the rebuild: its schedule spans them
        try:
            changed = REMEDIES[name](trainer, self.rebuild)
        except NotApplicable:
            if trainer.epochs != budget:
                self._set_epochs(budget)
            raise
        if trainer.epochs != budget:
            left = trainer.epochs - trainer.epoch
            changed += f", train.epochs: {budget} -> {trainer.epochs} ({left} for the new network)"
        if replaced is not None and trainer.best.epoch is None:  # a new network: none its best
            self.earlier = better(self.earlier, replaced, trainer)
        self.healthy = self.alive = trainer.snapshot()
        return changed

    def _rebuild_epochs(self, code: str) -> int:
        return rebuild_epochs(self.trainer, code, self.budget, self.rebuild_budget)

    def _set_epochs(self, epochs: int) -> None:
        """The run's length, in the trainer and in the repaired config a resume reads."""
        self.trainer.epochs = self.rebuild.config.train.epochs = epochs

    def _raises_a_lowered_rate(self, name: str) -> bool:
        """Whether remedy `name` would undo the 0.1x a remedy gave the rate: `raise_lr`, or a
        switch to Adam (alone or with smaller batches) where the optimizer is adaptive
        already, which only sets its rate back to Adam's default (an oscillation lowered
        to 1e-4 under Adam, then "switched" to Adam at 1e-3, swung again)."""
        if not any(r["remedy"] in LOWERS_RATE for r in self.repairs):
            return False
        adaptive = isinstance(self.trainer.optimizer, ADAPTIVE)
        return name in RAISES_RATE or (adaptive and name in SWITCHES_TO_ADAM)

    def epoch_end(
        self, epoch: int, metrics: dict[str, float], history: ProbeHistory | None = None
    ) -> list[Finding]:
        """Judge the cures that are due; keep the healthy state — not one whose weights have
        flown off since the probes' start (`history`), or whose units the last probe saw
        dead or saturated, which a rollback must not return to though no rule has spoken
        yet. Returns the findings whose remedy did not make the network learn: they are to
        be treated again."""
        again = []
        for code, treatment in list(self.treating.items()):
            if (
                not treatment.record
                or len(losses_since(self.trainer, treatment)) < treatment.needs_epochs
            ):
                continue
            if self._starting_afresh(treatment, metrics):
                continue
            if self._still_stalled(treatment, metrics) or self._no_better(treatment):
                again.append(treatment.finding)
                continue
            cured(self.trainer, treatment, metrics)
            del self.treating[code]
        probe_problems = any(code not in CURVE_CODES for code in self.treating)
        lost = history is not None and (
            flown_off(history, self.thresholds) or units_lost(history, self.thresholds)
        )
        since = self.repairs[-1].get("epoch", -1) if self.repairs else -1
        runaway = ran_away(self.trainer, since, metrics, self.thresholds)
        if not (probe_problems or lost or runaway) and math.isfinite(data_loss(metrics)):
            self.healthy = self.trainer.snapshot()
            if history is None or not units_dying(history, self.thresholds):
                self.alive = self.healthy
        return again

    def _no_better(self, treatment: Treatment) -> bool:
        """An overfitting remedy whose network never beat the best weights it started from
        (kept across the remedy) did no better than stopping there: the rule's silence is
        not a cure."""
        best = self.trainer.best
        if treatment.finding.code != "overfitting" or best.epoch is None:
            return False
        if beat_its_start(self.trainer, treatment):
            return False
        self._not_cured(
            treatment,
            f"the {monitored(self.trainer)} never beat its best before the remedy "
            f"({best.value:.3g}, epoch {best.epoch})",
        )
        return True

    def _starting_afresh(self, treatment: Treatment, metrics: dict[str, float]) -> bool:
        """A network rebuilt from scratch for one that was not learning, and not learning
        yet (`_not_learning`): it gets the epochs the curve rules give a fresh run
        (`min_epochs`) before it is judged still stalled. A deep one sits at the class
        prior's loss for 2-3 epochs before it takes off (12 ReLU layers of 32 with batch
        norm, SGD at 0.05: 1.69, 1.60, 1.56, 1.44 against a prior's 1.61); judged after 2,
        it was switched to Adam at 1e-3, under which it never took off (0.27 accuracy
        against 0.79 after 25 epochs)."""
        return (
            treatment.record["remedy"] in REBUILDS_MODEL
            and len(losses_since(self.trainer, treatment)) < self.thresholds.min_epochs
            and self._not_learning(treatment, data_loss(metrics))
        )

    def _still_stalled(self, treatment: Treatment, metrics: dict[str, float]) -> bool:
        """A network that was not learning when treated, and still is not
        (`_not_learning`): the remedy did not cure it."""
        loss = data_loss(metrics)
        if not self._not_learning(treatment, loss):
            return False
        self._not_cured(
            treatment,
            f"its rule is silent but the network still does not learn (train loss "
            f"{loss:.3g}, {loss / self.prior_loss:.0%} of {prior_named(self.trainer)})",
        )
        return True

    def finish(self, metrics: dict[str, float]) -> None:
        """At the end of the fit: a probe problem that did not come back after fresh probes is
        cured; a curve problem whose rule never had the epochs to judge is unconfirmed."""
        for treatment in self.treating.values():
            if not treatment.record or treatment.record["cured"] is not None:
                continue
            seen = self.trainer.epoch - treatment.applied_epoch
            if treatment.finding.code in CURVE_CODES and seen < treatment.needs_epochs:
                unconfirmed(self.trainer, treatment, seen)
            elif self._still_stalled(treatment, metrics):
                treatment.finding.message += (
                    f" Treated by {treatment.record['remedy']}, but {treatment.record['why_not']}."
                )
            else:
                cured(self.trainer, treatment, metrics)
        self.treating.clear()

    def keep_the_best(self, metrics: dict[str, float]) -> Kept | None:
        """End a repaired run on the weights it is best kept on (`_kept_weights`)."""
        last = metrics.get("epoch")
        return keep_the_best(self.trainer, self.rebuild, self.repairs, self.earlier, last)

    def _stop_early(self) -> str:
        epoch = self.trainer.restore_best()
        if epoch is None:
            self.trainer.request_stop("overfitting: stopped early")
            return "stopped early"
        self.trainer.request_stop(f"overfitting: stopped early, restored epoch {epoch}")
        return f"stopped early and restored the weights of epoch {epoch}"

    def _not_cured(self, treatment: Treatment, why: str) -> None:
        not_cured(self.trainer, self.rebuild, treatment, why)

    def _not_learning(self, treatment: Treatment, loss: float) -> bool:
        return not_learning(self.trainer, treatment, loss, self.prior_loss, self.thresholds)

    def _give_up(self, treatment: Treatment, why: str) -> bool:
        tried = [r["remedy"] for r in self.repairs if r["finding"] == treatment.finding.code]
        gave_up(treatment, tried, why)
        self.treating.pop(treatment.finding.code, None)
        return False

    # --- resume -----------------------------------------------------------------------------

    def state_dict(self, findings: list[Finding]) -> dict[str, Any]:
        """The repairs, the open treatments (findings by their index in `findings`), the
        healthy snapshot and the repaired config."""
        return {
            "repairs": self.repairs,
            "treating": {
                code: t.state_dict(findings, self.repairs) for code, t in self.treating.items()
            },
            "healthy": self.healthy,
            "alive": None if self.alive is self.healthy else self.alive,
            "prior_loss": self.prior_loss,
            "budget": self.budget,
            "config": self.rebuild.config.to_dict(),
            "earlier": self.earlier.state_dict() if self.earlier else None,
        }

    def load_state_dict(self, state: dict[str, Any], findings: list[Finding]) -> None:
        self.repairs = list(state["repairs"])
        self.treating = {
            code: Treatment.from_state(t, findings, self.repairs)
            for code, t in state["treating"].items()
        }
        self.healthy = state["healthy"]
        self.alive = state.get("alive") or self.healthy  # (checkpoints before it had none)
        self.prior_loss = state["prior_loss"]
        self.budget = state.get("budget", self.budget)  # (checkpoints before it had none)
        earlier = state.get("earlier")
        self.earlier = EarlierNetwork.from_state(earlier) if earlier else None
