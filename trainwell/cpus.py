"""The CPUs this process may use (its affinity, bounded by a cgroup CPU quota, not the host's
count), and how many of them other work keeps busy right now. Shared by the Trainer's thread
policy and the audit's neighbour searches."""

from __future__ import annotations

import math
import os
import statistics
import time
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


def busy_cpus(samples: int = 3) -> int:
    """How many other tasks are running now: the kernel's count of runnable tasks
    (`/proc/loadavg`'s fourth field, which counts this process too), median of a few
    readings a millisecond apart; 0 where it cannot be read."""
    counts = []
    for _ in range(samples):
        try:
            running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        except (OSError, IndexError):
            return 0
        counts.append(int(running) - 1)
        time.sleep(0.001)
    return max(0, int(statistics.median(counts)))


def free_cpus() -> int:
    """The CPUs this process may use that other work is not using right now (at least 1)."""
    return max(1, available_cpus() - busy_cpus())
