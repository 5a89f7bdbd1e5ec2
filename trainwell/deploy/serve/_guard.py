"""The ASGI layer in front of the app: the bearer token and the body limit are checked
before a body is read or parsed (a client without the token learns nothing from a 422,
and a huge body is refused at once), and every answer is counted and timed.

Plain ASGI rather than Starlette's BaseHTTPMiddleware: it adds microseconds, not a task.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ._metrics import Metrics

ASGI = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                Awaitable[None]]  # fmt: skip
PROTECTED = ("/predict", "/metrics")
KNOWN = ("/predict", "/metrics", "/health", "/ready", "/openapi.json", "/docs")


def guard(app: ASGI, *, token: str | None, max_body: int, metrics: Metrics) -> ASGI:
    expected = f"Bearer {token}".encode() if token else None

    async def guarded(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope["path"] if scope["path"] in KNOWN else "other"
        start = time.perf_counter()
        status = 500

        async def counted(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if expected is not None and scope["path"] in PROTECTED:
                given = dict(scope["headers"]).get(b"authorization", b"")
                if not secrets.compare_digest(given, expected):
                    await _problem(counted, 401, "missing or wrong bearer token",
                                   [(b"www-authenticate", b"Bearer")])  # fmt: skip
                    return
            body = await _read_body(scope, receive, max_body)
            if body is None:
                await _problem(counted, 413, f"request body over {max_body} bytes")
                return
            await app(scope, _replay(body, receive), counted)
        finally:
            metrics.requests.labels(path, str(status)).inc()
            metrics.latency.labels(path).observe(time.perf_counter() - start)

    return guarded


async def _read_body(scope: dict, receive: Any, limit: int) -> bytes | None:
    """The whole body, or None once it passes `limit` (by its Content-Length or its bytes)."""
    length = dict(scope["headers"]).get(b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Callable[[], Awaitable[dict]]:
    """The body read once more for the app; after it, the client's own messages
    (a disconnect, when it comes)."""
    sent = False

    async def replayed() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _problem(send: Any, status: int, detail: str, headers: list | None = None) -> None:
    payload = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()), *(headers or [])],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": payload})
