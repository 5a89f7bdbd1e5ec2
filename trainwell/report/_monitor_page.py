"""`trainwell monitor` on the run's page: the newest monitoring of the run, its verdict,
the per-feature drift table, the distributions and the timeline it drew."""

from __future__ import annotations

from pathlib import Path

from ._attack_page import _png
from ._cards import Section, card
from ._load import RunRecord

PICTURES = (
    ("distributions.png", "Reference against current for the features that moved most"),
    ("timeline.png", "Accuracy and alarms per window"),
)


def monitor_section(record: RunRecord) -> Section | None:
    m = record.monitor
    if not m:
        return None
    folder = Path(m["monitor_dir"])
    features = sorted(m.get("features", []), key=lambda f: f["adjusted_p"])
    return Section(
        "monitor",
        "Monitoring after deployment",
        "monitor.html.j2",
        {
            "m": m,
            "features": features,
            "cards": [card(f, []) for f in m.get("findings", []) if f["severity"] != "info"],
            "notes": [f["message"] for f in m.get("findings", []) if f["severity"] == "info"],
            "pictures": [
                (_png(folder / name), alt) for name, alt in PICTURES if (folder / name).is_file()
            ],
        },
    )
