"""`trainwell fit --nproc N`: run `torchrun --standalone --nproc-per-node N -m trainwell ...`.

torchrun's own entry point runs in this process (it is the launcher), so a worker's exit
code comes back as ours: a rank that found bad input exits 2 with its one line, and
torchrun's multi-line failure report is not printed on top of it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch

from ..cpus import available_cpus
from ..errors import InputError


def check_nproc(nproc: int, device: str) -> None:
    """Refuse what cannot run: no ranks, no torch.distributed, more CUDA ranks than GPUs, or
    a launch from inside a torchrun job."""
    if nproc < 1:
        raise InputError(f"--nproc must be at least 1; got {nproc}")
    if not torch.distributed.is_available():
        raise InputError("--nproc needs torch.distributed, which this torch build lacks")
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        raise InputError("--nproc inside a torchrun job: launch with one or the other")
    cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if cuda and nproc > torch.cuda.device_count():
        raise InputError(
            f"--nproc {nproc} ranks on CUDA but only {torch.cuda.device_count()} GPU(s): "
            "one rank per GPU (or train.device=cpu)"
        )
    if not cuda and not torch.distributed.is_gloo_available():
        raise InputError("--nproc on CPUs needs the gloo backend, which this torch build lacks")


def launch(nproc: int, args: list[str]) -> int:
    """Run `trainwell ARGS` on `nproc` local ranks; returns the exit code (rank 0's when a
    rank failed: 2 for bad input, 130 for an interrupt)."""
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    # the ranks share this machine's CPUs; loopback reaches every local rank
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, available_cpus() // nproc)))
    os.environ["TRAINWELL_NPROC"] = str(nproc)  # the ranks die with this launcher
    if Path("/sys/class/net/lo").exists():
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    parsed = torchrun.parse_args(
        ["--standalone", f"--nproc-per-node={nproc}", "-m", "trainwell", *args]
    )
    try:
        torchrun.run(parsed)
    except ChildFailedError as exc:  # bad input first (every rank exits 2 on it), then others
        codes = sorted(f.exitcode for f in exc.failures.values() if f.exitcode > 0)
        return 2 if 2 in codes else (codes[0] if codes else 1)
    return 0
