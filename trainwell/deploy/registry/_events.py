"""Aliases and the append-only event log: who moved which alias to which version, when,
why, and what the metrics did — so "which version served when" has an answer.

Every change happens under the model's lock: the event gets the next sequence number and
is appended (and flushed to disk) before the alias file is replaced in one rename, so a
reader sees the old alias or the new one, and every alias points at a complete version.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...runs import atomic_write, jsonl_line, read_json
from ._store import aliases_file, check_name, lock, model_dir
from ._versions import now, resolve, who

COMPARED = ("val_accuracy", "test_accuracy", "val_loss", "test_loss", "train_loss")


@dataclass(frozen=True)
class Event:
    """One line of `events.jsonl`. `kind`: add | promote | rollback | any recorded kind."""

    seq: int
    time: str
    name: str
    kind: str
    who: str
    reason: str = ""
    alias: str | None = None
    version: int | None = None
    previous: int | None = None  # the version the alias pointed at before
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def events(name: str, *, home: str | Path | None = None) -> list[Event]:
    """The model's whole log, oldest first."""
    path = model_dir(name, home) / "events.jsonl"
    if not path.is_file():
        return []
    lines = path.read_text().splitlines()
    return [Event(**json.loads(line)) for line in lines if line.strip()]


def alias_table(name: str, home: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """`{alias: {"version": N, "history": [earlier versions, oldest first]}}`."""
    path = aliases_file(name, home)
    return read_json(path) if path.is_file() else {}


def promote(
    name: str,
    version: int,
    *,
    alias: str = "champion",
    reason: str = "",
    details: dict[str, Any] | None = None,
    home: str | Path | None = None,
) -> Event:
    """Point `alias` at `version`; the version it pointed at can be rolled back to."""
    check_name(alias, "alias")
    target = resolve(f"{name}:{int(version)}", home=home)
    with lock(name, home):
        table = alias_table(name, home)
        entry = table.get(alias, {"version": None, "history": []})
        previous = entry["version"]
        if previous is not None and previous != target.version:
            entry["history"].append(previous)
        entry["version"] = target.version
        table[alias] = entry
        info = {"metrics": _deltas(name, previous, target.version, home), **(details or {})}
        event = append(name, "promote", alias=alias, version=target.version, previous=previous,
                       reason=reason, details=info, home=home, locked=True)  # fmt: skip
        atomic_write(aliases_file(name, home), json.dumps(table, indent=2) + "\n", durable=True)
    return event


def rollback(
    name: str, *, alias: str = "champion", reason: str = "", home: str | Path | None = None
) -> Event:
    """Point `alias` back at the version it pointed at before its last promotion."""
    check_name(alias, "alias")
    resolve(name, home=home)  # the model exists
    with lock(name, home):
        table = alias_table(name, home)
        entry = table.get(alias)
        if entry is None:
            raise InputError(f"model {name!r} has no alias {alias!r}: nothing to roll back")
        if not entry["history"]:
            raise InputError(
                f"{name}@{alias} has no earlier version to roll back to "
                f"(it is version {entry['version']} and was never another)"
            )
        previous = entry["version"]
        entry["version"] = entry["history"].pop()
        info = {"metrics": _deltas(name, previous, entry["version"], home)}
        event = append(name, "rollback", alias=alias, version=entry["version"], previous=previous,
                       reason=reason, details=info, home=home, locked=True)  # fmt: skip
        atomic_write(aliases_file(name, home), json.dumps(table, indent=2) + "\n", durable=True)
    return event


def record(
    name: str,
    kind: str,
    *,
    reason: str = "",
    details: dict[str, Any] | None = None,
    version: int | None = None,
    home: str | Path | None = None,
) -> Event:
    """Append an event of another kind (drift seen, retrain started...) to the model's log."""
    check_name(kind, "event kind")
    resolve(name, home=home)
    return append(name, kind, version=version, reason=reason, details=details or {}, home=home)


def append(
    name: str,
    kind: str,
    *,
    home: str | Path | None = None,
    locked: bool = False,
    **fields: Any,
) -> Event:
    """Write the next event; `locked` when the caller already holds the model's lock."""
    if not locked:
        with lock(name, home):
            return append(name, kind, home=home, locked=True, **fields)
    path = model_dir(name, home) / "events.jsonl"
    seq = 1 + sum(1 for line in path.open() if line.strip()) if path.is_file() else 1
    event = Event(seq=seq, time=now(), name=name, kind=kind, who=who(), **fields)
    with path.open("a") as handle:  # one write of one line, on disk before the lock is let go
        handle.write(jsonl_line(event.to_dict()))
        handle.flush()
        os.fsync(handle.fileno())
    return event


def served(
    name: str,
    *,
    alias: str = "champion",
    at: str | datetime | None = None,
    home: str | Path | None = None,
) -> int | None:
    """The version `alias` pointed at, at time `at` (ISO-8601 or datetime; default now)."""
    moment = _parse_time(at) if at is not None else None
    version = None
    for event in events(name, home=home):
        if event.alias != alias or event.kind not in ("promote", "rollback"):
            continue
        if moment is not None and _parse_time(event.time) > moment:
            break
        version = event.version
    return version


def _parse_time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"time {value!r} is not ISO-8601 (e.g. 2026-11-30T05:00:00Z)") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def _deltas(
    name: str, old: int | None, new: int, home: str | Path | None
) -> dict[str, dict[str, float | None]]:
    """The metrics both versions have: before, after and the change."""
    after = resolve(f"{name}:{new}", home=home).manifest.get("metrics", {})
    before = resolve(f"{name}:{old}", home=home).manifest.get("metrics", {}) if old else {}
    out = {}
    for key in COMPARED:
        b, a = before.get(key), after.get(key)
        if isinstance(a, int | float):
            delta = a - b if isinstance(b, int | float) else None
            out[key] = {"from": b, "to": a, "delta": delta}
    return out
