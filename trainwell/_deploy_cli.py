"""The command line of the deploy verbs `monitor` and `retrain` (registered on `cli.app`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._show import percent, print_findings, print_report
from .cli import JsonOption, _guarded, app

RegistryOption = Annotated[
    Path | None,
    typer.Option(
        "--registry", help="Registry home (default: $TRAINWELL_REGISTRY or runs/registry)."
    ),
]


@app.command()
def monitor(
    model: Annotated[str, typer.Argument(help="A run directory, or NAME@ALIAS / NAME:VERSION.")],
    data: Annotated[
        Path, typer.Argument(help="CSV/Parquet/NPZ rows, or the service's request log.")
    ],
    window: Annotated[
        int | None, typer.Option(help="Judge the newest N rows; timeline windows of N rows.")
    ] = None,
    alpha: Annotated[float, typer.Option(help="False-alarm rate of a clean window.")] = 0.05,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Drift of inputs and predictions, and accuracy with or without labels, against the
    reference stored at fit time; writes a monitoring folder."""
    import trainwell

    result = _guarded(
        lambda: trainwell.monitor(model, data, window=window, alpha=alpha, home=registry)
    )
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
        return
    print_monitoring(Console(), summary)
    for directory in result.report_dirs:
        print_report(Path(directory), Console())


def print_monitoring(console: Console, s: dict[str, Any]) -> None:
    console.print(
        f"monitored {s['window_rows']} of {s['rows']} rows of {escape(s['data'])} against "
        f"the training reference (α = {s['alpha']:g} per window) in {s['seconds']:.1f} s",
        highlight=False,
        soft_wrap=True,
    )
    if s["features"]:
        ranked = sorted(s["features"], key=lambda f: f["adjusted_p"])
        table = Table("feature", "test", "p (Holm)", "PSI", "Wasserstein", "JS", "drift")
        table.title = "features, most moved first (effects in red: beyond 99% of clean windows)"
        for f in ranked[:10]:
            effect, limit = f["effect"] or {}, f["threshold"] or {}
            table.add_row(
                escape(f["name"]),
                f["test"],
                f"{f['adjusted_p']:.2g}",
                *(_effect(effect.get(k), limit.get(k)) for k in ("psi", "wasserstein", "js")),
                "[red]yes[/]" if f["drift"] else "no",
            )
        console.print(table)
        if len(ranked) > 10:
            console.print(f"... {len(ranked) - 10} more features in monitor.json")
    mv = s["multivariate"]
    if mv.get("test"):
        console.print(
            f"multivariate: MMD on the {mv['on']}, p = {mv['p_value']:.3g} "
            f"({mv['permutations']} permutations, α {mv['alpha']:g}): "
            + ("[red]moved[/]" if mv["drift"] else "no change"),
            highlight=False,
        )
    estimated, actual = s["estimated"], s["actual"]
    if estimated:
        console.print(
            f"accuracy estimated without labels: {percent(estimated['accuracy'])} "
            f"(validation {percent(estimated['reference'])}, clean windows ≥ "
            f"{percent(estimated['clean_lower'])})",
            highlight=False,
        )
    if actual and "accuracy" in actual:
        ref = f" (test split {percent(actual['reference'])})" if "reference" in actual else ""
        console.print(
            f"accuracy on the labels: {percent(actual['accuracy'])}{ref}", highlight=False
        )
    if len(s["timeline"]) > 1:
        marks = "".join(
            "[red]D[/]" if p["data_drift"] else ("[yellow]P[/]" if p["prediction_drift"] else ".")
            for p in s["timeline"]
        )
        console.print(f"timeline ({len(s['timeline'])} windows; D drift, P predictions): {marks}")
    print_findings(console, s["findings"])
    console.print(f"monitoring: {s['monitor_dir']}", highlight=False, soft_wrap=True)


def _effect(value: float | None, limit: float | None) -> str:
    if value is None:
        return "-"
    large = limit is not None and value > limit
    return f"[red]{value:.3g} > {limit:.2g}[/]" if large else f"{value:.3g}"
