"""One resolver for every deploy verb's `REF|RUN_DIR` argument."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .registry import ModelVersion, parse_ref, registry_home, resolve, verify


def resolve_model(
    ref_or_path: str | Path, home: str | Path | None = None
) -> tuple[Path, ModelVersion | None]:
    """A path that exists is a run directory; anything else a registry reference
    (`NAME@ALIAS`, `NAME:VERSION`, `NAME`), whose files are checked against their hashes."""
    path = Path(ref_or_path)
    if path.exists():
        if not (path / "model.pt").is_file():
            raise InputError(f"{path} has no model.pt: is it a finished trainwell run?")
        return path, None
    if "/" in str(ref_or_path) or str(ref_or_path).startswith("."):
        raise InputError(f"no such run directory: {ref_or_path}")
    version = resolve(str(ref_or_path), home=home)
    verify(version)
    return version.path, version


def request_log_folder(ref_or_path: str | Path, home: str | Path | None = None) -> Path:
    """Where `trainwell serve` logs a model's requests and `monitor` reads them by default:
    `<RUN_DIR>/requests` for a run, `<registry>/<NAME>/requests` for a registry reference
    (shared by the name's versions, so a log spans the swaps between them)."""
    if Path(ref_or_path).exists():
        return Path(ref_or_path) / "requests"
    return registry_home(home) / parse_ref(str(ref_or_path)).name / "requests"
