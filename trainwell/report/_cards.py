"""What every section shares: the `Section` a builder returns, and finding cards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..findings import passed


@dataclass
class Section:
    id: str
    title: str
    template: str
    context: dict[str, Any]


REPAIRABLE = ("training", "data")  # sources of findings a remedy may have treated; the rest
# (evaluation, deployment) are told with what to do, and nothing was done automatically


def count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def title(code: str) -> str:
    return code.replace("_", " ").capitalize().replace("Train test", "Train/test")


def card(
    finding: dict[str, Any], repairs: list[dict[str, Any]], skip: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A finding as its card; `skip` leaves out evidence shown elsewhere (flagged rows)."""
    where = [
        (label, finding[key])
        for key, label in (("layer", "layer"), ("epoch", "epoch"), ("step", "step"))
        if finding.get(key) is not None
    ]
    attempts = [r for r in repairs if r.get("finding") == finding["code"]]
    return {
        "title": title(finding["code"]),
        "code": finding["code"],
        "severity": finding.get("severity", "info"),
        "source": finding.get("source", ""),
        "message": finding.get("message", ""),
        "where": where,
        "evidence": show_evidence(
            {k: v for k, v in (finding.get("evidence") or {}).items() if k not in skip}
        ),
        "remedy": finding.get("remedy"),
        "resolved": bool(finding.get("resolved")),
        "attempts": [attempt(r) for r in attempts],
        # the badges of a warning: "✓ repaired" / "✕ not repaired" by default; a finding
        # resolved with no remedy passed by itself (an overfitting the val loss recovered from)
        "ok_label": "✓ passed" if passed(finding) else None,
        "open_label": None if finding.get("source") in REPAIRABLE else "no automatic remedy",
        "flagged": None,  # a data finding's rows, shown in its card
    }


def show_evidence(evidence: dict[str, Any]) -> list[tuple[str, str]]:
    """Evidence as readable pairs; per-layer lists are zipped with their layer names."""
    layers = evidence.get("layers")
    shown = []
    for key, value in evidence.items():
        if key == "layers" or value in ([], {}):  # nothing to show
            continue
        if isinstance(value, list) and layers and len(value) == len(layers):
            value = ", ".join(f"{name} {fmt(v)}" for name, v in zip(layers, value, strict=True))
        elif isinstance(value, dict):
            value = ", ".join(f"{k}: {fmt(v)}" for k, v in list(value.items())[:30])
        elif isinstance(value, list):
            value = ", ".join(map(fmt, value[:12])) + (" …" if len(value) > 12 else "")
        else:
            value = fmt(value)
        shown.append((key.replace("_", " "), value))
    return shown


def fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def attempt(repair: dict[str, Any]) -> dict[str, Any]:
    outcome = {True: "cured", False: "did not cure", None: "not judged"}[repair.get("cured")]
    if repair.get("why_not"):
        outcome += f": {repair['why_not']}"
    if repair.get("undone"):
        outcome += f"; undone: {repair['undone']}"
    if repair.get("kept"):
        outcome += f"; {repair['kept']}"
    if repair.get("kept_network"):  # no network after the remedy beat the one it replaced
        outcome += f"; the run ends on {repair['kept_network']}"
    return {
        "remedy": repair.get("remedy"),
        "changed": repair.get("changed"),
        "epoch": repair.get("epoch"),
        "step": repair.get("step"),
        "outcome": outcome,
        "cured": repair.get("cured"),
        "before": [(k.replace("_", " "), fmt(v)) for k, v in (repair.get("before") or {}).items()],
        "after": [(k.replace("_", " "), fmt(v)) for k, v in (repair.get("after") or {}).items()],
    }
