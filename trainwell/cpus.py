"""The CPUs this process may use: its affinity, bounded by a cgroup CPU quota (not the host's
count). Shared by the Trainer's thread policy and the audit's neighbour searches."""

from __future__ import annotations

import math
import os
from pathlib import Path


def available_cpus() -> int:
    """The CPUs this process may run on: its affinity, bounded by a cgroup CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota)) if quota else max(1, count)


def _cgroup_quota() -> int | None:
    """cgroup v2's `cpu.max` ("max 100000" or "200000 100000"), rounded up; None if unset."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else math.ceil(int(quota) / int(period))
