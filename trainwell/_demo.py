"""`trainwell demo`: what trainwell is for, on the built-in digits, in well under a minute.

The data is audited; a healthy CNN is trained; beside it a network with a planted training
problem (eight sigmoid layers on plain SGD) is trained twice, once as it is and once with
the doctor repairing it; a compare page shows the repaired run beside the healthy one. Each
capability that works on a trained model then adds one line about the healthy CNN: how it
is explained, how robust it is, how small it gets, how it answers over HTTP and what the
drift monitor makes of the requests it logged (a missing extra says how to add it).
"""

from __future__ import annotations

import json
import secrets
import statistics
import time
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import pipeline
from .data import load_splits
from .errors import InputError
from .report import compare_runs, write_report_or_warn


@dataclass
class DemoResult:
    healthy: pipeline.Run
    untreated: pipeline.Run  # the planted problem, the doctor only watching
    repaired: pipeline.Run  # the same, the doctor repairing
    compare: Path  # the page with the repaired run beside the healthy one
    capabilities: dict[str, str]  # one line each: explain, attack, compress, serve

    @property
    def run_dir(self) -> Path:
        return self.healthy.run_dir

    def summary(self) -> dict[str, Any]:
        """The healthy run's `--json` object, plus the planted problem's two runs and the
        compare page."""
        return self.healthy.summary() | {
            "untreated": self.untreated.summary(),
            "repaired": self.repaired.summary(),
            "compare": str(self.compare),
            "capabilities": self.capabilities,
        }


def demo(out: str | Path | None = None, *, progress: bool = False) -> DemoResult:
    configs = resources.files("trainwell") / "configs"
    healthy = pipeline.fit(str(configs / "demo.yaml"), out=out, progress=progress)
    capabilities = {name: _line(line, healthy) for name, line in _CAPABILITIES.items()}
    write_report_or_warn(healthy.run_dir)
    broken = str(configs / "demo-broken.yaml")
    untreated = pipeline.fit(broken, out=out, doctor__mode="detect", checkpoints=False)
    repaired = pipeline.fit(broken, out=out, doctor__mode="repair", progress=progress)
    write_report_or_warn(repaired.run_dir)
    compare = compare_runs(repaired.run_dir, healthy.run_dir)
    return DemoResult(healthy, untreated, repaired, compare, capabilities)


def _line(job, run: pipeline.Run) -> str:
    try:
        return job(run)
    except InputError as exc:  # an optional extra that is not installed
        return str(exc)


def _explained(run: pipeline.Run) -> str:
    from .explain import explain

    result = explain(run, rows=200)
    said = "integrated gradients on 200 test images"
    if result.faithfulness is not None:
        said += (
            f"; deleting pixels in their order, the area under the class's probability is "
            f"{result.faithfulness.ratio:.2f} of a random order's"
        )
    return said + _codes(result.findings)


def _attacked(run: pipeline.Run) -> str:
    from .robust import attack

    result = attack(run, rows=200)
    return (
        f"PGD at ε {result.eps:g} of the pixel range leaves {result.robust_accuracy:.0%} of "
        f"{result.clean_accuracy:.0%} accuracy" + _codes(result.findings)
    )


def _compressed(run: pipeline.Run) -> str:
    from .compress import compress

    result = compress(run, rounds=10)
    fp32, int8 = (next(v for v in result.variants if v.name == n) for n in ("fp32", "int8"))
    return (
        f"int8 ONNX: {int8.bytes / fp32.bytes:.2f}x the file, {int8.agreement:.1%} agreement "
        f"with the full model" + _codes(result.findings)
    )


def _served(run: pipeline.Run, requests: int = 100) -> str:
    """Serve the run on loopback, send it test images one request each, then run the drift
    monitor over the request log the service wrote."""
    from .deploy.monitor import monitor
    from .deploy.serve import Settings, create_app, serving

    token = secrets.token_hex(16)
    X = load_splits(run.config).test.X[:requests]
    answers, seconds = [], []
    with serving(create_app(Settings(ref=str(run.run_dir), token=token))) as url:
        for row in X:
            request = urllib.request.Request(
                f"{url}/predict",
                json.dumps({"inputs": [row.reshape(-1).tolist()]}).encode(),
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append(json.loads(response.read())["predictions"][0])
            seconds.append(time.perf_counter() - started)
    classes = run.info.classes if run.info is not None else []
    same = sum(a == classes[p] for a, p in zip(answers, run.predict(X), strict=True))
    watched = monitor(run.run_dir)
    drift = _codes(watched.findings) or " (no drift)"
    return (
        f"served over HTTP: {len(X)} requests, median {statistics.median(seconds) * 1e3:.1f} "
        f"ms, {same}/{len(X)} answers as load_run's; the monitor read the {watched.rows} "
        f"logged requests" + drift
    )


def _codes(findings: list) -> str:
    codes = sorted({f.code for f in findings if f.severity != "info"})
    return f" ({', '.join(codes)})" if codes else ""


_CAPABILITIES = {
    "explain": _explained,
    "attack": _attacked,
    "compress": _compressed,
    "serve": _served,
}
