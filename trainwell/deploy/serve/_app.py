"""The FastAPI app: `/predict`, `/health`, `/ready`, `/metrics`, and the watcher that swaps
in the version an alias moves to.

A request reads the served model once, at its start, and answers with it: a swap replaces
that reference only after the new version is loaded and checked in full, so requests in
flight finish on the version they started with, and every answer names its version.
"""

import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from .._ref import request_log_folder
from ..registry import aliases_file, parse_ref, resolve
from ._guard import guard
from ._log import RequestLog
from ._metrics import make_metrics
from ._model import Served, encode_rows, load_served, predict
from ._schema import Problem, request_model, response_model

logger = logging.getLogger("uvicorn.error")


@dataclass(frozen=True)
class Settings:
    """Everything a worker needs to build the app (JSON-able: workers get it by env)."""

    ref: str
    home: str | None = None
    token: str | None = None  # None: no authentication (--no-auth)
    max_body: int = 1_000_000  # bytes; larger bodies get 413
    poll_s: float = 0.5  # how often the alias file's stat is read
    request_log: str | None = None  # default: <registry>/<NAME>/requests or <RUN_DIR>/requests
    log_sample: float = 1.0  # share of requests logged
    log_max_bytes: int = 10_000_000  # rotate the log file past this size
    log_keep: int = 5  # log files kept
    threads: int = 1  # torch intra-op threads: batch-1 latency is best with one


class State:
    """What changes while the app runs: the served model (swapped whole)."""

    def __init__(self, served: Served) -> None:
        self.served = served


def create_app(settings: Settings, served: Served | None = None) -> Any:
    """The ASGI app (FastAPI behind the token and body-size guard). `served`: a model
    already loaded from `settings.ref`, else it is loaded here."""
    require_serve()
    import torch
    from fastapi import FastAPI, Request, Security
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from fastapi.security import HTTPBearer
    from starlette.exceptions import HTTPException as StarletteHTTPException

    torch.set_num_threads(settings.threads)
    state = State(served or load_served(settings.ref, settings.home))
    metrics = make_metrics()
    metrics.version.labels(state.served.name).set(state.served.version)
    log = RequestLog(
        Path(settings.request_log or request_log_folder(settings.ref, settings.home)),
        sample=settings.log_sample,
        max_bytes=settings.log_max_bytes,
        keep=settings.log_keep,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(_watch(settings, state, metrics)) if _alias(settings) else None
        yield
        if task is not None:
            task.cancel()
        log.close()

    label = state.served
    app = FastAPI(
        title=f"trainwell: {label.name}",
        version=str(label.version),
        description=f"Predictions of {label.ref} ({label.info.task}, {label.n_inputs} inputs).",
        lifespan=lifespan,
    )
    auth = [Security(HTTPBearer(auto_error=False))] if settings.token else []
    problems = {413: {"model": Problem, "description": "Body over the size limit."}}
    if settings.token:
        problems[401] = {"model": Problem, "description": "Missing or wrong bearer token."}
    Body = request_model(label)

    def predict_endpoint(body: Any) -> JSONResponse:
        """A plain function: FastAPI runs it in its thread pool, so the event loop reads and
        writes other connections meanwhile (2-3x the throughput of 8 clients here)."""
        served = state.served  # one model for the whole request, even if a swap comes
        key = "rows" if getattr(body, "rows", None) is not None else "inputs"
        if key == "rows":
            X = encode_rows([row.model_dump(by_alias=True) for row in body.rows], served)
        else:
            X = np.asarray(body.inputs, np.float64)
        with np.errstate(all="ignore"):
            predictions, probabilities = predict(served, X)
        overflow = _non_finite(predictions, probabilities)
        if overflow:  # inputs so far from the training data that the network overflows
            raise RequestValidationError([
                {"type": "value_out_of_range", "loc": ("body", key, i),
                 "msg": "values too large for the model: its output is not finite"}
                for i in overflow
            ])  # fmt: skip
        log.write(served.label(), X, predictions, probabilities)
        return JSONResponse(
            {"predictions": predictions, "probabilities": probabilities, "model": served.label()}
        )

    predict_endpoint.__annotations__["body"] = Body  # the schema of the served run
    app.post(
        "/predict",
        response_model=response_model(label),
        responses=problems,
        dependencies=auth,
        summary="Predict classes (or values) and class probabilities for a batch of rows.",
    )(predict_endpoint)

    @app.get("/health", summary="Live: the process answers.")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="Ready: a model is loaded; names the version served.")
    async def ready() -> dict[str, Any]:
        return {"ready": True, "model": state.served.label()}

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}}, **{k: v for k, v in problems.items()
                                                            if k == 401}},
        dependencies=auth,
        summary="Prometheus metrics.",
    )  # fmt: skip
    async def metrics_endpoint() -> Response:
        payload, media = metrics.exposition()
        return Response(payload, media_type=media)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming each field (`loc`) and what is wrong; the input is not echoed: it
        may be large, or a NaN that JSON cannot carry back."""
        errors = [{k: e.get(k) for k in ("type", "loc", "msg")} for e in exc.errors()]
        for error in errors:
            metrics.validation.labels(str(error["type"])).inc()
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def unreadable(request: Request, exc: StarletteHTTPException) -> Response:
        """FastAPI answers a body it cannot decode (not UTF-8) with 400: for this API that
        is one more invalid input, a 422 naming the body."""
        if exc.status_code != 400:
            return await http_exception_handler(request, exc)
        metrics.validation.labels("body_unreadable").inc()
        error = {"type": "body_unreadable", "loc": ["body"], "msg": "the body is not UTF-8 JSON"}
        return JSONResponse({"detail": [error]}, status_code=422)

    guarded = guard(app, token=settings.token, max_body=settings.max_body, metrics=metrics)
    guarded.state = state  # type: ignore[attr-defined]  (tests and the benchmark read it)
    guarded.fastapi = app  # type: ignore[attr-defined]
    return guarded


def _non_finite(predictions: list[Any], probabilities: list[list[float]] | None) -> list[int]:
    """Rows whose prediction or probabilities are not finite numbers."""
    values = np.asarray(probabilities if probabilities is not None else predictions, float)
    bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
    return np.flatnonzero(bad).tolist()


def _alias(settings: Settings) -> bool:
    return not Path(settings.ref).exists() and parse_ref(settings.ref).alias is not None


async def _watch(settings: Settings, state: State, metrics: Any) -> None:
    """Poll the alias file's stat (microseconds); when it changes and the alias names
    another version (read from the alias file, before any loading), load that version in a
    thread, check it, then swap."""
    path = aliases_file(parse_ref(settings.ref).name, settings.home)
    last = _stamp(path)
    while True:
        await asyncio.sleep(settings.poll_s)
        stamp = _stamp(path)
        if stamp == last:
            continue
        last = stamp
        old = state.served
        try:
            named = await asyncio.to_thread(resolve, settings.ref, home=settings.home)
            if named.version == old.version:
                continue  # another alias of the name moved: nothing to load
            new = await asyncio.to_thread(load_served, settings.ref, settings.home)
        except Exception as exc:  # a bad version must not stop the service: keep the old one
            metrics.swaps.labels("failed").inc()
            logger.warning("not swapping to %s: %s", settings.ref, exc)
            continue
        if new.version == old.version:
            continue
        if new.signature != old.signature:
            metrics.swaps.labels("refused").inc()
            logger.warning(
                "not swapping to %s:%d: its inputs differ from %s:%d's (restart the service)",
                new.name, new.version, old.name, old.version,
            )  # fmt: skip
            continue
        state.served = new
        metrics.version.labels(new.name).set(new.version)
        metrics.swaps.labels("done").inc()
        print(
            f"now serving {new.name}:{new.version} (was {old.version})", file=sys.stderr, flush=True
        )


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def require_serve() -> Any:
    """uvicorn, once the `serve` extra is known to be installed; else one line naming it."""
    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise InputError(
            f"serve needs fastapi, uvicorn and prometheus-client ({exc.name} is missing): "
            'pip install "trainwell[serve]"'
        ) from None
    return uvicorn
