"""The data audit on the page: class balance, the flagged rows (the images themselves for
image data), duplicate and leakage counts, the remedies applied. Reads the data findings,
`audit.json` and the repairs made before training (`epoch: null`)."""

from __future__ import annotations

from typing import Any

from . import _figures as figures
from ._cards import Section, card, count, title
from ._load import RunRecord

# evidence listed row by row in the flagged-rows panel rather than on the card
_ROW_KEYS = (
    "rows",
    "scores",
    "given",
    "predicted",
    "predicted_ids",
    "matches",
    "groups",
    "targets",
)
_SCORES = {
    "label_issues": "probability of the given label (low: suspect)",
    "duplicates": "distance to the row it repeats (standardised units)",
    "train_test_leakage": "distance to the held-out row (standardised units)",
    "outliers": "mean distance to the 5 nearest rows (standardised units)",
    "target_outliers": "how far past the fence the target lies (in IQRs of the target)",
    "missing_values": "missing (NaN or inf) values in the row",
}
SHOWN = 24  # rows per finding, most suspect first (as many as audit.json describes)
_BY_SCORE = (
    "label_issues",
    "outliers",
    "target_outliers",
)  # evidence rows ordered by score; others by row
_COUNTED = {  # flagged training rows per check, in the counts table
    "label_issues": "label issues",
    "duplicates": "duplicates",
    "train_test_leakage": "train/test leakage",
    "outliers": "outliers",
    "missing_values": "rows with missing values",
}


def audit_section(record: RunRecord) -> Section | None:
    findings = [f for f in record.findings if f.get("source") == "data"]
    audit = record.audit or {}
    if not findings and not audit:
        return None
    remedies = record.data_repairs
    return Section(
        "audit",
        "Data audit",
        "audit.html.j2",
        {
            "cards": [
                _with_rows(card(f, remedies, skip=_ROW_KEYS), f, audit) for f in _ranked(findings)
            ],
            "balance": figures.class_balance(audit.get("class_counts") or {}),
            "counts": _counts(findings, audit),
            "remedies": remedies,
            "standalone": record.kind == "audit",
        },
    )


def _ranked(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors first, then warnings, then notes (each in the audit's order)."""
    rank = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: rank.get(f.get("severity", "info"), 2))


def _with_rows(
    shown: dict[str, Any], finding: dict[str, Any], audit: dict[str, Any]
) -> dict[str, Any]:
    """A data card carries its flagged rows, and says 'remedied' rather than 'repaired'."""
    shown["flagged"] = _flagged(finding, audit)
    shown["ok_label"] = f"✓ remedied by {finding['remedy']}" if finding.get("remedy") else None
    shown["open_label"] = "no remedy applied"
    if shown["attempts"]:  # applied once, before training: no before/after to show
        first = shown["attempts"][0]
        shown["remedy"] = f"{first['remedy']} ({first['changed']})"
        shown["attempts"] = []
    return shown


def _counts(findings: list[dict[str, Any]], audit: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows per split, then how many rows each row-level check flagged (0: checked, clean)."""
    names = {"train": "training rows", "val": "validation rows", "test": "test rows"}
    sizes = (audit.get("sizes") or {}).items()
    shown = [(names.get(split, split), str(n)) for split, n in sizes]
    by_code = {f["code"]: f for f in findings}
    for code, label in _COUNTED.items():
        if code in by_code or audit:
            rows = (by_code.get(code) or {}).get("evidence", {}).get("rows") or []
            shown.append((label, str(len(rows))))
    return shown


def _flagged(finding: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any] | None:
    """The rows a finding names, most suspect first, with what the audit kept of each."""
    evidence = finding.get("evidence") or {}
    rows, scores = evidence.get("rows"), evidence.get("scores")
    if not isinstance(rows, list) or not isinstance(scores, list) or not rows:
        return None
    kept, held_out = audit.get("rows") or {}, audit.get("held_out") or {}
    twins = {r: g[0] for g in evidence.get("groups") or [] for r in g[1:]}
    entries = []
    for i, row in enumerate(rows[:SHOWN]):
        info = kept.get(str(row), {})
        entry = {
            "row": row,
            "score": scores[i] if i < len(scores) else None,
            "given": info.get("label") or _at(evidence.get("given"), i),
            "predicted": _at(evidence.get("predicted"), i),
            "image": info.get("image"),
            "match": None,
        }
        match = _at(evidence.get("matches"), i)
        if match is not None:
            other = held_out.get(str(match), {})
            entry["match"] = {
                "row": match,
                "image": other.get("image"),
                "split": other.get("split"),
            }
        elif row in twins:  # a duplicate, beside the row it repeats (the one kept)
            other = kept.get(str(twins[row]), {})
            entry["match"] = {"row": twins[row], "image": other.get("image"), "split": "row"}
        entries.append(entry)
    return {
        "code": finding["code"],
        "title": title(finding["code"]),
        "total": len(rows),
        "more": len(rows) - len(entries),
        "score": _SCORES.get(finding["code"], "score"),
        "entries": entries,
        "images": any(e["image"] for e in entries),
        "labels": any(e["given"] is not None for e in entries),
        "predicted": any(e["predicted"] is not None for e in entries),
        "matches": any(e["match"] for e in entries),
        "match_label": "repeats row" if twins else "matches held-out row",
        "rows_word": count(len(rows), "row")
        + (", most suspect first" if finding["code"] in _BY_SCORE else ""),
    }


def _at(values: Any, i: int) -> Any:
    return values[i] if isinstance(values, list) and i < len(values) else None


def audit_verdict(record: RunRecord) -> dict[str, Any]:
    """The verdict of a `trainwell audit` directory: no training, so nothing is 'repaired'."""
    problems = [f for f in record.findings if f.get("severity") in ("warning", "error")]
    if not problems:
        tone, headline = "good", "No data problems found"
    else:
        tone = "bad" if any(f.get("severity") == "error" for f in problems) else "warn"
        headline = f"{count(len(problems), 'data problem')} found"
    lines = [f"{title(f['code'])}: {_first_sentence(f.get('message', ''))}" for f in problems]
    sizes = (record.audit or {}).get("sizes") or (record.audit_timing or {}).get("sizes") or {}
    tiles = [{"label": f"{split} rows", "value": str(n)} for split, n in sizes.items()]
    classes = (record.audit or {}).get("class_counts", {}).get("train")
    if classes:
        tiles.append({"label": "classes", "value": str(len(classes))})
    seconds = (record.audit_timing or {}).get("seconds")
    if seconds is not None:
        tiles.append({"label": "audit time", "value": f"{seconds:.2f} s"})
    return {"tone": tone, "headline": headline, "lines": lines, "tiles": tiles}


def _first_sentence(message: str) -> str:
    head, dot, _ = message.partition(". ")
    return head + ("." if dot else "")
