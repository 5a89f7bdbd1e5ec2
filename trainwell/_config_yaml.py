"""A config's text: read a YAML file, resolve the data path beside it, and apply `--set`
overrides to the raw mapping before `config.py` validates it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def looks_like_path(source: str) -> bool:
    """A data source that names a file or folder, not a built-in data set."""
    return "/" in source or "." in source


def resolve_paths(raw: dict[str, Any], folder: Path) -> None:
    """A relative path in a config file names a neighbour of that file, as users expect: make
    it absolute (what the run's config.yaml records). One that exists only from the current
    folder, as earlier versions read it, is kept as it is."""
    data = raw.get("data")
    source = data.get("source") if isinstance(data, dict) else None
    if not isinstance(source, str) or not looks_like_path(source) or Path(source).is_absolute():
        return
    beside = folder / source
    if beside.exists() or not Path(source).exists():
        data["source"] = str(beside.resolve())


DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".npz", ".npy")  # what users pass by mistake


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping a config file holds ({} for an empty one); a missing, unreadable or
    malformed file is one `ConfigError` line."""
    if path.suffix.lower() in DATA_SUFFIXES or path.is_dir():
        raise ConfigError(
            f"{path} is data, not a config: give a YAML config whose data.source names it "
            f"(data: {{source: {path.name}, target: <column>}})"
        )
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"config file {path} must hold a mapping of keys, not a {type(raw).__name__}"
        )
    return raw


def parse_overrides(overrides: list[str] | dict[str, Any] | None) -> dict[str, Any]:
    """`{"a.b": value}` from `"a.b=value"` strings, each value parsed as YAML (text that is
    not YAML stays text), or from such a mapping."""
    if not overrides:
        return {}
    if isinstance(overrides, dict):
        return dict(overrides)
    parsed = {}
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key.sub=value; got {item!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            parsed[key.strip()] = text
    return parsed


def set_path(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts; `tune` keys are themselves dotted, so they stop there."""
    parts = dotted.split(".")
    if parts[0] == "tune" and len(parts) > 1:
        parts = ["tune", ".".join(parts[1:])]
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise ConfigError(
                f"cannot set {dotted!r}: {'.'.join(parts[: i + 1])!r} is {child!r}, not a mapping"
            )
        node = child
    node[parts[-1]] = value
