"""Where the registry lives and how it is laid out; names, references, the lock.

```
<home>/<NAME>/versions/<N>/   immutable copies of a run's files + manifest.json
<home>/<NAME>/aliases.json    {"champion": {"version": 3, "history": [1, 2]}}
<home>/<NAME>/events.jsonl    the append-only log: one event a line
<home>/<NAME>/requests/       the service's request log of this model
<home>/<NAME>/.lock           held while versions, aliases or events change
```

A directory, not a database: versions are folders a person can open and `load_run` can
read, and every change is a rename or an append under one lock per model.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ...errors import InputError
from ...runs import default_out

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LOCK_TIMEOUT_S = 60.0


def registry_home(home: str | Path | None = None) -> Path:
    """`home`, else `$TRAINWELL_REGISTRY`, else `$TRAINWELL_HOME/registry` (or ./runs/registry)."""
    if home is not None:
        return Path(home)
    return Path(os.environ.get("TRAINWELL_REGISTRY") or default_out() / "registry")


def check_name(value: str, what: str = "model name") -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise InputError(
            f"{what} {value!r} must be 1-64 letters, digits, '.', '_' or '-' "
            "(starting with a letter or digit)"
        )
    return value


def model_dir(name: str, home: str | Path | None = None) -> Path:
    return registry_home(home) / check_name(name)


def aliases_file(name: str, home: str | Path | None = None) -> Path:
    """The file whose change means an alias moved: the service watches its mtime."""
    return model_dir(name, home) / "aliases.json"


@contextmanager
def lock(name: str, home: str | Path | None = None) -> Iterator[None]:
    """Hold the model's write lock (a file lock: it holds across processes). Polled every
    5 ms rather than filelock's 50: writers wait for each other's few milliseconds only."""
    from filelock import FileLock, Timeout

    folder = model_dir(name, home)
    folder.mkdir(parents=True, exist_ok=True)
    held = FileLock(folder / ".lock")
    try:
        held.acquire(timeout=LOCK_TIMEOUT_S, poll_interval=0.005)
    except Timeout:
        raise InputError(f"{folder / '.lock'} stayed locked {LOCK_TIMEOUT_S:.0f} s") from None
    try:
        yield
    finally:
        held.release()


@dataclass(frozen=True)
class Ref:
    """A parsed reference: `NAME@ALIAS`, `NAME:VERSION` or `NAME` (the latest version)."""

    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.alias:
            return f"{self.name}@{self.alias}"
        return f"{self.name}:{self.version}" if self.version is not None else self.name


def parse_ref(ref: str) -> Ref:
    """One InputError naming the reference when it is none of the three forms."""
    text = str(ref).strip()
    name, at, alias = text.partition("@")
    if at:
        return Ref(check_name(name), alias=check_name(alias, "alias"))
    name, colon, number = text.partition(":")
    if colon:
        if not number.isdigit() or int(number) < 1:
            raise InputError(f"version in {text!r} must be a whole number from 1 (NAME:3)")
        return Ref(check_name(name), version=int(number))
    if not NAME.fullmatch(name):
        raise InputError(f"{text!r} is no model reference (NAME, NAME@ALIAS or NAME:VERSION)")
    return Ref(name)
