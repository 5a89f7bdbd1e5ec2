"""The Trainer's events, and `FitResult`, what the last of them reports. A callback
overrides only the hooks it needs; the rest are no-ops.

The per-batch hooks (`on_after_backward`, `on_batch_end`) are skipped entirely unless some
callback overrides them, so an unused hook costs nothing in the training step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from ._trainer import Trainer


@dataclass
class FitResult:
    """How a fit ended. `status`: completed | stopped_early | diverged."""

    status: str
    history: list[dict[str, float]]
    steps: int
    seconds: float
    samples_per_second: float
    diverged_step: int | None = None
    stop_reason: str | None = None
    epochs: int = field(init=False)

    def __post_init__(self) -> None:
        self.epochs = len(self.history)


class Callback:
    """Base class: every hook is a documented no-op. `self.trainer` is set at fit start."""

    trainer: Trainer
    checks_inputs = False  # True: the Trainer records whether each input batch is finite

    def on_fit_start(self) -> None:
        """Before the first epoch (also after a resume)."""

    def on_epoch_start(self, epoch: int) -> None:
        """Before the first batch of `epoch` (0-based)."""

    def on_after_backward(self, step: int, loss: torch.Tensor) -> None:
        """Gradients are complete and readable; the optimizer has not stepped yet.

        `loss` is the device tensor: calling `.item()` on it every step forces a host-device
        sync, so read it only every few steps.
        """

    def on_batch_end(self, step: int, loss: torch.Tensor) -> None:
        """After the optimizer step of `step` (or after a micro-batch under accumulation)."""

    def on_nonfinite_loss(self, step: int, inputs_finite: bool | None) -> None:
        """The Trainer found a non-finite loss at `step` (at its periodic check, so up to
        `check_every` steps after it happened); `inputs_finite` says whether that step's
        input batch was finite (None unless a callback sets `checks_inputs`, which costs one
        small kernel per batch, no sync). Roll the run back (`trainer.restore`) to keep
        training; otherwise the run ends as diverged.
        """

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        """After validation; `metrics` is the epoch's row of `metrics.jsonl`. The Trainer has
        already recorded the epoch's weights in `trainer.best` if they are the best."""

    def on_fit_end(self, result: FitResult) -> None:
        """After the last epoch, an early stop or a divergence."""

    def state_dict(self) -> dict[str, Any]:
        """What must survive a resume (saved in checkpoints)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    @property
    def state_key(self) -> str:
        return type(self).__qualname__


def _overrides(callback: Callback, hook: str) -> bool:
    return getattr(type(callback), hook) is not getattr(Callback, hook)


class CallbackList:
    """Dispatches events to callbacks in order; knows which per-batch hooks are live."""

    def __init__(self, callbacks: Sequence[Callback]) -> None:
        self.callbacks = list(callbacks)
        keys = [cb.state_key for cb in self.callbacks]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two callbacks share a state_key: {keys}")
        self.after_backward = [cb for cb in self.callbacks if _overrides(cb, "on_after_backward")]
        self.batch_end = [cb for cb in self.callbacks if _overrides(cb, "on_batch_end")]

    def attach(self, trainer: Trainer) -> None:
        for cb in self.callbacks:
            cb.trainer = trainer

    def on_fit_start(self) -> None:
        for cb in self.callbacks:
            cb.on_fit_start()

    def on_epoch_start(self, epoch: int) -> None:
        for cb in self.callbacks:
            cb.on_epoch_start(epoch)

    def on_after_backward(self, step: int, loss: torch.Tensor) -> None:
        for cb in self.after_backward:
            cb.on_after_backward(step, loss)

    def on_batch_end(self, step: int, loss: torch.Tensor) -> None:
        for cb in self.batch_end:
            cb.on_batch_end(step, loss)

    def on_nonfinite_loss(self, step: int, inputs_finite: bool | None) -> None:
        for cb in self.callbacks:
            cb.on_nonfinite_loss(step, inputs_finite)

    @property
    def check_inputs(self) -> bool:
        """Whether some callback wants each input batch checked for NaN/inf."""
        return any(cb.checks_inputs for cb in self.callbacks)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, metrics)

    def on_fit_end(self, result: FitResult) -> None:
        for cb in self.callbacks:
            cb.on_fit_end(result)

    def state_dict(self) -> dict[str, Any]:
        return {cb.state_key: cb.state_dict() for cb in self.callbacks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for cb in self.callbacks:
            if cb.state_key in state:
                cb.load_state_dict(state[cb.state_key])
