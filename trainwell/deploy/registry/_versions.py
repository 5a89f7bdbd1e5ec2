"""Immutable versions: a copy of a run's top-level files plus a manifest of their hashes.

A version is written in full under a temporary name, then renamed into `versions/<N>`
under the model's lock: readers see a complete version or none. Its files are made
read-only, and `verify` checks every hash before anything is loaded.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ...errors import InputError
from ...runs import read_json, staged_dir, write_json
from ._store import Ref, check_name, lock, model_dir, parse_ref, registry_home

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: `path` is laid out like a run directory (`load_run(path)`)."""

    name: str
    version: int
    path: Path
    manifest: dict[str, Any]

    def to_dict(self, manifest: bool = False) -> dict[str, Any]:
        """The `--json` view: where it is and what it scored; `manifest` adds all of it."""
        keys = ("created", "status", "metrics", "parent", "note")
        out = {"name": self.name, "version": self.version, "path": str(self.path)}
        out.update({k: self.manifest.get(k) for k in keys})
        if manifest:
            out["manifest"] = self.manifest
        return out


def who() -> str:
    """`user@host`: who made a change, for the event log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def add(
    run_dir: str | Path,
    name: str,
    *,
    home: str | Path | None = None,
    note: str = "",
    parent: int | None = None,
) -> ModelVersion:
    """Register a finished run as the next version of `name` (1 for a new name).

    Every regular top-level file of the run is copied (not sub-folders such as
    `checkpoints/`); `parent` is the version this run was derived from (default: the
    registered version whose folder `model.init_from` names, if any).
    """
    from . import _events  # the add is an event too

    run_dir = Path(run_dir)
    check_name(name)
    if not (run_dir / "model.pt").is_file():
        raise InputError(f"{run_dir} has no model.pt: is it a finished trainwell run?")
    if (run_dir / "own_model.json").is_file():  # no verb after it could load the version
        from ...pipeline import own_model_refusal

        raise InputError(own_model_refusal(run_dir))
    files = sorted(p for p in run_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    config = _config(run_dir)
    summary = read_json(run_dir / "summary.json") if (run_dir / "summary.json").is_file() else {}
    folder = model_dir(name, home) / "versions"
    if parent is None:
        parent = _parent(config, folder)
    with lock(name, home):
        folder.mkdir(parents=True, exist_ok=True)
        number = max(_numbers(folder), default=0) + 1
        if parent is not None and not (folder / str(parent)).is_dir():
            raise InputError(f"parent version {name}:{parent} does not exist")
        with staged_dir(folder / str(number)) as staging:  # complete, or not there at all
            hashes = {}
            for source in files:
                shutil.copyfile(source, staging / source.name)
                hashes[source.name] = {
                    "sha256": sha256(staging / source.name),
                    "bytes": source.stat().st_size,
                }
            manifest = {
                "name": name,
                "version": number,
                "created": now(),
                "who": who(),
                "source": str(run_dir.resolve()),
                "note": note,
                "parent": parent,
                "files": hashes,
                "config": config,
                "status": summary.get("status"),
                "metrics": summary.get("metrics", {}),
                "data_fingerprint": _fingerprint(run_dir, config),
                "versions": _library_versions(),
            }
            write_json(staging / MANIFEST, manifest)
            for path in staging.iterdir():
                path.chmod(0o444)  # immutable: a version is never edited in place
        version = ModelVersion(name, number, folder / str(number), manifest)
        _events.append(
            name,
            "add",
            version=number,
            reason=note,
            details={"source": manifest["source"], "status": manifest["status"]},
            home=home,
            locked=True,
        )
    return version


def versions(name: str, *, home: str | Path | None = None) -> list[ModelVersion]:
    """Every version of `name`, oldest first."""
    folder = model_dir(name, home) / "versions"
    return [_read(name, number, folder / str(number)) for number in sorted(_numbers(folder))]


def names(*, home: str | Path | None = None) -> list[str]:
    """The registered model names, sorted."""
    root = registry_home(home)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "versions").is_dir())


def resolve(ref: str | Ref, *, home: str | Path | None = None) -> ModelVersion:
    """`NAME@ALIAS`, `NAME:VERSION` or `NAME` (latest) -> the version; one InputError if none."""
    from ._events import alias_table

    ref = parse_ref(ref) if isinstance(ref, str) else ref
    folder = model_dir(ref.name, home) / "versions"
    numbers = _numbers(folder)
    if not numbers:
        known = ", ".join(names(home=home)) or "none"
        raise InputError(
            f"no model named {ref.name!r} in the registry {registry_home(home)} (known: {known})"
        )
    number = ref.version
    if ref.alias is not None:
        table = alias_table(ref.name, home)
        if ref.alias not in table:
            known = ", ".join(sorted(table)) or "none yet: promote a version"
            raise InputError(f"model {ref.name!r} has no alias {ref.alias!r} (aliases: {known})")
        number = table[ref.alias]["version"]
    elif number is None:
        number = max(numbers)
    if number not in numbers:
        raise InputError(f"model {ref.name!r} has no version {number} (versions 1-{max(numbers)})")
    return _read(ref.name, number, folder / str(number))


def verify(version: ModelVersion) -> None:
    """Every file of the manifest is there with its sha256, and nothing else was added:
    else one InputError naming the file. Run before loading."""
    listed = version.manifest.get("files", {})
    present = {p.name for p in version.path.iterdir() if p.is_file()} - {MANIFEST}
    for extra in sorted(present - set(listed)):
        raise InputError(
            f"{version.name}:{version.version} has a file not in its manifest: {extra}"
        )
    for filename, entry in listed.items():
        path = version.path / filename
        if not path.is_file():
            raise InputError(f"{version.name}:{version.version} lost its file {filename}")
        if sha256(path) != entry["sha256"]:
            raise InputError(
                f"{version.name}:{version.version}: {filename} does not match its sha256 in the "
                "manifest (changed on disk)"
            )


def load(ref: str | ModelVersion, *, home: str | Path | None = None):  # -> Run
    """The version's trained model (`Run`), after checking every hash; never unpickles code."""
    from ...pipeline import load_run

    version = ref if isinstance(ref, ModelVersion) else resolve(ref, home=home)
    verify(version)
    return load_run(version.path)


def _read(name: str, number: int, path: Path) -> ModelVersion:
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise InputError(f"{name}:{number} has no {MANIFEST}: the registry folder was edited")
    return ModelVersion(name, number, path, read_json(manifest_file))


def _numbers(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return [int(p.name) for p in folder.iterdir() if p.name.isdigit()]


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.yaml"
    if not path.is_file():
        return {}
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None


def _parent(config: dict[str, Any], folder: Path) -> int | None:
    """The registered version a run was fine-tuned from (`model.init_from`), if any."""
    source = (config.get("model") or {}).get("init_from")
    if not source:
        return None
    path = Path(source).resolve()
    path = path if path.is_dir() else path.parent
    if path.parent == folder.resolve() and path.name.isdigit():
        return int(path.name)
    return None


def _fingerprint(run_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """What the model was trained on: the data description's hash, and the source file's
    when the source is a file (a built-in name or a folder is named, not hashed)."""
    source = str((config.get("data") or {}).get("source", ""))
    described = run_dir / "data.json"
    return {
        "source": source,
        "source_sha256": sha256(Path(source)) if source and Path(source).is_file() else None,
        "data_json_sha256": sha256(described) if described.is_file() else None,
    }


def _library_versions() -> dict[str, str]:
    import torch

    import trainwell

    return {"trainwell": trainwell.__version__, "torch": torch.__version__}
