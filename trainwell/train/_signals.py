"""Stopping on SIGINT/SIGTERM after the epoch, so that its checkpoint is written first; under
DDP a signal to any rank stops every rank after the same epoch."""

from __future__ import annotations

import signal
import threading
from typing import Any

import torch

from ._distributed import sum_over_ranks


class SignalsStopAfterEpoch:
    """While training in the main thread, a first SIGINT or SIGTERM lets the epoch finish
    (to checkpoint it); a second one stops at once, as usual. A fit run inside another's
    (the doctor's range test) leaves the signals to the outer one, which stops after its
    own epoch: the inner one would stop mid-epoch of the outer, before its checkpoint."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> SignalsStopAfterEpoch:
        if threading.current_thread() is threading.main_thread():
            if isinstance(getattr(signal.getsignal(signal.SIGINT), "__self__", None), type(self)):
                return self  # a fit inside a fit (the doctor's range test): the outer one stops
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._received)
        return self

    def _received(self, number: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(self.received)
        self.received = signal.Signals(number).name

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def agree_after_epoch(seen: int, signals: SignalsStopAfterEpoch, device: torch.device) -> int:
    """The rows all ranks saw this epoch; a SIGINT/SIGTERM that reached any rank is taken
    as reaching all, so every rank stops after the same epoch."""
    counts = torch.tensor([float(seen), float(signals.received is not None)])
    counts = sum_over_ranks(counts.to(device))
    if counts[1] > 0 and signals.received is None:
        signals.received = "a signal to another rank"
    return int(counts[0])
