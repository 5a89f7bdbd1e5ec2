"""`trainwell attack` on the run's page: robust accuracy against ε, the checks against
gradient masking, the findings, and the pictures the attack drew into `attack/`."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ._cards import Section, card
from ._load import RunRecord

PICTURES = (
    ("curve.png", "Accuracy under attack against ε"),
    ("examples.png", "Test images beside their adversarial versions"),
    ("features.png", "The features the attack moved most"),
)


def attack_section(record: RunRecord) -> Section | None:
    attack = record.attack
    if not attack:
        return None
    folder = record.path / "attack"
    curve: dict[float, dict[str, Any]] = {}
    for r in attack.get("results", []):
        curve.setdefault(r["eps"], {})[r["attack"]] = r["accuracy"]
    return Section(
        "attack",
        "Robustness to adversarial inputs",
        "attack.html.j2",
        {
            "a": attack,
            "curve": sorted(curve.items()),
            "checks": attack.get("checks", []),
            "cards": [card(f, []) for f in attack.get("findings", [])],
            "pictures": [
                (_png(folder / name), alt) for name, alt in PICTURES if (folder / name).is_file()
            ],
        },
    )


def _png(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()
