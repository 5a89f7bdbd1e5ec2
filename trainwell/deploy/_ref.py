"""`REF|RUN_DIR`, as every deploy verb takes it: a path that exists is a run directory, else
a registry reference (`NAME@ALIAS`, `NAME:VERSION`, `NAME`)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..errors import InputError


def resolve_model(ref_or_path: str | Path, home: str | Path | None = None) -> tuple[Path, Any]:
    """The run directory to load, and the registry's `ModelVersion` when `ref` named one."""
    path = Path(ref_or_path)
    if path.exists():
        if not (path / "model.pt").is_file():
            raise InputError(f"{path} has no model.pt: is it a finished trainwell run?")
        return path, None
    try:
        registry = importlib.import_module("trainwell.deploy.registry")
    except ModuleNotFoundError:
        raise InputError(
            f"{ref_or_path} is not a run directory, and this trainwell has no model registry"
        ) from None
    version = registry.resolve(str(ref_or_path), home=home)
    return Path(version.path), version
