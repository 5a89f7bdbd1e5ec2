"""A `trainwell tune` directory on the page: the optimisation history, parameter
importances, every trial (with why it was pruned or failed) and the best config."""

from __future__ import annotations

from typing import Any

from . import _figures as figures
from ._cards import Section, count
from ._load import RunRecord


def tune_section(record: RunRecord) -> Section | None:
    study = record.tune or {}
    trials = study.get("trials") or []
    if not trials:
        return None
    maximize = study.get("direction") == "maximize"
    best = (study.get("best") or {}).get("number")
    metric = study.get("metric", "objective")
    return Section(
        "tune",
        "Tuning",
        "tune.html.j2",
        {
            "history": figures.tune_history(trials, maximize, metric),
            "importances": figures.importances(study.get("importances") or {}),
            "architecture": any(
                k.startswith("model.width.") for k in study.get("importances") or {}
            ),
            "trials": [_row(t, best) for t in trials],
            "best": study.get("best"),
            "best_params": [
                (k, _short(v)) for k, v in ((study.get("best") or {}).get("params") or {}).items()
            ],
            "best_yaml": record.best_yaml,
            "best_config": study.get("best_config"),
            "metric": metric,
            "direction": study.get("direction", ""),
            "storage": study.get("storage"),
            "study": study.get("study"),
        },
    )


def _row(trial: dict[str, Any], best: int | None) -> dict[str, Any]:
    params = trial.get("params") or {}
    return {
        "number": trial.get("number"),
        "state": trial.get("state", ""),
        "value": _value(trial.get("value")),
        "epochs": trial.get("epochs"),
        "params": [(k, _short(v)) for k, v in params.items()],
        "reason": trial.get("reason"),
        "best": trial.get("number") == best,
    }


def _value(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value).replace(" ", "")


def tune_verdict(record: RunRecord) -> dict[str, Any]:
    study = record.tune or {}
    trials = study.get("trials") or []
    states = [t.get("state") for t in trials]
    best, metric = study.get("best"), study.get("metric", "objective")
    if best:
        tone = "good"
        shown = (
            f"{100 * best['value']:.1f}%"
            if metric.endswith(("accuracy", "f1"))
            else f"{best['value']:.4g}"
        )
        name = metric.replace("_", " ")
        headline = f"Best {name} {shown}: trial {best['number']} of {len(trials)}"
        lines = [f"Train it: trainwell fit {study.get('best_config') or 'best.yaml'}"]
    else:
        tone, headline = "warn", f"No trial of {count(len(trials), 'trial')} completed"
        lines = ["Every trial was pruned or failed: see the reasons in the trials table."]
    tiles = [{"label": "trials", "value": str(len(trials))}]
    for state in ("complete", "pruned", "fail"):
        if state in states:
            tiles.append({"label": state, "value": str(states.count(state))})
    if study.get("epochs_trained") is not None:
        tiles.append({"label": "epochs trained", "value": str(study["epochs_trained"])})
    if study.get("seconds") is not None:
        tiles.append({"label": "time", "value": f"{study['seconds']:.1f} s"})
    return {"tone": tone, "headline": headline, "lines": lines, "tiles": tiles}
