"""`serve`: run the app under uvicorn on a socket bound here (so a port in use is one clear
error), with one worker in this process or K worker processes sharing the socket."""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ...errors import InputError
from ._app import Settings, create_app, require_serve
from ._model import load_served

SETTINGS_ENV = "TRAINWELL_SERVE_SETTINGS"  # how worker processes get the settings


def serve(
    ref: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    token_file: str | Path | None = None,
    no_auth: bool = False,
    home: str | Path | None = None,
    request_log: str | Path | None = None,
    log_sample: float = 1.0,
    max_body: int = 1_000_000,
    poll_s: float = 0.5,
) -> None:
    """Serve `ref` (NAME@ALIAS, NAME:VERSION, NAME or a run directory) over HTTP until
    interrupted. The bearer token comes from `token_file`, else `$TRAINWELL_TOKEN`;
    `no_auth=True` serves without one (with a warning)."""
    uvicorn = require_serve()
    settings = make_settings(
        ref, token_file=token_file, no_auth=no_auth, home=home, request_log=request_log,
        log_sample=log_sample, max_body=max_body, poll_s=poll_s,
    )  # fmt: skip
    if workers < 1:
        raise InputError(f"--workers must be 1 or more; got {workers}")
    served = load_served(settings.ref, settings.home)
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    auth = "a bearer token" if settings.token else "NO authentication"
    print(
        f"serving {served.name}:{served.version} ({served.ref}) on http://{host}:{bound} "
        f"with {workers} worker(s); POST /predict with {auth}",
        file=sys.stderr,
        flush=True,
    )
    common = {"log_level": "warning", "access_log": False, "timeout_graceful_shutdown": 5}
    if workers == 1:
        config = uvicorn.Config(create_app(settings, served), **common)
        uvicorn.Server(config).run(sockets=[sock])
        return
    os.environ[SETTINGS_ENV] = json.dumps(asdict(settings))
    # prometheus-client picks its file-backed values when imported with this set: the
    # workers are new processes, and /metrics adds up their files
    own = None if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else tempfile.mkdtemp(prefix="tw-")
    if own:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = own
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(f"{__name__}:app_from_env", factory=True, workers=workers, **common)
    try:
        if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn
            Multiprocess(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
        else:
            Multiprocess(config, sockets=[sock]).run()
    finally:
        if own:
            shutil.rmtree(own, ignore_errors=True)


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve `app` (from `create_app`) from a thread of this process on a free loopback port,
    and yield its URL; the server stops (and its request log is flushed) when the block ends.
    For a short session of requests from the same program: the demo, the tests."""
    uvicorn = require_serve()
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the service did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def app_from_env():
    return create_app(Settings(**json.loads(os.environ[SETTINGS_ENV])))


def make_settings(
    ref: str | Path,
    *,
    token_file: str | Path | None = None,
    no_auth: bool = False,
    home: str | Path | None = None,
    request_log: str | Path | None = None,
    **options: object,
) -> Settings:
    """Settings with the token resolved; every bad option one InputError."""
    token = None if no_auth else read_token(token_file)
    if no_auth:
        print("warning: --no-auth: anyone who reaches this port can use the model",
              file=sys.stderr)  # fmt: skip
    sample = options.get("log_sample", 1.0)
    if not isinstance(sample, int | float) or not 0 <= sample <= 1:
        raise InputError(f"--log-sample must be a fraction between 0 and 1; got {sample}")
    if int(options.get("max_body", 1)) < 1:  # type: ignore[call-overload]
        raise InputError("--max-body must be 1 byte or more")
    settings = Settings(
        ref=str(ref),
        home=str(home) if home is not None else None,
        token=token,
        request_log=str(request_log) if request_log is not None else None,
    )
    return replace(settings, **options)  # type: ignore[arg-type]


def read_token(token_file: str | Path | None) -> str:
    """The token from `token_file`, else `$TRAINWELL_TOKEN`; one InputError if neither."""
    if token_file is not None:
        path = Path(token_file)
        try:
            token = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not text"
            raise InputError(f"--token-file {path}: cannot read it ({reason})") from None
        if not token or len(token.splitlines()) > 1:
            raise InputError(f"--token-file {path} must hold one token on one line")
        return token
    token = os.environ.get("TRAINWELL_TOKEN", "").strip()
    if not token:
        raise InputError("set TRAINWELL_TOKEN or pass --token-file FILE (or --no-auth)")
    return token


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: a free port); one InputError if it cannot be had."""
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be 0-65535; got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InputError(f"--host {host}: {exc.strerror}") from None
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it a response written in two parts waits 40 ms for a delayed ACK
    sock = socket.socket(family, kind, proto or socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
