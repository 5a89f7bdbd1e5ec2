"""A finding the Repairer treats: the remedies left to try, the record of the one applied,
and what its cure is judged on; saved in a checkpoint, so that a resumed run judges it the
same."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..findings import Finding


@dataclass
class Treatment:
    finding: Finding
    remaining: list[str]
    record: dict[str, Any] = field(default_factory=dict)
    applied_epoch: int = 0
    needs_epochs: int = 0  # after the remedy, before its rule can judge the cure
    was_stalled: bool = False  # the network was not learning when it was treated

    def state_dict(self, findings: list[Finding], repairs: list[dict[str, Any]]) -> dict[str, Any]:
        """The finding and record by their indices in `findings` and `repairs`."""
        return {
            "finding": findings.index(self.finding),
            "remaining": self.remaining,
            "record": repairs.index(self.record) if self.record else None,
            "applied_epoch": self.applied_epoch,
            "needs_epochs": self.needs_epochs,
            "was_stalled": self.was_stalled,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], findings: list[Finding], repairs: list[dict[str, Any]]
    ) -> Treatment:
        return cls(
            findings[state["finding"]],
            list(state["remaining"]),
            repairs[state["record"]] if state["record"] is not None else {},
            state["applied_epoch"],
            state["needs_epochs"],
            state["was_stalled"],
        )
