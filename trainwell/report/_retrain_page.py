"""`trainwell retrain` on the challenger's page: champion against challenger on the same
held-out rows, the margin, the label check, and the decision written to the registry."""

from __future__ import annotations

from ._cards import Section
from ._load import RunRecord


def retrain_section(record: RunRecord) -> Section | None:
    r = record.retrain
    if not r:
        return None
    return Section("retrain", "Champion against challenger", "retrain.html.j2", {"r": r})
