"""The silent-bug checks of the hand-written loop's doctor that the Trainer's doctor shares:
read from the same evidence, reported under the same codes, worded the same."""

from __future__ import annotations

from typing import Any

import torch

from ..findings import Finding
from ..train import Trainer
from ._batch_softmax import (
    softmax_off_classes,
    softmax_over_batch,
    softmax_over_rows,
    softmax_wrong_dim,
)
from ._bounded_output import bounded_regression
from ._broadcast import broadcast_loss, broadcast_outputs
from ._class_weights import loss_forms
from ._epoch_checks import EPOCH_CHECKS
from ._examiner import Examiner
from ._loop_rules import probabilities_as_logits
from ._silent import LoopRecord, LoopThresholds
from ._squashed_inputs import squashed_logits
from ._symmetry import alike_finding, alike_named
from ._unregistered import held_outside, look, never_updated, unregistered_parameters
from ._unused_rules import unused_finding
from ._watched import time_first_parts, trained_parameters

REACH_EPOCHS = 2  # the epochs over whose probes the doctor notes what each backward reaches


class TrainerChecks:
    """Loss-graph, reach, registration and symmetry checks for the Trainer's model."""

    def __init__(self, trainer: Trainer, examiner: Examiner) -> None:
        self.trainer, self.examiner = trainer, examiner
        self._outside = held_outside(trainer.model)  # your module's plain lists, if any
        self._outside_first = look(self._outside)
        self._unreached: dict[str, float] = {}  # parameter -> its norm when first unreached
        self._reach_steps: list[int] = []  # the probe steps that noted them
        self._reach_model: torch.nn.Module | None = None  # the model they are parameters of
        self._alike: set[str] | None = set()  # units alike at the last probe (None: parted)

    def read_loss_graph(self, loss: torch.Tensor) -> None:
        """A softmax or sigmoid the model applies before a loss that applies its own (your
        `nn.Module` ending in `nn.Softmax` under cross entropy), the activation that bounds
        the outputs a mean squared error reads (`_bounded_output`), and outputs the loss
        broadcast against targets of another shape (a regression module's `(n, 1)` output
        against `(n,)` targets): read once, in the first step's autograd graph, as the
        hand-written loop's doctor reads them."""
        shapes = self.examiner.probe.output_shapes
        self.examiner.history.output_bound = bounded_regression(loss)
        self.examiner.probe.weight_forms = loss_forms(loss)  # the class weights worth reading
        seen = self._record(
            loss_chain=squashed_logits(loss),
            loss_chain_step=0,
            broadcast=broadcast_outputs(loss, shapes),
            broadcast_step=0,
            batch_softmax=softmax_over_rows(
                loss, shapes, bool(time_first_parts(self.trainer.model))
            ),
            batch_softmax_step=0,
            off_classes=softmax_off_classes(loss),
            off_classes_step=0,
        )
        for rule in (
            probabilities_as_logits,
            broadcast_loss,
            softmax_over_batch,
            softmax_wrong_dim,
        ):
            finding = rule(seen, LoopThresholds())
            if finding is not None and not self.examiner.reported(finding.code):
                self.examiner.report(finding)

    def symmetric(self, step: int) -> Finding | None:
        """`symmetric_units`, after an optimizer step: a trained tensor whose units were all
        alike at this probe and the one before (Adam's first step can leave rows of one
        value alike; its next ones part them). Looked for until they have parted, and
        afresh after a remedy (`renew`): one pass over the weights a probe."""
        if self._alike is None:
            return None
        names, zero = alike_named(trained_parameters(self.trainer.model))
        stuck = [name for name in names if name in self._alike]
        self._alike = set(names) or None
        if not stuck or self.examiner.reported("symmetric_units"):
            return None
        zero = [name for name in zero if name in stuck]
        finding = alike_finding(stuck, zero, step, self._record())
        self.examiner.report(finding)
        return finding

    def renew(self) -> None:
        """A remedy changed the network: look at its units afresh."""
        self._alike = set()

    def note_reach(self, step: int) -> None:
        """Note the trainable parameters this probe's backward did not reach (`.grad` is None:
        the Trainer zeroes gradients to None), as the loop's doctor does: a branch your own
        `nn.Module` holds but its forward never uses. Noted afresh for a rebuilt model."""
        if self.trainer.epoch >= REACH_EPOCHS:
            return
        model = self.trainer.model
        if model is not self._reach_model:
            self._reach_model, self._reach_steps = model, []
            self._unreached = {
                n: float(p.detach().norm()) for n, p in trained_parameters(model) if p.grad is None
            }
        elif self._unreached:  # most models: nothing to follow after the first probe
            trainable = dict(trained_parameters(model))
            self._unreached = {
                n: norm
                for n, norm in self._unreached.items()
                if n in trainable and trainable[n].grad is None
            }
        self._reach_steps.append(step)

    def epoch_end(self, epoch: int) -> None:
        for check in EPOCH_CHECKS:  # what the probes read at the outputs
            self.examiner.report_new(check(self.examiner.history, epoch, self.trainer.step))
        if epoch == 0:
            self._report_unregistered(epoch)
        if epoch == REACH_EPOCHS - 1:
            self._report_unreached(epoch)

    def _report_unreached(self, epoch: int) -> None:
        """After `REACH_EPOCHS`: the parameters no probe's backward reached (at least
        `sustain` probes), unchanged since (a branch used on some steps only moves)."""
        model, self._reach_model = self._reach_model, None
        if model is None or len(self._reach_steps) < self.examiner.thresholds.sustain:
            return
        params = dict(model.named_parameters())
        unused = [
            n for n, norm in self._unreached.items() if float(params[n].detach().norm()) == norm
        ]
        if unused and not self.examiner.reported("unused_parameters"):
            self.examiner.report(unused_finding(unused, self._reach_steps, epoch))

    def _report_unregistered(self, epoch: int) -> None:
        """Layers your own `nn.Module` holds in a plain list (or a learnable plain tensor):
        read after the first epoch, as the loop's doctor reads them: gradients arrived since
        the fit started, the values never changed."""
        if not self._outside:
            return
        unregistered = never_updated(self._outside, self._outside_first)
        seen = self._record(epoch=epoch, unregistered=unregistered)
        finding = unregistered_parameters(seen, LoopThresholds())
        if finding is not None:
            self.examiner.report(finding)

    def _record(self, **seen: Any) -> LoopRecord:
        """What a hand-written loop's doctor would have recorded, for the checks shared."""
        seen = {"step": self.trainer.step, "epoch": self.trainer.epoch, **seen}
        return LoopRecord(
            params=[],
            mode_modules=[],
            batchnorm=False,
            frozen_in_optimizer=[],
            not_in_optimizer=None,
            **seen,
        )
