"""The sampled request log the drift monitor reads: JSON lines in
`requests-<UTC time>-<pid>.jsonl` files, rotated at a size and pruned to the newest few
(the service's workers share the folder), so it stays bounded however long the service
runs. Rows sent by name are logged encoded, in `data.json`'s feature order.

Lines are written by a thread of their own from a bounded queue: turning 64 rows into JSON
takes about 1.6 ms here, which a request should not wait for. When the queue is full (the
disk cannot keep up), a line is dropped and counted rather than slowing every answer.
"""

from __future__ import annotations

import json
import os
import queue
import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..registry._versions import now

QUEUED = 1000  # lines waiting to be written at most


class RequestLog:
    """Appends one line per sampled request; `sample` 0 writes nothing.

    A class: it owns a writer thread, an open file, its size and when to rotate.
    """

    def __init__(
        self, folder: Path, *, sample: float = 1.0, max_bytes: int = 10_000_000, keep: int = 5
    ) -> None:
        self.folder, self.sample, self.max_bytes, self.keep = Path(folder), sample, max_bytes, keep
        self.dropped = 0
        self._file: IO[str] | None = None
        self._size = 0
        self._random = random.Random()
        self._queue: queue.Queue[tuple | None] = queue.Queue(QUEUED)
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()  # requests come from FastAPI's thread pool

    def write(
        self,
        model: dict[str, Any],
        X: np.ndarray,
        predictions: list[Any],
        probabilities: list[list[float]] | None,
    ) -> None:
        if self.sample <= 0 or (self.sample < 1 and self._random.random() >= self.sample):
            return
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._run, daemon=True, name="request-log")
                self._writer.start()
        try:
            self._queue.put_nowait((now(), model, X, predictions, probabilities))
        except queue.Full:
            self.dropped += 1

    def close(self) -> None:
        """Write what is queued, then close the file."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()

    def _run(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                self._append(*item)
        finally:
            if self._file is not None:
                self._file.close()
                self._file = None

    def _append(self, time: str, model: dict, X: np.ndarray, predictions: list,
                probabilities: list | None) -> None:  # fmt: skip
        line = json.dumps({
            "time": time,
            "model": model,
            "inputs": X.reshape(len(X), -1).tolist(),
            "predictions": predictions,
            "probabilities": probabilities,
        }) + "\n"  # fmt: skip
        if self._file is None or self._size + len(line) > self.max_bytes or not self._open():
            self._rotate()
        assert self._file is not None
        self._file.write(line)
        self._file.flush()  # readers (the monitor) see whole lines as they come
        self._size += len(line)

    def _open(self) -> bool:
        """Whether this writer's file is still there: the service's other workers prune the
        folder too, and a line written to a pruned file would be lost without a word."""
        return self._file is not None and Path(self._file.name).exists()

    def _rotate(self) -> None:
        if self._file is not None:
            self._file.close()
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")  # the pid: one file a worker
        self._file = (self.folder / f"requests-{stamp}-{os.getpid()}.jsonl").open("a")
        self._size = 0
        files = sorted(self.folder.glob("requests-*.jsonl"))
        for old in files[: max(0, len(files) - self.keep)]:
            old.unlink(missing_ok=True)
