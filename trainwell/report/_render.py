"""Render records into self-contained HTML pages: CSS inline, figures as data URIs, so a
page opens offline, mails as one file and prints."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from rich.console import Console
from rich.markup import escape

from ..findings import passed
from ..runs import atomic_write
from . import _figures as figures
from ._load import RunRecord, load_record
from ._sections import _flatten, build_sections, verdict


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("trainwell.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    env.filters["num"] = _number
    env.tests["passed"] = passed  # a finding resolved with no remedy: `{% if f is passed %}`
    return env


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"
    return str(value)


def render_report(record: RunRecord) -> str:
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            record=record,
            verdict=verdict(record),
            sections=build_sections(record),
            generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )


def write_report(run_dir: str | Path) -> Path:
    """(Re)build `RUN_DIR/report.html` from the run's files; returns its path."""
    record = load_record(run_dir)
    path = record.path / "report.html"
    atomic_write(path, render_report(record))
    return path


def render_compare(a: RunRecord, b: RunRecord) -> str:
    labels = ["A", "B"]
    keys = list(dict.fromkeys([*a.metrics, *b.metrics]))
    metrics = [(k, a.metrics.get(k), b.metrics.get(k)) for k in keys]
    ca, cb = _flatten(a.config), _flatten(b.config)
    config = [
        (k, ca.get(k), cb.get(k)) for k in dict.fromkeys([*ca, *cb]) if ca.get(k) != cb.get(k)
    ]
    return (
        _env()
        .get_template("compare.html.j2")
        .render(
            runs=[(label, r, verdict(r)) for label, r in zip(labels, (a, b), strict=True)],
            curves=figures.compare_curves([a, b], labels),
            metrics=metrics,
            config=config,
            generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        )
    )


def compare_runs(run_a: str | Path, run_b: str | Path, out: str | Path | None = None) -> Path:
    """Write a page with both runs' curves, metrics, findings and config differences."""
    a, b = load_record(run_a), load_record(run_b)
    path = Path(out) if out else a.path.parent / f"compare-{a.name}--{b.name}.html"
    atomic_write(path, render_compare(a, b))
    return path


def write_report_or_warn(run_dir: Path) -> None:
    """For a run that is complete on disk already: a page that fails to render costs a
    warning on stderr, not the run."""
    try:
        write_report(run_dir)
    except Exception as exc:
        Console(stderr=True).print(
            f"[yellow]warning:[/] report.html not written ({type(exc).__name__}: "
            f"{escape(str(exc))}); rebuild it with `trainwell report {run_dir}`",
            highlight=False,
            soft_wrap=True,
        )
