"""Rich progress bars on stderr: epochs and batches, with the latest metrics."""

from __future__ import annotations

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ._callbacks import Callback, FitResult


class ProgressBar(Callback):
    """Shown only on a terminal; callers leave it out under `--json` or in a pipe."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            console=self.console,
            transient=True,
        )

    def on_fit_start(self) -> None:
        self.progress.start()
        trainer = self.trainer
        self.epochs = self.progress.add_task(
            "epochs", total=trainer.epochs, completed=trainer.epoch, info=""
        )
        self.batches = self.progress.add_task("steps", total=trainer.steps_per_epoch, info="")

    def on_epoch_start(self, epoch: int) -> None:
        self.progress.reset(self.batches)

    def on_batch_end(self, step: int, loss: torch.Tensor) -> None:
        self.progress.advance(self.batches)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        shown = ("train_loss", "val_loss", "val_accuracy", "val_r2")
        info = "  ".join(f"{k} {metrics[k]:.4f}" for k in shown if k in metrics)
        # (a repair that rebuilt the network late may have lengthened the run)
        self.progress.update(self.epochs, total=self.trainer.epochs, advance=1, info=info)

    def on_fit_end(self, result: FitResult) -> None:
        self.progress.stop()
