"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3).

Train from a starting point while the learning rate grows exponentially from `start_lr` to
`end_lr`, one step per batch, recording the loss; stop once the loss diverges. `trainwell
lr-find` shows the curve and its suggestion; the doctor measures the rate of a network it
started over.

The suggestion is built to survive noisy and spiky losses, where the usual "steepest
gradient" rule fails (a single spike is followed by a steep drop, which that rule picks):
1. a running median (5 steps) removes isolated spikes without shifting the curve;
2. a centred running mean (5 steps) removes the remaining noise, again without the lag of
   an exponential average, which would push the suggestion to larger rates;
3. only the part of the sweep before the smoothed minimum counts (after it the loss blows up);
4. the slope is measured across a window of about a tenth of the sweep on each side, so
   only a *sustained* descent scores; the suggestion is where that slope is steepest.
If the loss never falls for long enough to measure, the fallback is Smith's rule of thumb:
a tenth of the rate at the minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._batches import TensorBatches
from ._callbacks import Callback
from ._trainer import LossFn, Trainer

DIVERGE_FACTOR = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum


@dataclass
class Suggestion:
    lr: float  # the suggested learning rate
    lr_at_min: float  # where the smoothed loss was lowest
    index: int  # step of the suggestion
    smoothed: list[float]
    rule: str  # "steepest sustained descent" or "min / 10"


def suggest_lr(lrs: list[float] | np.ndarray, losses: list[float] | np.ndarray) -> Suggestion:
    """The steepest sustained descent of the despiked, smoothed loss before its minimum."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    finite = np.isfinite(losses)
    n = int(np.argmin(finite)) if not finite.all() else len(losses)  # up to the first NaN/inf
    if n < 3:
        raise ValueError(f"the range test needs at least 3 finite losses; got {n}")
    x, smooth = np.log10(lrs[:n]), _running(_running(losses[:n], np.median), np.mean)
    low = int(np.argmin(smooth))
    h = max(2, n // 20)
    if low - 2 * h < 1:
        return Suggestion(lrs[low] / 10, lrs[low], low, smooth.tolist(), "min / 10")
    centre = np.arange(h, low - h + 1)
    slopes = (smooth[centre + h] - smooth[centre - h]) / (x[centre + h] - x[centre - h])
    best = int(centre[np.argmin(slopes)])
    if slopes.min() >= 0:
        return Suggestion(lrs[low] / 10, lrs[low], low, smooth.tolist(), "min / 10")
    return Suggestion(
        float(lrs[best]), float(lrs[low]), best, smooth.tolist(), "steepest sustained descent"
    )


def _running(values: np.ndarray, reduce, window: int = 5) -> np.ndarray:
    """A centred running `reduce` (median or mean); the window shrinks at the ends."""
    half = window // 2
    return np.array([reduce(values[max(0, i - half) : i + half + 1]) for i in range(len(values))])


class _RisingRate(Callback):
    """Raises the learning rate after every step; stops at the end or once the loss diverges."""

    def __init__(self, start_lr: float, end_lr: float, steps: int) -> None:
        self.start, self.factor, self.steps = (
            start_lr,
            (end_lr / start_lr) ** (1 / (steps - 1)),
            steps,
        )
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.reason = f"reached the end of the sweep ({steps} steps)"

    def on_fit_start(self) -> None:
        self.trainer.set_lr(self.start)

    def on_batch_end(self, step: int, loss: torch.Tensor) -> None:
        value = float(loss.item())
        self.lrs.append(self.trainer.lr)
        self.losses.append(value)
        recent = np.median(self.losses[-5:])
        if not math.isfinite(value):
            self.reason = f"the loss became non-finite at lr {self.trainer.lr:.3g}"
        elif len(self.losses) > 10 and recent > DIVERGE_FACTOR * min(self.losses):
            self.reason = (
                f"the loss diverged (x{DIVERGE_FACTOR:g} its minimum) at lr {self.trainer.lr:.3g}"
            )
        elif len(self.losses) < self.steps:
            self.trainer.set_lr(self.trainer.lr * self.factor)
            return
        self.trainer.request_stop(self.reason)


@dataclass
class Sweep:
    """The rates swept and the loss at each step, and why the sweep stopped."""

    lrs: list[float]
    losses: list[float]
    stop_reason: str


def range_test(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: TensorBatches,
    *,
    start_lr: float,
    end_lr: float,
    steps: int = 100,
    task: str = "classification",
    loss_fn: LossFn | None = None,
    grad_clip: float | None = None,
    device: str | torch.device | None = None,
) -> Sweep:
    """Sweep `model` from `start_lr` to `end_lr` over `steps` batches (fewer where the loss
    diverges first). The sweep trains the model and its optimizer: pass copies where their
    weights matter."""
    sweep = _RisingRate(start_lr, end_lr, steps)
    trainer = Trainer(
        model,
        optimizer,
        loss_fn,
        epochs=math.ceil(steps / len(batches)) + 1,
        task=task,
        grad_clip=grad_clip,
        device=device,
        callbacks=[sweep],
        check_every=1,
    )
    trainer.fit(batches)
    return Sweep(sweep.lrs, sweep.losses, sweep.reason)
