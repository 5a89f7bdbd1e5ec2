"""One trial: a config from the space, a full `fit` into its own run directory, one value.

The Trainer knows nothing of tuning: `ReportToPruner` is an ordinary callback that reports
the validation metric after each epoch and asks the Trainer to stop when the pruner says so.
A trial that diverges (the loss went non-finite, or the doctor found an unrepaired
`divergence`), or whose metric is not finite, is pruned, with the reason kept in the
trial's user attributes; a config the space made invalid fails that trial, not the study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna

from ..config import RunConfig, load_config
from ..errors import InputError
from ..pipeline import fit, transfer_untold
from ..train import Callback, higher_is_better
from ._space import Space


class ReportToPruner(Callback):
    """Reports `metric` to the trial each epoch; stops training when the pruner says so."""

    def __init__(self, trial: optuna.Trial, metric: str) -> None:
        self.trial, self.metric = trial, metric
        self.pruned: str | None = None

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(value):
            return  # divergence is judged from the run's status
        self.trial.report(value, epoch + 1)  # resource: epochs trained
        if self.trial.should_prune():
            self.pruned = f"pruned after {epoch + 1} epoch(s): {self.metric} {value:.4g}"
            self.trainer.request_stop(self.pruned)


def objective_metric(cfg: RunConfig, task: str) -> tuple[str, str]:
    """(metric, direction): early stopping's monitor when set, else val accuracy / val loss."""
    metric = cfg.train.early_stopping.monitor if cfg.train.early_stopping else None
    metric = metric or ("val_accuracy" if task == "classification" else "val_loss")
    return metric, "maximize" if higher_is_better(metric) else "minimize"


def make_objective(
    base: dict[str, Any],
    space: Space,
    metric: str,
    trials_dir: Path,
    attrs: dict[str, Any] | None = None,
):
    """The function Optuna calls once per trial; `attrs` are set on every trial it runs.
    Trials do not print `model.init_from`'s line: the study's check of the config did."""

    def objective(trial: optuna.Trial) -> float:
        for key, value in (attrs or {}).items():
            trial.set_user_attr(key, value)
        overrides = space.suggest(trial)
        trial.set_user_attr("config", overrides)
        cfg = load_config(base, {**overrides, "name": f"trial-{trial.number:04d}"})
        reporter = ReportToPruner(trial, metric)
        try:
            with transfer_untold():
                run = fit(cfg, out=trials_dir, callbacks=[reporter], checkpoints=False)
        except InputError as exc:
            trial.set_user_attr("reason", str(exc))
            raise
        trial.set_user_attr("run_dir", str(run.run_dir))
        trial.set_user_attr("epochs", int(run.metrics["epochs"]))
        codes = sorted({f.code for f in run.findings if f.severity != "info"})
        trial.set_user_attr("findings", codes)
        value = run.metrics.get(metric)
        reason = None
        divergence = next(
            (f for f in run.findings if f.code == "divergence" and not f.resolved), None
        )
        if divergence is not None or run.status == "diverged":
            reason = divergence.message if divergence else "training diverged"
        elif reporter.pruned:
            reason = reporter.pruned
        elif value is None or not math.isfinite(value):
            reason = f"{metric} is not finite"
        if reason:
            trial.set_user_attr("reason", reason)
            raise optuna.TrialPruned(reason)
        return float(value)

    return objective
