"""The doctor in your own training loop: the Trainer's probes and rules, plus the checks for
the bugs only a hand-written loop can have (`_loop_rules.py`), and repairs that need no rebuild
(what is treated, and how: `_loop_treat.py`).

    doctor = trainwell.Doctor(model, optimizer)        # mode="repair" to treat
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        doctor.step(loss)          # after backward, before optimizer.step()
        optimizer.step()
    doctor.epoch_end(train_loss, val_loss)
    doctor.findings, doctor.repairs
"""

from __future__ import annotations

import math
import statistics
import warnings
from typing import Any

import torch
from torch import nn

from ..findings import TRAINING_CODES, Finding
from ._batch_mixing import RowMixing
from ._epoch_checks import EPOCH_CHECKS
from ._evidence import gather_evidence, strong_penalty
from ._examiner import DEFAULT_EVERY, Examiner
from ._look_reads import read_look
from ._loop_advice import note_loop_setup
from ._loop_amp import LoopScaler
from ._loop_args import check_arguments, nonfinite_validation, number
from ._loop_causes import explain, root_cause, sound
from ._loop_changes import adopt, follow_trainable, trainable_now
from ._loop_checks import BLIND, all_dead, blind
from ._loop_clip import LoopClip
from ._loop_epoch_loss import EpochLosses
from ._loop_pace import LoopPace
from ._loop_players import OtherPlayers
from ._loop_repair import LoopRepairer
from ._loop_treat import check_loop, treat
from ._moving_keys import moving_keys
from ._repair_records import cause_of
from ._rules import Thresholds, units_dying
from ._silent import LoopThresholds
from ._watch import LoopWatch


class Doctor:
    """The doctor in your own training loop.

    Every `every` steps in the first epoch, twice that in the next, then half as often each
    healthy epoch down to every 4 x `every` (as the Trainer does), it probes gradients,
    weights and activations as in the Trainer. At the first probe steps, then at every
    eighth, it also compares the step with the next one for the silent bugs: gradients
    never cleared, parameters that never change or get no gradient, training in eval mode,
    a softmax before a logits loss. `mode="detect"` reports findings, each with its
    evidence and a one-line fix; `mode="repair"` (needs the optimizer) also treats them
    where the loop lets it — with
    `doctor.step(loss)` between `loss.backward()` and `optimizer.step()` — by what needs no
    rebuild (rollback, learning rate, clipping, zero_grad, train mode), and names the change
    to the model or loop it recommends for the rest. A mixed-precision loop passes its
    `scaler` (`torch.amp.GradScaler`): the gradients are read unscaled, before or after
    `scaler.unscale_(optimizer)`, and a step the scaler skipped on overflow is no explosion.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        every: int = DEFAULT_EVERY,
        epochs: int = 0,
        mode: str = "detect",
        thresholds: Thresholds | None = None,
        loop_thresholds: LoopThresholds | None = None,
        scaler: torch.amp.GradScaler | None = None,
    ) -> None:
        check_arguments(
            model,
            optimizer,
            every=every,
            epochs=epochs,
            mode=mode,
            scaler=scaler,
            thresholds=thresholds,
            loop_thresholds=loop_thresholds,
        )
        self.model, self.optimizer, self.epochs = model, optimizer, epochs
        self.findings: list[Finding] = []  # in the order found
        self.examiner = Examiner(
            model, total_epochs=epochs, thresholds=thresholds, on_finding=self._found
        )
        self.examiner.probe.arm()
        self.watch = LoopWatch(model, optimizer)
        self._mixing = RowMixing(model, busy=lambda: self.examiner.probe.armed)
        self.loop_thresholds = loop_thresholds or LoopThresholds()
        self.amp = LoopScaler(scaler)
        self.repairer = (
            LoopRepairer(
                model,
                optimizer,
                thresholds=self.examiner.thresholds,
                keep_grads=self.amp.scaler is not None,
                epochs=epochs,
            )
            if mode == "repair"
            else None
        )
        self._seen: set[str] = set()
        self._root: Finding | None = None  # a silent bug behind every finding (`explain`)
        self._clip = LoopClip()  # the loop's own clipping, once seen
        self._players = OtherPlayers(model, optimizer, self.watch)  # another network trained beside
        self._looked = False  # the first look, whose loss is the loss at init, was taken
        self.pace = LoopPace(every)  # when it probes, and when the checks look
        self._step = 0
        self._epoch = 0
        self._losses = EpochLosses()  # read at every step, for `epoch_end`
        self._probed = False
        self._runaway = False  # probed off the probe steps: the loss ran away
        self._runaway_at = math.inf  # the loss that has (`Examiner.runaway_loss`)
        self._busy_at = 0  # the next step that is not plain (`_next_busy`)
        self._trainable = trainable_now(self.model)  # which parameters require a gradient
        self._warned_blind = False  # told that doctor.step sits where .grad is cleared
        self._warned_val = False  # told that the validation loss is not finite
        self._reset_in: int | None = None  # the epoch a remedy last restarted the history in
        self._probe_at: int | None = None  # the step after a remedy restarted it: probed
        self._clean_repairs = 0  # repairs made by the last look that found no silent bug
        self._probes_read = False  # the last probe read gradients (`step`)

    @property
    def repairs(self) -> list[dict[str, Any]]:
        return self.repairer.repairs if self.repairer else []

    @property
    def every(self) -> int:
        """Steps between probes in the first epoch, at most (as given)."""
        return self.pace.every

    @property
    def interval(self) -> int:
        """Steps between probes now."""
        return self.pace.interval

    @property
    def scaler(self) -> torch.amp.GradScaler | None:
        """The loop's gradient scaler, as given (None where none or one disabled)."""
        return self.amp.scaler

    @property
    def lr(self) -> float | None:
        """The loop's learning rate now (its first group's), as the Trainer reports its own;
        None without an optimizer."""
        return float(self.optimizer.param_groups[0]["lr"]) if self.optimizer is not None else None

    def _found(self, finding: Finding) -> None:
        if (lr := self.lr) is not None:
            finding.evidence["lr"] = lr
        if finding.code in TRAINING_CODES and finding.severity != "info":
            finding.evidence["cause"] = self._cause()
        note_loop_setup(finding, self._clip.norm, scaler_given=self.amp.scaler is not None)
        self._players.qualify(finding)
        moving_keys(finding, self.examiner.history)
        explain(finding, self._root)
        if finding.code in TRAINING_CODES and finding.severity != "info" and self._root is None:
            # a silent bug may have begun since the checks last looked (a zero_grad skipped
            # from some epoch on): they look again at once, before a remedy for the symptom
            self.pace.look_again = self.loop_thresholds.sustain
        self.findings.append(finding)
        if root_cause(finding) is not None:  # a bug every training finding follows from
            self._root = finding
            for earlier in self.findings:
                explain(earlier, finding)

    def _cause(self) -> dict[str, Any]:
        """What the probes and the live model and optimizer measured, as the Trainer's doctor
        records it with its findings (`gather_evidence`)."""
        history = self.examiner.history
        evidence = gather_evidence(
            history,
            prior_loss=history.untrained_loss() or None,
            model=self.model,
            optimizer=self.optimizer,
        )
        return cause_of(evidence)

    def step(self, loss: torch.Tensor) -> list[Finding]:
        """Call after `loss.backward()`; returns the findings new at this step."""
        if not isinstance(loss, torch.Tensor):  # its graph is read too, not only its value
            raise TypeError(
                f"doctor.step takes the loss tensor, as backward() had it (not loss.item()); "
                f"got {type(loss).__name__}"
            )
        step = self._step
        training = self.model.training or self.watch.eval_on_purpose
        # on a CPU, read once a step (no device to sync with): None elsewhere
        value = loss.detach().item() if loss.is_cpu and loss.numel() == 1 else None
        self._losses.read(value)
        if step < self._busy_at and training and not self._ran_away(value):
            self._step = step + 1  # a plain step: as most are, with as little as possible
            return []
        if loss.numel() != 1:  # per-sample losses (reduction="none"), their mean backpropagated
            raise ValueError(
                f"doctor.step takes the one loss backward() was called on; got a tensor of "
                f"{loss.numel()} values (reduction='none'?): pass their mean, as backpropagated"
            )
        trainable = trainable_now(self.model)  # read at busy steps: a loop may freeze layers
        if trainable != self._trainable:
            follow_trainable(self, trainable)
        if self._players.successor is not None:  # ... or build a new optimizer
            adopt(self, self._players.successor)
        watch = self.watch
        # the last probe's update is done
        clipped_after = self._clip.read()
        self._note_loop_clip()
        new = self.examiner.end_probe(self._runaway) if self._stepped_since_probe() else []
        changed = watch.mode(step, self._epoch) or clipped_after
        if watch.check(step, self._epoch):
            changed = True
            # read on a CPU already; elsewhere a look's one sync
            watch.record.checks[-1].loss_zero = (value if value is not None else float(loss)) == 0
            if self._reads_clip():
                self._clip.saw(watch.record.checks[-1])
                self._note_loop_clip()
        if self._mixing.mixed is not None and watch.record.mixed_rows is None:
            watch.record.mixed_rows, watch.record.mixed_rows_step = self._mixing.mixed, step
            changed = True
        looking = self.pace.looking(step, watch.record, self.loop_thresholds, self.findings)
        if looking:
            changed = read_look(self, loss, step) or changed
        if changed:
            watch.record.all_dead = all_dead(self.examiner.history)
            new += check_loop(self)
            if not self._warned_blind and blind(watch.record, self.loop_thresholds):
                self._warned_blind = True
                warnings.warn(BLIND, UserWarning, stacklevel=2)
        if self.repairer is not None:
            self.repairer.loop_clip = self._clip.norm
            self.repairer.carried_by = self._players.carried_by
            treat(self, new)
            self.repairer.before_step()
        self._runaway_at = self.examiner.runaway_loss()
        # the interval a remedy set, if one did; and the step after a remedy (`_own_loss`)
        probe_step = step % self.pace.interval == 0 or step == self._probe_at
        self._runaway = not probe_step and self._ran_away(value)
        self.pace.probe_steps += probe_step
        self._probed = probe_step or self._runaway
        if self._probed and not self.examiner.probe.has_gradients():
            # doctor.step after optimizer.zero_grad(): no gradient to read, none vanished;
            # where the probe before read some, the loss may no longer reach the model (a
            # new model trained instead): the silent-bug checks look again at once
            self.examiner.probe.disarm()
            self._probed = False
            if self._probes_read:
                self.pace.look_again = self.loop_thresholds.sustain
            self._probes_read = False
        elif self._probed:
            self._probes_read = True
        if self._probed:
            probe = self.examiner.probe
            if self.optimizer is not None:  # a repair may have handed it parameters since
                probe.read_optimizer(self.optimizer)
            grad_scale = self.amp.at_probe(self.optimizer, loss)
            probe.before_step(step, self._epoch, loss, grad_scale, self.amp.scale or 1.0)
            if self._reads_clip():
                self._clip.arm(self.optimizer, self.watch.params, step)
        if looking and (value is None or math.isfinite(value)):  # NaN gradients tell nothing
            watch.arm()  # the next step is compared with this one
            self._mixing.arm()  # (once: until it measured its forward)
        if (step + 1) % self.pace.interval == 0:
            self.examiner.probe.arm()
        if self.repairer is not None and value is not None and not math.isfinite(value):
            self.repairer.drop_step()  # whatever made the NaN, before the optimizer applies it
        self._step += 1
        self._busy_at = self._next_busy(self._step)
        return new

    def epoch_end(
        self, train_loss: float, val_loss: float | None = None, **metrics: float
    ) -> list[Finding]:
        """Call once per epoch with its losses; returns the findings new at this epoch."""
        train_loss = number("train_loss", train_loss)  # each checked before anything moves
        train_loss = self._losses.epoch_loss(train_loss)
        val_loss = None if val_loss is None else number("val_loss", val_loss)
        metrics = {name: number(name, value) for name, value in metrics.items()}
        told = None if val_loss is None else nonfinite_validation(val_loss, train_loss, self._epoch)
        if told is not None and not self._warned_val:
            self._warned_val = True  # once a run, as at the line that passed it
            warnings.warn(told, UserWarning, stacklevel=2)
        self._clip.read()
        self._note_loop_clip()
        new = self.examiner.end_probe(self._runaway) if self._stepped_since_probe() else []
        self._probed = False
        self.pace.epoch_end(self._epoch, self._step, self.examiner.thresholds.sustain)
        row = {"epoch": self._epoch, "train_loss": train_loss, **metrics}
        if (lr := self.lr) is not None:  # as the Trainer records it: a schedule shows in it
            row.setdefault("lr", lr)
        if val_loss is not None:
            row["val_loss"] = val_loss
        penalty = strong_penalty(self.model, self.optimizer, loss=train_loss)
        new += self.examiner.end_epoch(row | {"train_loss": self._own_loss(train_loss)}, penalty)
        history = self.examiner.history
        for check in EPOCH_CHECKS:  # what the probes read at the outputs
            finding = self.examiner.report_new(check(history, self._epoch, self._step))
            if finding is not None:
                new.append(finding)
        if self.repairer is not None:
            self.repairer.keep_best(self._epoch, row)
            self.repairer.loop_clip = self._clip.norm
            treat(self, new, train_loss, at_epoch_end=True)
            problems = any(f.severity != "info" and f.remedy is None for f in new)
            untrained = self.examiner.histories[0].untrained_loss()  # the loop's chance level
            # read again: a remedy treat() applied restarts the history
            history, t = self.examiner.history, self.examiner.thresholds
            healthy = not problems and sound(history, t, untrained, train_loss, val_loss)
            probes = self.examiner.history.n_probes  # since the last remedy: it resets them
            steps = history.step_size()
            dying = units_dying(history, t)  # a rollback for killed units goes back further
            again = self.repairer.epoch_end(
                self._epoch, healthy, train_loss, probes, untrained, steps, dying
            )
            treat(self, again, train_loss, at_epoch_end=True)
        self._runaway_at = self.examiner.runaway_loss()
        self.examiner.arm_at(self._step, self.pace.interval)
        self._epoch += 1
        self._busy_at = self._next_busy(self._step)
        return new

    def _own_loss(self, train_loss: float) -> float:
        """The epoch's training loss for the curve: the loop's mean, or, in an epoch a
        remedy came in, the mean of the losses probed since, where some were: the loop's
        mean holds the losses before it too (a runaway's 1e4s as the fresh history's first
        point hid the loss climbing back to chance after the rate was lowered). Where none
        was probed since (a remedy at the epoch's last step: the step after a remedy is
        probed), the epoch is left out of the fresh curve (NaN): its mean is the network's
        before the remedy, and a loss climbing back from a rollback to the start read as an
        oscillation of the treated network."""
        if self._reset_in != self._epoch:
            return train_loss
        history = self.examiner.history
        since = [v for v, e in zip(history.loss, history.epochs, strict=True) if e == self._epoch]
        return statistics.fmean(since) if since else math.nan

    def close(self) -> None:
        """The loop is over: remove every hook the doctor placed (the loop's probes and the
        repairs'); in repair mode, end a repaired loop on its best epoch's weights."""
        self.examiner.probe.disarm()
        self.watch.disarm()
        self._mixing.disarm()
        self._clip.close()
        self._players.close()
        if self.repairer is not None:
            self.repairer.close()
            self.repairer.end_on_best()

    def _next_busy(self, step: int) -> int:
        """The first step from `step` on with something to probe, compare or note; the
        steps before it are plain, as most are: the doctor reads their loss for a runaway
        (on a CPU, where that needs no device sync) and whether the model is in train mode,
        and leaves. Read once per busy step, not at every plain one: a training step's
        backward leaves the caches cold, and each attribute read costs."""
        if self._probed or step == self._probe_at or not self.watch.idle:
            return step
        return self.pace.next_busy(step, self.watch.record, self.loop_thresholds, self._epoch)

    def _note_loop_clip(self) -> None:
        """The loop's own clipping, once seen, and how far it scales the gradients down: a
        clip at 1e-3 meant as 1.0 throttles every step (`slow_convergence` names it)."""
        if self._clip.norm is not None:
            self.examiner.history.loop_clip = (self._clip.norm, self._clip.throttle)
        self.watch.record.clipped_after = self._clip.after_step

    def _reads_clip(self) -> bool:
        """Whether clipping the loop does itself can be told (`LoopClip`): doctor.step sits
        before optimizer.step (after it, the step's hook reads the next batch's gradients),
        no gradient scaler's `unscale_` scales them down in between, and no clip of the
        doctor's own runs before the step's hook."""
        return (
            self.optimizer is not None
            and self.watch.order_ok is True
            and self.amp.scaler is None
            and (self.repairer is None or not self.repairer.clip)
        )

    def _stepped_since_probe(self) -> bool:
        """Whether a probe was taken and a step followed it: one the gradient scaler skipped
        on overflow is dropped, as the Trainer's doctor drops it."""
        if not self._probed:
            return False
        if self.amp.skipped():
            self.examiner.probe.discard()
            return False
        return True

    def _ran_away(self, value: float | None) -> bool:
        """A loss on a CPU (read with no device sync; elsewhere it is not read) that is
        non-finite, or running away (`Examiner.runaway_loss`), is probed at its step, not at
        the next probe, which may be an epoch away once probes have thinned out."""
        return value is not None and not value < self._runaway_at  # NaN compares false
