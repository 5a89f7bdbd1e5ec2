"""`trainwell lr-find`: the learning-rate range test (`train._range_test`) on a configured
model and data, with its curve written and plotted.
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
from ..train import Suggestion, TensorBatches, make_optimizer, range_test, suggest_lr


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
    sweep = range_test(
        plan.model,
        make_optimizer(spec, plan.model),
        train,
        start_lr=start_lr,
        end_lr=end_lr,
        steps=steps,
        task=data.info.task,
        grad_clip=spec.grad_clip,
        device=plan.device,
    )
    finite = int(np.isfinite(sweep.losses).sum())
    if finite < 3:  # nothing to read a curve from: say why, before writing anything
        if not np.isfinite(data.train.X).all():
            raise DataError(
                "the training inputs hold NaN or inf values, so every loss is NaN: add "
                "data.remedies: [impute] (or [drop_missing])"
            )
        raise DataError(f"the loss was finite for only {finite} steps: {sweep.stop_reason}")
    suggestion = suggest_lr(sweep.lrs, sweep.losses)
    run_dir = create_run_dir(f"lr-find-{cfg.run_name()}", Path(out) if out else None)
    write_yaml(run_dir / "config.yaml", cfg.to_dict())
    plot = _plot(sweep.lrs, sweep.losses, suggestion, run_dir / "lr_find.png")
    result = LrFindResult(run_dir, sweep.lrs, sweep.losses, suggestion, sweep.stop_reason, plot)
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
