"""The software and hardware a run used, recorded when it ran (a report rebuilt later must
not show the rebuilding machine's versions)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

import torch

_PACKAGES = ("trainwell", "torch", "numpy", "scikit-learn", "pandas")


def environment(device: torch.device, threads: dict[str, Any] | None = None) -> dict[str, Any]:
    """`threads`: how the run chose its intra-op thread count (`ThreadChoice.to_dict()`)."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = platform.processor() or platform.machine()
    return {
        "versions": versions,
        "device": str(device),
        "device_name": name,
        "cuda": torch.version.cuda,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads["threads"] if threads else torch.get_num_threads(),
        "threads": threads,
    }
