"""The page as a sequence of optional sections: each builder reads a `RunRecord` and returns
the context of its template, or None when the run has nothing for it (so a run without a
data audit, a doctor or a study still renders, and new sections slot in as they land)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import yaml

from ..findings import passed
from . import _figures as figures
from ._attack_page import attack_section
from ._audit_page import audit_section, audit_verdict
from ._cards import Section, card, count, title
from ._compress_page import compress_section
from ._explain_page import explain_section
from ._load import RunRecord
from ._monitor_page import monitor_section
from ._retrain_page import retrain_section
from ._tune_page import tune_section, tune_verdict


def verdict(record: RunRecord) -> dict[str, Any]:
    """Healthy, or the problems found and what was done about them."""
    if record.kind == "audit":
        return audit_verdict(record)
    if record.kind == "tune":
        return tune_verdict(record)
    problems = [f for f in record.findings if f.get("severity") in ("warning", "error")]
    open_ = [f for f in problems if not f.get("resolved")]
    if record.status in ("diverged", "failed"):
        tone = "bad"
        headline = "Training diverged" if record.status == "diverged" else "Training failed"
    elif not problems:
        tone, headline = "good", "Healthy: no problems found"
    elif not open_:
        tone = "fixed"
        headline = f"{count(len(problems), 'problem')} found, all repaired"
    else:
        tone = "bad" if any(f.get("severity") == "error" for f in open_) else "warn"
        headline = f"{count(len(problems), 'problem')} found, {len(open_)} not repaired"
    lines = [f"{title(f['code'])}: {_outcome(f)}" for f in problems]
    detect = (record.config.get("doctor") or {}).get("mode") == "detect"
    if detect and any(f.get("source") != "data" for f in open_):
        lines.append("The doctor ran in detect mode: run with --doctor repair to treat problems.")
    if any(f.get("source") == "data" for f in open_):
        lines.append(
            "Data problems are treated before training: add data.remedies (see each card)."
        )
    return {"tone": tone, "headline": headline, "lines": lines, "tiles": _tiles(record)}


def _tiles(record: RunRecord) -> list[dict[str, str]]:
    m = record.metrics
    tiles = []
    if record.task == "regression":
        for key, label in (("test_r2", "test R²"), ("test_mae", "test MAE")):
            if m.get(key) is not None:
                tiles.append({"label": label, "value": f"{m[key]:.3g}"})
    else:
        for key, label in (("test_accuracy", "test accuracy"), ("test_macro_f1", "test macro F1")):
            if m.get(key) is not None:
                tiles.append({"label": label, "value": f"{100 * m[key]:.1f}%"})
    if m.get("epochs") is not None:
        kept = record.kept_epoch
        note = f" (kept {kept})" if kept is not None else ""
        tiles.append({"label": "epochs", "value": f"{m['epochs']}{note}"})
    if m.get("seconds") is not None:
        tiles.append({"label": "training time", "value": f"{m['seconds']:.1f} s"})
    tiles.append({"label": "status", "value": record.status.replace("_", " ")})
    return tiles


def _outcome(finding: dict[str, Any]) -> str:
    if finding.get("resolved") and finding.get("source") == "data":
        return f"remedied by {finding['remedy']} before training"
    if finding.get("resolved"):
        return "passed" if passed(finding) else f"repaired by {finding['remedy']}"
    return "no data remedy applied" if finding.get("source") == "data" else "not repaired"


def findings_section(record: RunRecord) -> Section | None:
    cards = [card(f, record.repairs) for f in record.findings if f.get("source") != "data"]
    if not cards and not record.training_repairs:
        return None
    return Section(
        "findings",
        "Findings and repairs",
        "findings.html.j2",
        {"cards": cards, "timeline": _timeline(record)},
    )


def _timeline(record: RunRecord) -> list[dict[str, Any]]:
    """Findings and repairs in the order they happened, then how training ended."""
    events = []
    for f in record.findings:
        if f.get("source") == "training":
            events.append(
                (
                    f.get("epoch") or 0,
                    f.get("step") or 0,
                    0,
                    "finding",
                    f"{title(f['code'])} detected",
                )
            )
    for r in record.training_repairs:
        events.append(
            (
                r.get("epoch") or 0,
                r.get("step") or 0,
                1,
                "repair",
                f"{r['remedy']} applied for {r['finding']}: {r.get('changed')}",
            )
        )
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    timeline = [
        {"kind": kind, "epoch": epoch, "step": step if step else None, "text": text}
        for epoch, step, _, kind, text in events
    ]
    if record.metrics.get("epochs") is not None:
        timeline.append(
            {
                "kind": "end",
                "epoch": record.metrics["epochs"] - 1,
                "step": None,
                "text": f"training ended: {record.status.replace('_', ' ')}",
            }
        )
    return timeline


def curves_section(record: RunRecord) -> Section | None:
    """Per epoch; a diverged run also shows the loss at each probed step, where the runaway
    shows even when no epoch finished."""
    uris = figures.learning_curves(record)
    steps = figures.step_loss(record) if record.status == "diverged" else None
    if not uris and steps is None:
        return None
    return Section("curves", "Learning curves", "curves.html.j2", {"uris": uris, "steps": steps})


def health_section(record: RunRecord) -> Section | None:
    gradients, units = figures.gradient_heatmap(record), figures.units_heatmap(record)
    if gradients is None and units is None:
        return None
    probes = sum(len(s["steps"]) for s in record.health or [])
    return Section(
        "health",
        "Inside the network",
        "health.html.j2",
        {"gradients": gradients, "units": units, "probes": probes},
    )


def evaluation_section(record: RunRecord) -> Section | None:
    evaluation = record.evaluation or {}
    confusion = evaluation.get("test_confusion")
    predictions = evaluation.get("test_predictions") or {}
    context: dict[str, Any] = {"confusion": None, "per_class": [], "residuals": None}
    if confusion:
        classes = [str(c) for c in evaluation.get("classes") or range(len(confusion))]
        context["confusion"] = figures.confusion_matrix(confusion, classes)
        context["per_class"] = per_class(confusion, classes)
    elif predictions.get("true"):
        context["residuals"] = figures.residual_plots(predictions["true"], predictions["predicted"])
    if not context["confusion"] and not context["residuals"]:
        return None  # nothing to show: a classifier without a confusion, a diverged regression
    return Section("evaluation", "Evaluation on the test set", "evaluation.html.j2", context)


def per_class(confusion: list[list[int]], classes: list[str]) -> list[dict[str, Any]]:
    matrix = np.array(confusion, dtype=float)
    tp, predicted, support = np.diag(matrix), matrix.sum(0), matrix.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)
    worst = int(np.argmin(f1)) if len(f1) else -1
    return [
        {
            "name": name,
            "precision": precision[i],
            "recall": recall[i],
            "f1": f1[i],
            "support": int(support[i]),
            "worst": i == worst and f1[i] < 1,
        }
        for i, name in enumerate(classes)
    ]


def config_section(record: RunRecord) -> Section:
    changes = []
    if record.repaired_config:
        before, after = _flatten(record.config), _flatten(record.repaired_config)
        changes = [(k, before.get(k), after.get(k)) for k in after if before.get(k) != after.get(k)]
    return Section(
        "config",
        "Base configuration and search space"
        if record.kind == "tune"
        else "Configuration and environment",
        "config.html.j2",
        {
            "config": _config_blocks(record.config, record.own_model),
            "changes": changes,
            "environment": record.environment,
            "data": record.data,
        },
    )


def _config_blocks(config: dict[str, Any], own_model: str | None) -> list[tuple[str, str]]:
    """The config as YAML, one block per top-level key (scalars together under "run"). A
    run of the user's own module shows its class for `model`, whose keys it did not use."""
    scalars = {k: v for k, v in config.items() if not isinstance(v, dict)}
    blocks = [("run", scalars)] if scalars else []
    blocks += [(k, {k: v}) for k, v in config.items() if isinstance(v, dict)]
    texts = [(name, yaml.safe_dump(body, sort_keys=False)) for name, body in blocks]
    if own_model:
        own = f"model:  # your own nn.Module, given to fit(model=...)\n  class: {own_model}\n"
        texts = [(name, own if name == "model" else text) for name, text in texts]
    return texts


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


SECTIONS: list[Callable[[RunRecord], Section | None]] = [
    retrain_section,
    findings_section,
    monitor_section,
    curves_section,
    health_section,
    evaluation_section,
    attack_section,
    compress_section,
    explain_section,
    audit_section,
    tune_section,
    config_section,
]


def build_sections(record: RunRecord) -> list[Section]:
    return [s for s in (build(record) for build in SECTIONS) if s is not None]
