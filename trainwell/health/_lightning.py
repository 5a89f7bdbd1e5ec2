"""The doctor as a Lightning callback (optional: `pip install "trainwell[lightning]"`).

    trainer = lightning.Trainer(callbacks=[DoctorLightningCallback()])
    trainer.fit(module, train_loader, val_loader)
    callback.findings

Lightning clears gradients before each training step, so at the end of a batch they are
still those of the step just taken: the doctor reads them there. Detection works as in
trainwell's own Trainer; remedies are suggested in each finding's message.
"""

from __future__ import annotations

from typing import Any

import torch

from ..findings import Finding
from ._examiner import DEFAULT_EVERY
from ._loop import Doctor

try:
    import lightning as L
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        'the Lightning adapter needs Lightning: pip install "trainwell[lightning]"'
    ) from exc


class DoctorLightningCallback(L.Callback):
    """Runs trainwell's doctor inside `lightning.Trainer.fit`."""

    def __init__(self, every: int = DEFAULT_EVERY) -> None:
        self.every = every
        self.doctor: Doctor | None = None
        self._loss_sum: torch.Tensor | None = None
        self._batches = 0

    @property
    def findings(self) -> list[Finding]:
        return self.doctor.findings if self.doctor else []

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        epochs = trainer.max_epochs if trainer.max_epochs and trainer.max_epochs > 0 else 0
        self.doctor = Doctor(pl_module, every=self.every, epochs=epochs)

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        loss = loss.detach()
        self.doctor.step(loss)
        self._loss_sum = loss if self._loss_sum is None else self._loss_sum + loss
        self._batches += 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self._batches:
            return
        train_loss = float(self._loss_sum) / self._batches  # one sync per epoch
        val = trainer.callback_metrics.get("val_loss")
        self.doctor.epoch_end(train_loss, None if val is None else float(val))
        self._loss_sum, self._batches = None, 0
