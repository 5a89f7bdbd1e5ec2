"""The run directory: `<out>/<name>-<time>/`, every file written atomically.

Layout (DESIGN.md): config.yaml, metrics.jsonl, findings.json, summary.json,
corruption.json, model.pt, checkpoints/, report.html; plus data.json (what the data
layer learned: classes, encoding, standardisation), evaluation.json (confusion matrix) and
.owner.json (the host and process writing it, so a run whose process died is told apart
from one still running).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError


def default_out() -> Path:
    """`$TRAINWELL_HOME` when set, else `./runs` (read when called, not at import)."""
    return Path(os.environ.get("TRAINWELL_HOME") or "runs")


def atomic_write(path: Path, data: bytes | str, *, durable: bool = False) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file,
    and a killed process leaves the previous one. `durable` also waits for the disk (about
    10 ms a file here), so that a power cut cannot lose it: for weights and checkpoints."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """A folder in which to write `final` in full, under a temporary name beside it. When the
    block ends it replaces `final` in one rename (an earlier one is moved aside first and
    then removed), so readers see the old folder or the new one, never half of one; when the
    block fails it is removed and `final` is left as it was."""
    final = Path(final)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}-"))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the folder from the run's other readers
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = final.with_name(f".{final.name}-old-{time.time_ns()}") if final.exists() else None
    if old is not None:
        final.rename(old)
    try:
        staging.rename(final)
    except BaseException:  # e.g. `final` made meanwhile by another writer: as it was
        if old is not None:
            old.rename(final)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_yaml(path: Path, obj: Any) -> None:
    atomic_write(path, yaml.dump(obj, Dumper=_YAML_DUMPER, sort_keys=False))


_YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's: 4x faster


def jsonl_line(row: dict[str, Any]) -> str:
    """One line of a JSON-lines log."""
    return json.dumps(row, default=_jsonable) + "\n"


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write(path, "".join(map(jsonl_line, rows)))


def create_run_dir(name: str, out: Path | None = None) -> Path:
    """Make a fresh `<out>/<name>-<YYYYmmdd-HHMMSS>` directory (suffixed if taken)."""
    out = (Path(out) if out is not None else default_out()).resolve()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for attempt in range(1000):
        suffix = f"-{attempt}" if attempt else ""
        path = out / f"{name}-{stamp}{suffix}"
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            continue
        except (NotADirectoryError, PermissionError) as err:
            raise InputError(f"cannot create a run directory under {out}: {err.strerror}") from err
        claim_run_dir(path)
        return path
    raise InputError(f"cannot create a run directory under {out}")


def claim_run_dir(path: Path) -> None:
    """Record this host and process as the run's writer: `trainwell runs` asks whether it
    lives (a run created here, or resumed)."""
    write_json(Path(path) / OWNER, {"host": socket.gethostname(), "pid": os.getpid()})


@dataclass
class RunInfo:
    """One row of `trainwell runs`."""

    path: Path
    status: str
    metrics: dict[str, Any]
    started: datetime
    kind: str = "fit"  # fit | audit | tune | lr-find
    problems: int = 0  # warning and error findings


def list_runs(out: Path | None = None) -> list[RunInfo]:
    """Runs under `out`, newest first. A run without a summary was interrupted or is running."""
    out = Path(out) if out is not None else default_out()
    if not out.is_dir():
        return []
    runs = []
    for path in out.iterdir():
        if not (path / "config.yaml").is_file():
            continue
        summary_path = path / "summary.json"
        summary = read_json(summary_path) if summary_path.is_file() else {}
        status = summary.get("status") or _unfinished_status(path)
        started = datetime.fromtimestamp((path / "config.yaml").stat().st_mtime)
        problems = sum(
            f.get("severity") in ("warning", "error") for f in summary.get("findings") or []
        )
        metrics = summary.get("metrics", {})
        runs.append(RunInfo(path, status, metrics, started, run_kind(summary), problems))
    return sorted(runs, key=lambda run: run.started, reverse=True)


OWNER = ".owner.json"


def _unfinished_status(path: Path) -> str:
    """A run without a summary: "running" while its process lives; when it died, resumable
    ("interrupted": it left a checkpoint) or not ("killed"). A run written on another host,
    or by an older version, cannot be asked: a checkpoint says interrupted, else running."""
    owner = read_json(path / OWNER) if (path / OWNER).is_file() else {}
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        if _alive(owner["pid"]):
            return "running"
        return "interrupted" if (path / "checkpoints").is_dir() else "killed"
    return "interrupted" if (path / "checkpoints").is_dir() else "running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        pass
    return True


def run_kind(summary: dict[str, Any]) -> str:
    """What wrote a directory, from the keys of its summary: fit, audit, tune or lr-find."""
    if "trials" in summary:
        return "tune"
    if "suggested_lr" in summary:
        return "lr-find"
    if "audit" in summary and "epochs" not in summary.get("metrics", {}):
        return "audit"
    return "fit"


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
