"""The commands `trainwell monitor` and `trainwell retrain`: parse, call `trainwell.monitor`
/ `trainwell.retrain`, print (registered on the app at the end of `cli.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._cli_common import JsonOption, _guarded, _show_progress
from ._cli_deploy import RegistryOption
from ._show import percent, print_findings, print_report


def monitor(
    model: Annotated[str, typer.Argument(help="A run directory, or NAME@ALIAS / NAME:VERSION.")],
    data: Annotated[
        Path | None,
        typer.Argument(help="CSV/Parquet/NPZ rows, or a request log (default: the model's)."),
    ] = None,
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


def retrain(
    name: Annotated[str, typer.Argument(help="A registered model (its champion is challenged).")],
    data: Annotated[list[Path], typer.Argument(help="Files of new labelled rows, oldest first.")],
    holdout: Annotated[
        Path | None,
        typer.Option(help="Labelled rows to judge on (default: the newest 25% of DATA)."),
    ] = None,
    margin: Annotated[
        float, typer.Option(help="Accuracy the challenger must gain (0.01: one point).")
    ] = 0.01,
    force: Annotated[bool, typer.Option("--force", help="Promote whatever the result.")] = False,
    registry: RegistryOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train a challenger on old plus new labelled rows and promote it only if it is better
    on the same held-out rows by the margin; the decision goes into the registry's log."""
    import trainwell

    result = _guarded(
        lambda: trainwell.retrain(
            name,
            data,
            holdout=holdout,
            margin=margin,
            force=force,
            home=registry,
            progress=_show_progress(as_json),
        )
    )
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    unit = (lambda v: percent(v)) if summary["metric"] == "accuracy" else (lambda v: f"{v:.4g}")
    table = Table("", "version", summary["metric"], box=None, pad_edge=False)
    table.title = f"{summary['holdout_rows']} held-out labelled rows"
    table.add_row(
        "champion", str(summary["champion"]["version"]), unit(summary["champion"]["score"])
    )
    table.add_row(
        "challenger", str(summary["challenger"]["version"]), unit(summary["challenger"]["score"])
    )
    console.print(table)
    rows = summary["training_rows"]
    console.print(
        f"challenger trained on {rows['old']} old + {rows['new']} new rows (audit on, doctor "
        f"repairing): {summary['challenger']['status']}",
        highlight=False,
    )
    style = "green" if summary["promoted"] else "yellow"
    console.print(f"[{style}]{escape(summary['reason'])}[/]", highlight=False, soft_wrap=True)
    console.print(f"challenger: {summary['run_dir']}", highlight=False, soft_wrap=True)
