"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates", section 3.3).

Train from the configured starting point while the learning rate grows exponentially from
`start_lr` to `end_lr`, one step per batch, recording the loss; stop once the loss diverges.

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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import ConfigLike, load_config
from ..errors import DataError
from ..pipeline import plan_run
from ..runs import create_run_dir, write_json, write_yaml
from ..train import Callback, TensorBatches, Trainer, make_optimizer

DIVERGE_FACTOR = 4.0  # stop once the smoothed loss exceeds this multiple of its minimum


@dataclass
class Suggestion:
    lr: float  # the suggested learning rate
    lr_at_min: float  # where the smoothed loss was lowest
    index: int  # step of the suggestion
    smoothed: list[float]
    rule: str  # "steepest sustained descent" or "min / 10"


@dataclass
class LrFindResult:
    run_dir: Path
    lrs: list[float]
    losses: list[float]
    suggestion: Suggestion
    stop_reason: str
    plot: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "status": "completed",
            "suggested_lr": self.suggestion.lr,
            "lr_at_min_loss": self.suggestion.lr_at_min,
            "rule": self.suggestion.rule,
            "steps": len(self.lrs),
            "stop_reason": self.stop_reason,
            "plot": str(self.plot),
        }


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


class _Sweep(Callback):
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


def lr_find(
    config: ConfigLike = None,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    steps: int = 100,
    out: str | Path | None = None,
) -> LrFindResult:
    """Run the range test on the configured data and model; write the curve and its plot."""
    cfg = load_config(config)
    plan = plan_run(cfg, None)
    data, spec = plan.data, cfg.train
    train = TensorBatches(
        torch.from_numpy(data.train.X),
        torch.from_numpy(data.train.y),
        spec.batch_size,
        shuffle=True,
        seed=cfg.seed,
        device=plan.device,
    )
    sweep = _Sweep(start_lr, end_lr, steps)
    trainer = Trainer(
        plan.model,
        make_optimizer(spec, plan.model),
        epochs=math.ceil(steps / len(train)) + 1,
        task=data.info.task,
        grad_clip=spec.grad_clip,
        device=plan.device,
        callbacks=[sweep],
        check_every=1,
    )
    trainer.fit(train)
    finite = int(np.isfinite(sweep.losses).sum())
    if finite < 3:  # nothing to read a curve from: say why, before writing anything
        if not np.isfinite(data.train.X).all():
            raise DataError(
                "the training inputs hold NaN or inf values, so every loss is NaN: add "
                "data.remedies: [impute] (or [drop_missing])"
            )
        raise DataError(f"the loss was finite for only {finite} steps: {sweep.reason}")
    suggestion = suggest_lr(sweep.lrs, sweep.losses)
    run_dir = create_run_dir(f"lr-find-{cfg.run_name()}", Path(out) if out else None)
    write_yaml(run_dir / "config.yaml", cfg.to_dict())
    plot = _plot(sweep.lrs, sweep.losses, suggestion, run_dir / "lr_find.png")
    result = LrFindResult(run_dir, sweep.lrs, sweep.losses, suggestion, sweep.reason, plot)
    write_json(
        run_dir / "lr_find.json",
        {
            "lrs": sweep.lrs,
            "losses": [v if math.isfinite(v) else None for v in sweep.losses],
            "smoothed": suggestion.smoothed,
        },
    )
    write_json(run_dir / "summary.json", result.to_dict())
    return result


def _plot(lrs: list[float], losses: list[float], s: Suggestion, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(lrs, losses, color="0.75", linewidth=1, label="loss")
    ax.plot(lrs[: len(s.smoothed)], s.smoothed, color="C0", label="despiked, smoothed")
    ax.axvline(s.lr, color="C3", linestyle="--", label=f"suggested {s.lr:.2g} ({s.rule})")
    ax.set_xscale("log")
    top = max(s.smoothed) * 1.5
    ax.set_ylim(min(s.smoothed) * 0.9 if min(s.smoothed) > 0 else None, top)
    ax.set(xlabel="learning rate", ylabel="training loss", title="learning-rate range test")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
