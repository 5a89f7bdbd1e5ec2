"""`trainwell serve` on loopback against a plain FastAPI endpoint that calls the same torch
model in its own process (the baseline arm): batch-1 latency (p50, p99) with one worker,
batch-64 latency, throughput with 8 concurrent clients, errors under load, and a promote
plus a rollback during load (every answer must be 200 and made by the version it names).
A third arm serves without the request log, to show what logging every request costs.

The model: a 20 -> 64 -> 2 MLP on `data.source: synthetic`, as in the reference run the
issue quotes (FastAPI, one uvicorn worker, bearer auth, pydantic: p50 4.4 ms). Goals:
p50 <= 5 ms and p99 <= 20 ms at batch 1, 0 errors, 0 failed or mislabelled answers.

    python benchmarks/serve.py            # about a minute on 2 cores
    python benchmarks/serve.py --quick    # fewer requests
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

import trainwell
from trainwell import registry

TOKEN = "benchmark-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
GOALS = {"p50": 5.0, "p99": 20.0}  # ms, batch 1, one worker
# httpx writes a request's headers and body separately: without TCP_NODELAY, Nagle's
# algorithm holds the body until the server's delayed ACK, 40 ms on Linux loopback
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def http(url: str) -> httpx.Client:
    transport = httpx.HTTPTransport(socket_options=NODELAY)
    return httpx.Client(base_url=url, headers=AUTH, timeout=10, transport=transport)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline-server", metavar="RUN_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        return baseline_server(Path(args.baseline_server))
    requests, seconds = (300, 3.0) if args.quick else (2000, 8.0)
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "registry"
        runs = [fit(Path(tmp), seed) for seed in (0, 1)]
        for run_dir in runs:
            registry.add(run_dir, "bench", home=home)
        registry.promote("bench", 1, home=home)
        X = np.random.default_rng(0).normal(size=(64, 20)).astype(np.float32)
        expected = {
            v: [r.info.classes[i] for i in r.predict(X[:1])]
            for v, r in ((1, trainwell.load_run(runs[0])), (2, trainwell.load_run(runs[1])))
        }
        env = {**os.environ, "TRAINWELL_TOKEN": TOKEN}
        arms = {
            "fastapi + torch (baseline)": [sys.executable, __file__, "--baseline-server",
                                           str(runs[0])],
            "trainwell serve": [sys.executable, "-m", "trainwell", "serve", "bench@champion",
                                "--port", "0", "--registry", str(home),
                                "--request-log", str(Path(tmp) / "log")],
            "trainwell serve --log-sample 0": [sys.executable, "-m", "trainwell", "serve",
                                               "bench@champion", "--port", "0", "--registry",
                                               str(home), "--log-sample", "0"],
        }  # fmt: skip
        results: dict[str, dict[str, Any]] = {}
        for arm, command in arms.items():
            console.print(f"measuring {arm}...")
            with started(command, env) as url:
                results[arm] = measure(url, X, requests, seconds)
                if arm == "trainwell serve":
                    results[arm]["swap"] = swap_under_load(url, X[:1], expected, home, seconds)
    report(results)
    trainwell_arm = results["trainwell serve"]
    ok = (
        trainwell_arm["p50"] <= GOALS["p50"]
        and trainwell_arm["p99"] <= GOALS["p99"]
        and trainwell_arm["errors"] == 0
        and trainwell_arm["swap"]["failed"] == 0
        and trainwell_arm["swap"]["mislabelled"] == 0
    )
    return 0 if ok else 1


def fit(tmp: Path, seed: int) -> Path:
    config = {
        "seed": seed,
        "data": {"source": "synthetic", "audit": False},
        "model": {"hidden": [64]},
        "train": {"epochs": 2 + 3 * seed},
        "doctor": {"mode": "off"},
    }
    return trainwell.fit(config, out=tmp / "runs", report=False).run_dir


class started:
    """A server subprocess that prints `... on http://HOST:PORT ...` on stderr once bound."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)

    def __enter__(self) -> str:
        line = self.process.stderr.readline()
        if " on http://" not in line:
            raise RuntimeError(f"the server did not start: {line}")
        url = line.split(" on ")[1].split()[0]
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2)
                return url
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(30)


def measure(url: str, X: np.ndarray, requests: int, seconds: float) -> dict[str, Any]:
    one = {"inputs": X[:1].tolist()}
    many = {"inputs": X.tolist()}
    with http(url) as client:
        for _ in range(100):  # warm up: connections, allocator, first forward passes
            client.post("/predict", json=one)
        batch1 = timed(client, one, requests, seconds)
        batch64 = timed(client, many, requests // 4, seconds / 2)
    throughput, errors = load(url, one, seconds)
    return {
        "p50": float(np.percentile(batch1, 50)),
        "p99": float(np.percentile(batch1, 99)),
        "b64": float(np.percentile(batch64, 50)),
        "rps": throughput,
        "errors": errors,
    }


def timed(client: httpx.Client, body: dict, count: int, limit: float) -> np.ndarray:
    """Milliseconds per sequential request (bounded in count and time); a failure raises."""
    times = []
    stop = time.perf_counter() + limit
    for _ in range(count):
        start = time.perf_counter()
        response = client.post("/predict", json=body)
        times.append(1000 * (time.perf_counter() - start))
        response.raise_for_status()
        if time.perf_counter() > stop:
            break
    return np.array(times)


def load(url: str, body: dict, seconds: float, clients: int = 8) -> tuple[float, int]:
    """Requests per second answered with 200 by `clients` threads, and the other answers."""
    counts = [[0, 0] for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def client(tally: list[int]) -> None:
        with http(url) as session:
            while time.perf_counter() < stop:
                try:
                    ok = session.post("/predict", json=body).status_code == 200
                except httpx.TransportError:
                    ok = False
                tally[0 if ok else 1] += 1

    threads = [threading.Thread(target=client, args=(c,)) for c in counts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(c[0] for c in counts) / seconds, sum(c[1] for c in counts)


def swap_under_load(
    url: str, X: np.ndarray, expected: dict[int, list], home: Path, seconds: float
) -> dict[str, int]:
    """8 clients while champion moves 1 -> 2 -> 1; count failed and mislabelled answers."""
    answers: list[tuple[int, int | None, bool]] = []
    stop = time.perf_counter() + seconds
    body = {"inputs": X.tolist()}

    def client() -> None:
        with http(url) as session:
            while time.perf_counter() < stop:
                try:
                    response = session.post("/predict", json=body)
                except httpx.TransportError:
                    answers.append((0, None, False))
                    continue
                data = response.json() if response.status_code == 200 else {}
                version = data.get("model", {}).get("version")
                answers.append((response.status_code, version,
                                data.get("predictions") == expected.get(version)))  # fmt: skip

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(seconds / 4)
    registry.promote("bench", 2, reason="benchmark", home=home)
    time.sleep(seconds / 3)
    registry.rollback("bench", reason="benchmark", home=home)
    for t in threads:
        t.join()
    return {
        "answers": len(answers),
        "failed": sum(status != 200 for status, _, _ in answers),
        "mislabelled": sum(status == 200 and not right for status, _, right in answers),
        "by_v2": sum(v == 2 for _, v, _ in answers),
    }


def report(results: dict[str, dict[str, Any]]) -> None:
    base, ours = results["fastapi + torch (baseline)"], results["trainwell serve"]
    table = Table(title="POST /predict on loopback, one uvicorn worker, 1 torch thread")
    for column in ("arm", "batch-1 p50", "batch-1 p99", "batch-64 p50", "8 clients", "errors"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm, r in results.items():
        table.add_row(arm, f"{r['p50']:.2f} ms", f"{r['p99']:.2f} ms", f"{r['b64']:.2f} ms",
                      f"{r['rps']:.0f} req/s", str(r["errors"]))  # fmt: skip
    table.add_row(
        "ratio trainwell / baseline",
        f"{ours['p50'] / base['p50']:.2f}x",
        f"{ours['p99'] / base['p99']:.2f}x",
        f"{ours['b64'] / base['b64']:.2f}x",
        f"{ours['rps'] / base['rps']:.2f}x",
        "",
    )
    console = Console(width=max(Console().width, 110))  # the table is wide
    console.print(table)
    swap = ours["swap"]
    console.print(
        f"goals (batch 1): p50 {ours['p50']:.2f} <= {GOALS['p50']} ms "
        f"{_mark(ours['p50'] <= GOALS['p50'])}, p99 {ours['p99']:.2f} <= {GOALS['p99']} ms "
        f"{_mark(ours['p99'] <= GOALS['p99'])}; reference FastAPI run: p50 4.4 ms",
        highlight=False,
    )
    console.print(
        f"swap during load (8 clients, champion 1 -> 2 -> 1): {swap['answers']} answers, "
        f"{swap['by_v2']} by version 2, {swap['failed']} failed, {swap['mislabelled']} "
        f"mislabelled {_mark(swap['failed'] == 0 and swap['mislabelled'] == 0)}",
        highlight=False,
    )


def _mark(ok: bool) -> str:
    return "[green]met[/]" if ok else "[red]missed[/]"


def baseline_server(run_dir: Path) -> int:
    """The baseline arm: FastAPI + pydantic + bearer auth calling the torch model directly."""
    import secrets

    import torch
    import uvicorn
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel, ConfigDict

    from trainwell.data import standardise

    torch.set_num_threads(1)
    run = trainwell.load_run(run_dir)
    bearer = HTTPBearer()

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")
        inputs: list[list[float]]

    def check(credentials: HTTPAuthorizationCredentials = Depends(bearer)) -> None:  # noqa: B008
        if not secrets.compare_digest(credentials.credentials, TOKEN):
            raise HTTPException(401)

    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict", dependencies=[Depends(check)])
    def predict(body: Body) -> dict[str, Any]:
        with torch.inference_mode():
            out = run.model(torch.from_numpy(standardise(body.inputs, run.info)))
        return {
            "predictions": [run.info.classes[i] for i in out.argmax(1).tolist()],
            "probabilities": torch.softmax(out, 1).tolist(),
        }

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.bind(("127.0.0.1", 0))
    print(f"baseline on http://127.0.0.1:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
