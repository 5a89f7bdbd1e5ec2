"""The doctor: probes a training run every few steps, runs the rules, reports findings.

`DoctorCallback` plugs into the `Trainer`; `Doctor` attaches to a hand-written loop. Both
share `Examiner`, which owns the probe, the history and the findings.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..findings import Finding
from ..train import Callback, EarlyStopping, FitResult
from ._probes import Probe
from ._replay import first_nonfinite_layer
from ._rules import CURVE_RULES, PROBE_RULES, Thresholds

DEFAULT_EVERY = 24  # steps between probes at most: ~0.3 ms each, < 3% on the digits MLP


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
        self._seen: set[str] = set()

    @property
    def history(self):
        return self.probe.history

    def check(self, rules) -> list[Finding]:
        new = []
        for rule in rules:
            finding = rule(self.history, self.thresholds)
            if finding is not None and finding.code not in self._seen:
                self._seen.add(finding.code)
                self.findings.append(finding)
                new.append(finding)
                if self.on_finding:
                    self.on_finding(finding)
        return new

    def end_probe(self) -> list[Finding]:
        self.probe.after_step()
        return self.check(PROBE_RULES)

    def end_epoch(self, row: dict[str, float]) -> list[Finding]:
        self.history.curves.append(dict(row))
        return self.check(CURVE_RULES)


class DoctorCallback(Callback):
    """The doctor inside the Trainer (detect mode): findings in `self.findings`."""

    def __init__(
        self,
        every: int = DEFAULT_EVERY,
        thresholds: Thresholds | None = None,
        on_finding: Callable[[Finding], None] | None = None,
    ) -> None:
        self.every = every
        self.thresholds = thresholds
        self.on_finding = on_finding
        self.examiner: Examiner | None = None
        self.interval = every
        self._probing = False
        self._nonfinite_layer: str | None = None
        self._replayed = False

    @property
    def findings(self) -> list[Finding]:
        return self.examiner.findings if self.examiner else []

    def on_fit_start(self) -> None:
        self.examiner = Examiner(
            self.trainer.model,
            total_epochs=self.trainer.epochs,
            thresholds=self.thresholds,
            on_finding=self.on_finding,
        )
        self.interval = probe_interval(
            self.every, self.trainer.steps_per_epoch, self.examiner.thresholds.sustain
        )
        self.examiner.probe.arm()

    def on_after_backward(self, step: int, loss: torch.Tensor) -> None:
        self._probing = step % self.interval == 0
        # On a CPU reading the loss costs no device sync, so a bad loss is caught at its step;
        # elsewhere it is read at probe steps, which sync anyway.
        if self._probing and not math.isfinite(loss.item()):
            self._probing = True
            if not self._replayed and self.trainer.batch is not None:
                # the weights that produced the bad loss are still in place: replay the batch
                self._replayed = True
                self._nonfinite_layer = first_nonfinite_layer(
                    self.trainer.model, self.trainer.batch[0]
                )
        if self._probing:
            self.examiner.probe.before_step(step, self.trainer.epoch, loss)
        elif (step + 1) % self.interval == 0:
            self.examiner.probe.arm()  # the next forward pass is probed

    def on_batch_end(self, step: int, loss: torch.Tensor) -> None:
        if not self._probing:
            return
        self._probing = False
        for finding in self.examiner.end_probe():
            if finding.code == "divergence" and self._replayed:
                _explain_divergence(finding, self._nonfinite_layer)
        if (step + 1) % self.interval == 0:
            self.examiner.probe.arm()

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        for finding in self.examiner.end_epoch(metrics):
            if finding.code == "overfitting" and self._early_stopping():
                finding.severity, finding.remedy, finding.resolved = "info", "early_stopping", True
                finding.message += " Early stopping is on and restores the best weights."

    def on_fit_end(self, result: FitResult) -> None:
        self.examiner.probe.disarm()

    def _early_stopping(self) -> bool:
        return any(isinstance(cb, EarlyStopping) for cb in self.trainer.callbacks.callbacks)


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


class Doctor:
    """The doctor in your own training loop.

        doctor = Doctor(model, optimizer)
        for x, y in batches:
            loss = loss_fn(model(x), y)
            loss.backward()
            doctor.step(loss)          # after backward, before optimizer.step()
            optimizer.step(); optimizer.zero_grad()
        doctor.epoch_end(train_loss, val_loss)
        doctor.findings

    Detection works as in the Trainer; remedies are given as suggestions in each finding's
    message, since changing your loop is yours to do.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        every: int = DEFAULT_EVERY,
        epochs: int = 0,
        thresholds: Thresholds | None = None,
    ) -> None:
        self.optimizer = optimizer
        self.every = every
        self.examiner = Examiner(model, total_epochs=epochs, thresholds=thresholds)
        self.examiner.probe.arm()
        self._step = 0
        self._epoch = 0
        self._probed = False

    @property
    def findings(self) -> list[Finding]:
        return self.examiner.findings

    def step(self, loss: torch.Tensor) -> list[Finding]:
        """Call after `loss.backward()`; returns the findings new at this step."""
        new = self.examiner.end_probe() if self._probed else []  # last probe's update is done
        self._probed = self._step % self.every == 0
        if self._probed:
            self.examiner.probe.before_step(self._step, self._epoch, loss)
        if (self._step + 1) % self.every == 0:
            self.examiner.probe.arm()
        self._step += 1
        return new

    def epoch_end(
        self, train_loss: float, val_loss: float | None = None, **metrics: float
    ) -> list[Finding]:
        """Call once per epoch with its losses; returns the findings new at this epoch."""
        new = self.examiner.end_probe() if self._probed else []
        self._probed = False
        row = {"epoch": self._epoch, "train_loss": float(train_loss), **metrics}
        if val_loss is not None:
            row["val_loss"] = float(val_loss)
        self._epoch += 1
        return new + self.examiner.end_epoch(row)
