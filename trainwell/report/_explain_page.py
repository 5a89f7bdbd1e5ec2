"""The explanation of a run on its page, read from `explain/` (written by `trainwell
explain`): the two trust checks as numbers, the importances, the figures, the groups."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from ._cards import Section, card
from ._load import RunRecord

FIGURES = {
    "maps.png": "Inputs over their attribution maps: the most confident mistakes first",
    "importances.png": "Permutation importance and mean |attribution| per source column",
    "deletion.png": "Deletion curve of the attribution order against a random order",
    "groups.png": "Test accuracy by group with 95% bootstrap intervals",
}


def explain_section(record: RunRecord) -> Section | None:
    folder = record.path / "explain"
    path = folder / "explain.json"
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    groups = result.get("groups")
    return Section(
        "explain",
        "Explanation",
        "explain.html.j2",
        {
            "method": result.get("method_name") or result["method"],
            "rows": result.get("rows"),
            "faithfulness": result.get("faithfulness"),
            "sanity": result.get("sanity"),
            "pointing": result.get("pointing_game"),
            "importances": (result.get("importances") or [])[:10],
            "groups": groups,
            "gaps": [(m, g) for m, g in (groups or {}).get("gaps", {}).items()],
            "cards": [card(f, []) for f in result.get("findings") or []],
            "figures": [
                (_uri(folder / name), alt)
                for name, alt in FIGURES.items()
                if (folder / name).is_file()
            ],
        },
    )


def _uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
