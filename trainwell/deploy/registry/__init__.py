"""The model registry: immutable versions of trained runs (a copy of their files and a
manifest of sha256 hashes), aliases such as `champion` moved atomically under a lock, and
an append-only log of every change — who, what, why, and what the metrics did.

A directory under `$TRAINWELL_HOME/registry` (`$TRAINWELL_REGISTRY` or `home=` to move it).
"""

from ._events import Event, alias_table, events, promote, record, rollback, served
from ._store import Ref, aliases_file, parse_ref, registry_home
from ._versions import ModelVersion, add, load, names, resolve, verify, versions

__all__ = [
    "Event",
    "ModelVersion",
    "Ref",
    "add",
    "alias_table",
    "aliases_file",
    "events",
    "load",
    "names",
    "parse_ref",
    "promote",
    "record",
    "registry_home",
    "resolve",
    "rollback",
    "served",
    "verify",
    "versions",
]
