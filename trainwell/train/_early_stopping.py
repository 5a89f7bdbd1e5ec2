"""Early stopping on a validation metric, restoring the best weights at the end."""

from __future__ import annotations

from typing import Any

from ._best import higher_is_better
from ._callbacks import Callback, FitResult


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs.

    The best weights are the Trainer's (`trainer.best`, which this callback points at
    `monitor`): they are recorded before any other callback can change the model, and a
    remedy that replaces the model starts the count afresh. At the end of the fit, however
    it ended (unless it diverged), the best weights are put back.
    """

    def __init__(
        self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0
    ) -> None:
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.maximize = higher_is_better(monitor)
        self._since = 0  # epochs since the best (or since the model was replaced)

    @property
    def best(self) -> float | None:
        return self.trainer.best.value

    @property
    def best_epoch(self) -> int | None:
        return self.trainer.best.epoch

    def on_fit_start(self) -> None:
        self.trainer.best.watch(self.monitor, self.min_delta)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        if self.monitor not in metrics:
            raise ValueError(
                f"early stopping monitors {self.monitor!r}, which this run does not "
                f"compute (it has: {', '.join(sorted(metrics))})"
            )
        best = self.trainer.best
        self._since = 0 if best.epoch in (None, epoch) else self._since + 1
        if self._since >= self.patience:
            self.trainer.request_stop(
                f"{self.monitor} did not improve for {self.patience} epochs; best "
                f"{best.value:.4g} at epoch {best.epoch}"
            )

    def on_fit_end(self, result: FitResult) -> None:
        if result.status != "diverged":
            self.trainer.restore_best()

    def state_dict(self) -> dict[str, Any]:
        return {"since": self._since}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._since = state["since"]
