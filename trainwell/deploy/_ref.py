"""One resolver for every deploy verb's `REF|RUN_DIR` argument."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .registry import ModelVersion, resolve, verify


def resolve_model(
    ref_or_path: str | Path, home: str | Path | None = None, *, check: bool = True
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
    if check:
        verify(version)
    return version.path, version
