"""What a study gives back: its trials, the best one as a ready-to-run config, importances."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..config import load_config


@dataclass
class TrialRow:
    number: int
    state: str  # complete | pruned | fail | running
    value: float | None
    params: dict[str, Any]  # the config keys the trial set, as in the config
    epochs: int | None = None  # epochs trained (pruned trials train fewer)
    reason: str | None = None  # why it was pruned or failed
    run_dir: str | None = None
    worker: str | None = None  # host:pid of the worker process that ran it
    sampler_seed: int | None = None  # that worker's sampler seed
    retry_of: int | None = None  # the trial whose worker died, run again here


@dataclass
class TuneResult:
    """`trainwell tune --json`: DESIGN.md's object plus metric, importances and compute."""

    run_dir: Path
    study: str
    storage: str
    metric: str
    direction: str
    trials: list[TrialRow]
    best: TrialRow | None
    best_config: Path | None
    best_yaml: dict[str, Any] | None
    importances: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        """Epochs trained across all trials: the compute the search spent."""
        return sum(t.epochs or 0 for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "run_dir": str(self.run_dir),
            "status": "completed",  # what `trainwell runs` lists, with the best value
            "metrics": {self.metric: best.value} if best else {},
            "study": self.study,
            "storage": self.storage,
            "metric": self.metric,
            "direction": self.direction,
            "trials": [vars(t) for t in self.trials],
            "best": (
                {"number": best.number, "value": best.value, "params": best.params}
                if best
                else None
            ),
            "best_config": str(self.best_config) if self.best_config else None,
            "importances": self.importances,
            "epochs_trained": self.epochs,
            "seconds": round(self.seconds, 3),
        }


def collect(
    study: optuna.Study,
    tune_dir: Path,
    base: dict[str, Any],
    metric: str,
    storage: str,
    seconds: float,
) -> TuneResult:
    rows = [_row(t) for t in sorted(study.trials, key=lambda t: t.number)]
    retried_as = {r.retry_of: r.number for r in rows if r.retry_of is not None}
    for row in rows:
        if row.number in retried_as and not row.reason:
            again = retried_as[row.number]
            row.reason = f"its worker died (no heartbeat); run again as trial {again}"
    complete = [r for r in rows if r.state == "complete" and r.value is not None]
    # the best of this snapshot: asking the study again could name a trial other workers
    # finished since, which the rows still show running
    sign = 1 if study.direction == optuna.study.StudyDirection.MINIMIZE else -1
    best = min(complete, key=lambda r: (sign * r.value, r.number), default=None)
    best_yaml = load_config(base, best.params).to_dict() if best else None
    if best_yaml:
        best_yaml.pop("tune")
    return TuneResult(
        tune_dir,
        study.study_name,
        storage,
        metric,
        study.direction.name.lower(),
        rows,
        best,
        tune_dir / "best.yaml" if best else None,
        best_yaml,
        _importances(study) if len(complete) >= 3 else {},
        seconds,
    )


def _row(trial: FrozenTrial) -> TrialRow:
    attrs = trial.user_attrs
    value = trial.value if trial.state == TrialState.COMPLETE else None
    return TrialRow(
        trial.number,
        trial.state.name.lower(),
        value if value is None or math.isfinite(value) else None,
        attrs.get("config", trial.params),
        attrs.get("epochs"),
        attrs.get("reason"),
        attrs.get("run_dir"),
        attrs.get("worker"),
        attrs.get("sampler_seed"),
        (trial.system_attrs.get("retry_history") or [None])[-1],
    )


def _importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's default evaluator over the parameters every complete trial has."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(study)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return {}  # e.g. every trial got the same value
    return {name: round(float(v), 4) for name, v in found.items()}
