"""Latency of every variant, measured fairly: same process, same thread count, the same
input rows, and the variants interleaved round by round so that a busy moment of a shared
machine slows all of them alike; each figure is the median over rounds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..train import use_threads
from ._onnx import INPUT

Runner = Callable[[np.ndarray], Any]
BATCHES = (1, 64)


def torch_runner(model: nn.Module) -> Runner:
    model.eval()

    def run(X: np.ndarray) -> Any:
        return model(torch.from_numpy(X))

    return run


def onnx_runner(sess: Any) -> Runner:
    return lambda X: sess.run(None, {INPUT: X})


def latencies(
    runners: dict[str, Runner], X: np.ndarray, *, threads: int = 1, rounds: int = 30
) -> dict[str, dict[str, float]]:
    """Milliseconds per call at batch 1 and 64, per runner: the median over `rounds` rounds,
    each round timing every runner in turn (several calls per round at batch 1)."""
    result: dict[str, dict[str, float]] = {name: {} for name in runners}
    with use_threads(threads), torch.inference_mode():
        for size in BATCHES:
            batch = _batch(X, size)
            calls = 10 if size == 1 else 2
            for run in runners.values():
                for _ in range(calls):  # warm up: allocations, lazy initialisation
                    run(batch)
            times: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(rounds):
                for name, run in runners.items():
                    start = time.perf_counter()
                    for _ in range(calls):
                        run(batch)
                    times[name].append((time.perf_counter() - start) / calls)
            for name, seconds in times.items():
                result[name][str(size)] = float(np.median(seconds) * 1000)
    return result


def _batch(X: np.ndarray, size: int) -> np.ndarray:
    """`size` rows of `X` (repeated when it has fewer), contiguous float32."""
    rows = np.resize(np.arange(len(X)), size)
    return np.ascontiguousarray(X[rows], dtype=np.float32)
