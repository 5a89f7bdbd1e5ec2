"""The sampled request log the drift monitor reads: JSON lines in `requests-<UTC time>.jsonl`
files, rotated at a size and pruned to the newest few, so it stays bounded however long
the service runs. Rows sent by name are logged encoded, in `data.json`'s feature order."""

from __future__ import annotations

import json
import random
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class RequestLog:
    """Appends one line per sampled request; `sample` 0 writes nothing.

    A class: it owns an open file, its size and when to rotate. Thread-safe: requests
    are answered in FastAPI's thread pool.
    """

    def __init__(
        self, folder: Path, *, sample: float = 1.0, max_bytes: int = 10_000_000, keep: int = 5
    ) -> None:
        self.folder, self.sample, self.max_bytes, self.keep = Path(folder), sample, max_bytes, keep
        self._file: IO[str] | None = None
        self._size = 0
        self._random = random.Random()
        self._lock = threading.Lock()

    def write(
        self,
        model: dict[str, Any],
        X: np.ndarray,
        predictions: list[Any],
        probabilities: list[list[float]] | None,
    ) -> None:
        if self.sample <= 0 or (self.sample < 1 and self._random.random() >= self.sample):
            return
        line = json.dumps({
            "time": utc_now(),
            "model": model,
            "inputs": X.reshape(len(X), -1).tolist(),
            "predictions": predictions,
            "probabilities": probabilities,
        }) + "\n"  # fmt: skip
        with self._lock:
            if self._file is None or self._size + len(line) > self.max_bytes:
                self._rotate()
            assert self._file is not None
            self._file.write(line)
            self._file.flush()  # readers (the monitor) see whole lines as they come
            self._size += len(line)

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _rotate(self) -> None:
        self._close()
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        self._file = (self.folder / f"requests-{stamp}.jsonl").open("a")
        self._size = 0
        files = sorted(self.folder.glob("requests-*.jsonl"))
        for old in files[: max(0, len(files) - self.keep)]:
            old.unlink(missing_ok=True)
