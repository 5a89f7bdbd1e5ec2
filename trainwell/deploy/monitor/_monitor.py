"""`monitor(model, data)`: is the deployed model still seeing the data it was trained on,
and is it still right? Writes a monitoring folder `RUN_DIR/monitor/<time>/` (for a registry
version, whose folder is immutable, `<registry home>/<NAME>/monitor/v<VERSION>-<time>/`).

The judged window is the newest `window` rows of DATA (all of it without `window`); the
timeline repeats the tests on consecutive windows of that size (1,000 rows by default).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ...errors import InputError
from ...findings import Finding
from ...pipeline import load_run
from .._ref import request_log_folder, resolve_model
from ._checks import monitor_findings
from ._inputs import read_batch
from ._judge import MIN_ROWS, Judgement, columns_of, judge
from ._reference import load_reference

TIMELINE_WINDOW = 1000  # rows per timeline window when no window is given


@dataclass
class Monitoring:
    """What `monitor` found (the `--json` object of `trainwell monitor`)."""

    run_dir: Path
    reference: str  # the REF or run directory given
    out_dir: Path
    rows: int  # rows in DATA
    judged: Judgement
    timeline: list[dict[str, Any]]
    findings: list[Finding]
    data: str
    reference_rebuilt: bool
    seconds: float
    report_dirs: list[Path] = field(default_factory=list)
    distributions: dict[str, Any] = field(default_factory=dict)  # for the figures

    def summary(self) -> dict[str, Any]:
        judged = self.judged
        return {
            "run_dir": str(self.run_dir),
            "reference": self.reference,
            "monitor_dir": str(self.out_dir),
            "data": self.data,
            "rows": self.rows,
            "window_rows": judged.rows,
            "alpha": judged.alpha,
            "features": [t.to_dict() for t in judged.columns],
            "multivariate": {
                **(judged.multivariate.to_dict() if judged.multivariate else {}),
                "on": judged.multivariate_on,
                "alpha": judged.alpha_joint,
                "drift": judged.joint_drift,
            },
            "data_drift": judged.data_drift,
            "predictions": judged.predictions,
            "estimated": judged.estimated,
            "actual": judged.actual,
            "timeline": self.timeline,
            "reference_rebuilt": self.reference_rebuilt,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
        }


@threadpool_limits.wrap(limits=1, user_api="blas")  # small matrices: 4x faster, busy cores
def monitor(
    model: str | Path,
    data: str | Path | None = None,
    *,
    window: int | None = None,
    alpha: float = 0.05,
    home: str | Path | None = None,
    seed: int = 0,
) -> Monitoring:
    """Compare DATA (CSV/Parquet/NPZ, or the service's request log) with the reference
    statistics stored at fit time; `model` is a run directory or a registry reference.
    Without `data`, the service's request log of that model (interfaces of `serve`)."""
    started = time.perf_counter()
    if window is not None and window < 1:
        raise InputError(f"--window must be at least 1 row; got {window}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1); got {alpha}")
    run_dir, version = resolve_model(model, home)
    run = load_run(run_dir)
    if run.info is None:
        raise InputError(f"{run_dir} has no data description (data.json): refit the run")
    if data is None:
        data = request_log_folder(model, home)
        if not data.is_dir():
            raise InputError(f"no DATA given and no request log at {data}: give DATA")
    batch = read_batch(data, run.info, run.config.data.target)
    if not len(batch.X):
        raise InputError(f"DATA {data} has no rows to monitor")
    reference = load_reference(run)
    columns = columns_of(run.info)
    newest = slice(max(0, len(batch.X) - (window or len(batch.X))), len(batch.X))

    def one(rows: slice, effects: bool) -> Judgement:
        y = batch.y[rows] if batch.y is not None else None
        return judge(
            run, reference, columns, batch.X[rows], y, alpha=alpha, effects=effects, seed=seed
        )

    judged = one(newest, True)
    windows = _windows(len(batch.X), window or TIMELINE_WINDOW)
    timeline = [
        _point(i, rows, judged if rows == newest else one(rows, False), batch.times)
        for i, rows in enumerate(windows)
    ]
    name = f"{version.name} version {version.version}" if version else str(run_dir)
    hint = f"trainwell retrain {version.name} DATA" if version else "trainwell retrain"
    notes = list(batch.notes)
    if reference.rebuilt:
        notes.append(f"{name} has no reference.npz: the reference was rebuilt from its data source")
    findings = monitor_findings(judged, notes, hint)
    out_dir = _out_dir(run_dir, version, home)
    result = Monitoring(
        Path(run_dir).resolve(),
        str(model),
        out_dir,
        len(batch.X),
        judged,
        timeline,
        findings,
        str(data),
        reference.rebuilt,
        time.perf_counter() - started,
        report_dirs=[] if version else [Path(run_dir)],
        distributions=_distributions(reference, columns, batch.X[newest], judged),
    )
    from ._write import write_monitor_dir  # matplotlib: only once there is something to draw

    write_monitor_dir(result)
    return result


def _windows(rows: int, size: int) -> list[slice]:
    """Consecutive windows of `size` rows; a last one too small to judge joins the one before."""
    starts = list(range(0, rows, size))
    if len(starts) > 1 and rows - starts[-1] < MIN_ROWS:
        starts.pop()
    return [slice(s, e) for s, e in zip(starts, [*starts[1:], rows], strict=True)]


def _point(index: int, rows: slice, judged: Judgement, times: list[str] | None) -> dict[str, Any]:
    estimated, actual = judged.estimated or {}, judged.actual or {}
    adjusted = [t.adjusted_p for t in judged.columns]
    return {
        "window": index,
        "start": rows.start,
        "rows": judged.rows,
        "from": times[rows.start] if times else None,
        "to": times[rows.stop - 1] if times else None,
        "judged": not judged.too_small,
        "data_drift": judged.data_drift,
        "drifted_features": [t.name for t in judged.drifted],
        "min_adjusted_p": min(adjusted) if adjusted else None,
        "multivariate_p": judged.multivariate.p_value if judged.multivariate else None,
        "prediction_drift": bool(judged.predictions.get("drift")),
        "estimated_accuracy": estimated.get("accuracy"),
        "accuracy": actual.get("accuracy"),
    }


def _distributions(reference: Any, columns: list, X: np.ndarray, judged: Judgement) -> dict:
    """Reference and current values of the columns that moved most (for the figure)."""
    ranked = sorted(judged.columns, key=lambda t: t.adjusted_p)[:6]
    by_name = {c.name: c for c in columns}
    shown = {}
    for test in ranked:
        column = by_name[test.name]
        shown[test.name] = {
            "reference": column.values(reference.X),
            "current": column.values(X),
            "categorical": column.categorical,
            "adjusted_p": test.adjusted_p,
        }
    return shown


def _out_dir(run_dir: Path, version: Any, home: str | Path | None) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    if version is None:
        return Path(run_dir).resolve() / "monitor" / stamp
    from ..registry import registry_home  # a version comes from the registry: it exists

    return registry_home(home).resolve() / version.name / "monitor" / f"v{version.version}-{stamp}"
