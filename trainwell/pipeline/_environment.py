"""The software and hardware a run used, recorded when it ran (a report rebuilt later must
not show the rebuilding machine's versions)."""

from __future__ import annotations

import functools
import os
import platform
from importlib import metadata
from typing import Any

import torch

_PACKAGES = ("trainwell", "torch", "numpy", "scikit-learn", "pandas")


@functools.cache
def _versions() -> dict[str, str | None]:
    """Read once a process: the metadata lookups cost milliseconds a run (tune trials)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def environment(device: torch.device, threads: dict[str, Any] | None = None) -> dict[str, Any]:
    """`threads`: how the run chose its intra-op thread count (`ThreadChoice.to_dict()`)."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
    return {
        "versions": dict(_versions()),
        "device": str(device),
        "device_name": name,
        "cuda": torch.version.cuda,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads["threads"] if threads else torch.get_num_threads(),
        "threads": threads,
    }
