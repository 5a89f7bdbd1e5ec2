"""The doctor: probes a training run every few steps, runs the rules, reports findings.

`DoctorCallback` plugs into the `Trainer`; `Doctor` (`_loop.py`) attaches to a hand-written
loop. Both share `Examiner` (`_examiner.py`), which owns the probe, the history and the
findings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..findings import TRAINING_CODES, Finding
from ..train import Callback, EarlyStopping, FitResult, Trainer, first_found, mean_over_ranks
from ._baselines import measured_later, prior_loss
from ._evidence import dropout, strong_penalty
from ._examiner import DEFAULT_EVERY, Examiner, after_remedy, next_interval, probe_interval
from ._history import VAL_ROWS_KEPT, data_loss
from ._loop_causes import explain, resolve_explained
from ._rebuild import REBUILDS_MODEL, Rebuild
from ._repair import Repairer
from ._replay import first_nonfinite_layer
from ._rules import Thresholds
from ._trainer_checks import TrainerChecks


class DoctorCallback(Callback):
    """The doctor inside the Trainer.

    `mode="detect"` reports findings; `mode="repair"` also treats each warning or error
    through the Trainer's control surface, which needs `rebuild` (the run's config and
    factories) for remedies that change the optimizer or the model.
    """

    def __init__(
        self,
        every: int = DEFAULT_EVERY,
        thresholds: Thresholds | None = None,
        on_finding: Callable[[Finding], None] | None = None,
        mode: str = "detect",
        rebuild: Rebuild | None = None,
        check_each_step: bool | None = None,
    ) -> None:
        """`check_each_step`: read the loss at every step to catch a NaN at the step it
        happens (default: on a CPU, where reading costs no device sync). Elsewhere the
        Trainer's periodic check finds it (`on_nonfinite_loss`), a few steps later."""
        if mode not in ("detect", "repair"):
            raise ValueError(f"mode must be detect or repair; got {mode!r}")
        if mode == "repair" and rebuild is None:
            raise ValueError("repair mode needs a Rebuild (the config and its factories)")
        self.every, self.thresholds, self.on_finding = every, thresholds, on_finding
        self.mode, self.rebuild = mode, rebuild
        self.examiner: Examiner | None = None
        self.repairer: Repairer | None = None
        self.interval = every
        self._later = every  # the interval of epoch 1, and of the epochs judging a remedy
        self._hold = 0  # epoch ends left before probes thin out again after a remedy
        self._probing = False
        self._runaway = False  # probing off the probe steps: the loss ran away
        self._runaway_at = math.inf  # `Examiner.runaway_loss`, read again where it can move
        self._nonfinite_layer: str | None = None
        self._replayed = False
        self.check_each_step = check_each_step
        self._scale: float | None = None  # the gradient scaler's scale before a probed step
        self._state: dict[str, Any] | None = None  # loaded from a checkpoint, for fit start
        self.checks: TrainerChecks | None = None  # the silent-bug checks the loop's doctor shares
        self._alike_root: Finding | None = None  # symmetric_units, while not repaired

    @property
    def findings(self) -> list[Finding]:
        return self.examiner.findings if self.examiner else []

    @property
    def checks_inputs(self) -> bool:
        """Reading the loss only at probes, the doctor needs the Trainer to note which input
        batches held NaN/inf, to tell bad data from a bad step."""
        return self.check_each_step is False

    @property
    def repairs(self) -> list[dict]:
        return self.repairer.repairs if self.repairer else []

    def on_fit_start(self) -> None:
        trainer = self.trainer
        self.examiner = Examiner(
            trainer.model,
            total_epochs=trainer.epochs,
            thresholds=self.thresholds,
            on_finding=self.on_finding,
        )
        self.examiner.history.grad_clip, self.examiner.history.l1 = trainer.grad_clip, trainer.l1
        trainer.val_rows_kept = VAL_ROWS_KEPT  # what a rise of the val loss is made of
        self.checks = TrainerChecks(trainer, self.examiner)
        prior = prior_loss(trainer)  # measured once: the repairer's "stalled" reads it too
        if trainer.task == "classification":  # regression's 1.0 assumes standardised targets
            self.examiner.history.prior_loss = prior
        for name, measure in measured_later(trainer).items():
            self.examiner.history.measure_later(name, measure)
        self.interval = probe_interval(
            self.every, trainer.steps_per_epoch, self.examiner.thresholds.sustain
        )
        self._later = min(2 * self.interval, 2 * self.every)  # epoch 1's interval
        if self.mode == "repair":
            self.repairer = Repairer(
                trainer, self.rebuild, prior_loss=prior, thresholds=self.thresholds
            )
        if self.check_each_step is None or trainer.ranks.active:
            # under DDP a rank's own loss may differ from another's: read only at probes, the
            # same steps on every rank, as the mean over ranks
            self.check_each_step = trainer.device.type == "cpu" and not trainer.ranks.active
        if self._state is not None:
            self._load(self._state)
        self.examiner.probe.arm()
        self._runaway_at = self.examiner.runaway_loss()

    def on_after_backward(self, step: int, loss: torch.Tensor) -> None:
        if step == 0:
            self.checks.read_loss_graph(loss)
        self._probing = step % self.interval == 0
        # On a CPU reading the loss costs no device sync, so a bad loss is caught at its step,
        # and so is one running away (probed at every such step until it comes back, where
        # probes that thin out after the first epochs would leave it to the epoch's end);
        # elsewhere it is read at probe steps, which sync anyway.
        if self._probing or self.check_each_step:
            value = self._read(loss)
            if not math.isfinite(value):
                self._probing = True
                if not self._replayed and self.trainer.batch is not None:
                    self._replayed = True
                    self._nonfinite_layer = self._where_nonfinite()
            elif not self._probing and value > self._runaway_at:
                self._probing = self._runaway = True
        if self._probing:
            self.checks.note_reach(step)
            scaler = self.trainer.scaler
            self._scale = scaler.get_scale() if scaler is not None else None
            probe = self.examiner.probe
            probe.read_optimizer(self.trainer.optimizer, groups=False)
            probe.before_step(step, self.trainer.epoch, loss, loss_scale=self._scale or 1.0)
        elif (step + 1) % self.interval == 0:
            self.examiner.probe.arm()  # the next forward pass is probed

    def _read(self, loss: torch.Tensor) -> float:
        """The loss as a number; under DDP the mean over ranks, so a NaN on one rank is seen
        by all (read at probe steps only, which all ranks share)."""
        if self.trainer.ranks.active:
            return float(mean_over_ranks(loss.detach().float().clone()))
        return loss.detach().item()  # 1.5 against 4 us: item() of a tensor needing grad warns

    def _where_nonfinite(self) -> str | None:
        """Where the bad loss just read came from. Read at every step, the weights that
        produced it are still in place. Read only at probes, it may have gone bad steps ago:
        the Trainer knows whether that step's input batch was finite."""
        first = None if self.check_each_step else self.trainer.first_nonfinite_loss()
        return self._origin(first[1] if first is not None else None)

    def _origin(self, inputs_finite: bool | None) -> str | None:
        """ "input" for a batch known to hold NaN/inf; else where a replay of the current batch
        first goes non-finite (None: nowhere, the loss itself overflowed)."""
        if inputs_finite is False:
            return "input"
        batch = self.trainer.batch
        layer = first_nonfinite_layer(self.trainer.model, batch[0]) if batch is not None else None
        return first_found(layer)  # under DDP, only the rank whose batch went bad knows

    def on_batch_end(self, step: int, loss: torch.Tensor) -> None:
        if not self._probing:
            return
        self._probing = False
        scaler = self.trainer.scaler
        if self._scale is not None and scaler is not None and scaler.get_scale() < self._scale:
            # mixed precision: the scaled gradients overflowed, the scaler skipped the step
            # and lowered its scale. Normal, not an explosion: probe the next step instead.
            self.examiner.probe.discard()
            self.examiner.probe.arm()
            return
        symmetric = self.checks.symmetric(step)
        if symmetric is not None:
            self._alike_root = symmetric
        found = self.examiner.end_probe(runaway=self._runaway)
        found = ([symmetric] if symmetric else []) + found
        self._runaway = False
        for finding in found:
            if finding.code == "divergence" and self._replayed:
                _explain_divergence(finding, self._nonfinite_layer)
        self._treat(found, step)
        self._runaway_at = self.examiner.runaway_loss()
        if (step + 1) % self.interval == 0:
            self.examiner.probe.arm()

    def on_nonfinite_loss(self, step: int, inputs_finite: bool | None) -> None:
        """The Trainer's periodic check found a NaN loss this doctor did not read (on an
        accelerator): judge the divergence now, and in repair mode roll back and treat it."""
        if self.examiner.reported("divergence"):
            return  # already reported (detect mode): the run ends as diverged
        probe, trainer = self.examiner.probe, self.trainer
        probe.before_step(step, trainer.epoch, torch.full((), math.nan, device=trainer.device))
        found = self.examiner.end_probe()
        for finding in found:
            if finding.code == "divergence":
                _explain_divergence(finding, self._origin(inputs_finite))
        self._treat(found, step)
        self._runaway_at = self.examiner.runaway_loss()

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.interval, self._hold = next_interval(
            self.interval, self._later, self.every, self._hold
        )
        trainer = self.trainer
        penalty = strong_penalty(trainer.model, trainer.optimizer, trainer.l1, data_loss(metrics))
        self.examiner.history.train_as_val = _train_as_val(trainer)
        found = self.examiner.end_epoch(metrics, penalty, trainer.val_row_losses)
        self.checks.epoch_end(epoch)
        for finding in found:
            if finding.code == "overfitting" and self._early_stopping():
                finding.severity, finding.remedy, finding.resolved = "info", "early_stopping", True
                finding.message += " Early stopping is on and restores the best weights."
        self._treat(found, None)
        if self.repairer is not None:
            for finding in self.repairer.epoch_end(epoch, metrics, self.examiner.history):
                self._treat([finding], None, again=True)
        self.examiner.arm_at(trainer.step, self.interval)
        self._runaway_at = self.examiner.runaway_loss()

    def on_fit_end(self, result: FitResult) -> None:
        self.examiner.probe.disarm()
        if self.repairer is None or result.status == "diverged":
            return
        last = result.history[-1] if result.history else {}
        self.repairer.finish(last)
        kept = self.repairer.keep_the_best(last)
        if kept is None:
            return
        treated = [finding for finding in self.examiner.findings if finding.code == kept.code]
        if treated:
            treated[-1].message += f" {kept.words}"

    def _treat(self, found: list[Finding], step: int | None, again: bool = False) -> None:
        """Repair the most fundamental new problem; drop the others found with it, which are
        often its consequences (dead units starve gradients), so they are judged again.
        `again`: a finding already treated whose remedy did not make the network learn.
        Findings units all alike explain (`symmetric_units`, not repaired) are not treated:
        their own remedies (a lower rate for dead units) cannot part the units."""
        for finding in found:
            explain(finding, self._alike_root)
        problems = sorted(
            (f for f in found if f.severity != "info" and "explained_by" not in f.evidence),
            key=_priority,
        )
        if self.repairer is None or not problems:
            return
        first = problems[0]
        open_treatment = self.repairer.treating.get(first.code)
        if open_treatment is not None and open_treatment.finding is not first:
            # the same problem, back after its remedy: its first finding tells the story
            self.examiner.findings.remove(first)
        if not self.repairer.treat(first, step, self.examiner.history):
            return
        trainer = self.trainer
        remaining = max(trainer.epochs - trainer.epoch, 1)
        codes = [f.code for f in problems]
        if first is self._alike_root:  # a new start: everything it explained judged afresh
            self._alike_root = None
            codes += TRAINING_CODES
            resolve_explained(self.examiner.findings, first)
        rebuilt = first.remedy in REBUILDS_MODEL
        self.examiner.reset(
            trainer.model, remaining, trainer.grad_clip, codes, l1=trainer.l1, rebuilt=rebuilt
        )
        self.checks.renew()
        self.interval, self._hold = after_remedy(self.interval, self._later)
        if again:
            self.examiner.mark_reported(first.code)  # judged by the repairer, not reported twice
        for consequence in problems[1:]:
            self.examiner.findings.remove(consequence)
        self._replayed, self._nonfinite_layer = False, None

    # --- resume -----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The doctor's findings, histories and repairs, and the repaired config: a repaired
        run resumes as the repaired run, not as the config it started from."""
        if self.examiner is None:
            return {}
        state: dict[str, Any] = {
            "examiner": self.examiner.state_dict(),
            "interval": self.interval,
            "later": self._later,  # as counted on the data the run started with
            "hold": self._hold,
        }
        if self.repairer is not None:
            state["repairer"] = self.repairer.state_dict(self.examiner.findings)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._state = state or None  # applied at fit start, once the trainer is known

    def _load(self, state: dict[str, Any]) -> None:
        baselines = self.examiner.history  # of the data as resumed
        self.examiner.load_state_dict(state["examiner"])
        history = self.examiner.history
        history.grad_clip, history.l1 = self.trainer.grad_clip, self.trainer.l1
        history.inherit_baselines(baselines)
        self.interval = state["interval"]
        self._later, self._hold = state.get("later", self._later), state.get("hold", 0)
        if self.repairer is not None and "repairer" in state:
            self.repairer.load_state_dict(state["repairer"], self.examiner.findings)
        self._alike_root = next(  # units alike, reported and not treated: still the cause
            (f for f in self.examiner.findings if f.code == "symmetric_units" and not f.remedy),
            None,
        )
        self._state = None

    def _early_stopping(self) -> bool:
        return any(isinstance(cb, EarlyStopping) for cb in self.trainer.callbacks.callbacks)


_PRIORITY = (
    "symmetric_units",
    "divergence",
    "exploding_gradient",
    "dying_relu",
    "saturated_activation",
    "vanishing_gradient",
    "oscillating_loss",
    "slow_convergence",
    "underfitting",
    "overfitting",
)


def _priority(finding: Finding) -> int:
    return _PRIORITY.index(finding.code) if finding.code in _PRIORITY else len(_PRIORITY)


def _explain_divergence(finding: Finding, layer: str | None) -> None:
    """Add where the replayed batch first went non-finite to a divergence finding."""
    finding.layer = layer if layer != "input" else None
    finding.evidence["first_nonfinite_output"] = layer or "loss"
    if layer == "input":
        finding.message += " The input batch itself holds NaN or inf values."
    elif layer is None:
        finding.message += " Every layer's output was finite: the loss itself overflowed."
    else:
        finding.message += f" The first non-finite values appear in the output of {layer}."


def _train_as_val(trainer: Trainer) -> bool:
    """Whether the epoch's train loss measures what its val loss does: rows not augmented,
    no active dropout, no L1 penalty added to the loss (`ProbeHistory.train_as_val`)."""
    return not (trainer.augmenting or dropout(trainer.model) or trainer.l1)
