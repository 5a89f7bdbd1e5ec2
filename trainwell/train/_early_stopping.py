"""Early stopping on a validation metric, restoring the best weights at the end."""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from ._callbacks import Callback
from ._trainer import FitResult

_HIGHER_IS_BETTER = ("accuracy", "f1", "r2")


def higher_is_better(metric: str) -> bool:
    """Accuracy, F1 and r2 grow as a model gets better; losses and errors shrink."""
    return metric.endswith(_HIGHER_IS_BETTER)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs.

    At the end of the fit, however it ended, the weights of the best epoch are put back.
    """

    def __init__(
        self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0
    ) -> None:
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.maximize = higher_is_better(monitor)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_weights: dict[str, Any] | None = None
        self.wait = 0
        self._model: nn.Module | None = None  # the model the best weights belong to

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.monitor not in metrics:
            raise ValueError(
                f"early stopping monitors {self.monitor!r}, which this run does not "
                f"compute (it has: {', '.join(sorted(metrics))})"
            )
        value = metrics[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            self.best_weights = copy.deepcopy(self.trainer.model.state_dict())
            self._model = self.trainer.model
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.trainer.request_stop(
                f"{self.monitor} did not improve for {self.patience} epochs; best "
                f"{self.best:.4g} at epoch {self.best_epoch}"
            )

    def on_fit_end(self, result: FitResult) -> None:
        # weights saved from a model that was since replaced (a repair) do not fit the new one
        same_model = self._model is None or self._model is self.trainer.model
        if self.best_weights is not None and result.status != "diverged" and same_model:
            self.trainer.model.load_state_dict(self.best_weights)

    def _improved(self, value: float) -> bool:
        if value != value:  # NaN never improves
            return False
        if self.best is None:
            return True
        if self.maximize:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
            "wait": self.wait,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.best_weights, self.wait = state["best_weights"], state["wait"]
