"""The epoch's training loss a loop's curve is judged on: its mean over the epoch's steps,
where the loop passed `doctor.epoch_end` its last batch's loss instead."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EpochLosses:
    """The losses `Doctor.step` read in the current epoch (on a CPU it reads every one).

    `loss.item()` of the last batch is what many loops pass to `epoch_end` (this README's
    example too): one batch's loss, whose noise is as large as a slow curve's fall. A
    transformer under SGD at 1e-4 at chance for 10 epochs passed 2.62, 2.37, ..., 2.43:
    a 16% "fall" from batch to batch, and was told nothing; its epoch means, 2.43 to 2.39,
    are told `slow_convergence` after 4 epochs. Where the value passed is exactly the
    last one read, the mean of all read replaces it; any other value (an epoch's mean, a
    loss scaled for gradient accumulation) is the loop's own and kept."""

    total: float = 0.0
    count: int = 0
    last: float | None = None
    known: bool = True  # every step's loss read

    def read(self, value: float | None) -> None:
        """One step's loss; None where it was not read (off a CPU: no sync at every step)."""
        self.known = self.known and value is not None
        self.total += value or 0.0
        self.count += 1
        self.last = value

    def epoch_loss(self, train_loss: float) -> float:
        """`train_loss`, or the epoch's mean where `train_loss` is its last batch's loss; and
        starts the next epoch afresh."""
        last_batch = self.known and self.count >= 2 and train_loss == self.last
        mean = self.total / self.count if last_batch else math.nan
        self.total, self.count, self.last, self.known = 0.0, 0, None, True
        return mean if math.isfinite(mean) else train_loss
