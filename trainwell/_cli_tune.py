"""The commands that search for a configuration: `trainwell tune` and `lr-find`: parse,
call `trainwell.tune` / `trainwell.lr_find`, print (registered on the app at the end of
`cli.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._cli_common import JsonOption, OutOption, SetOption, _config, _guarded, _show_progress
from ._show import print_report, short


def tune(
    config: Annotated[Path, typer.Argument(help="Run configuration with a tune: section.")],
    trials: Annotated[int, typer.Option("--trials", help="Trials the study should hold.")] = 20,
    sampler: Annotated[str, typer.Option(help="tpe | random | grid | cmaes")] = "tpe",
    pruner: Annotated[str, typer.Option(help="hyperband | median | none")] = "hyperband",
    storage: Annotated[
        str | None, typer.Option(help="Optuna RDB URL, e.g. postgresql://user@host/db.")
    ] = None,
    study: Annotated[
        str | None, typer.Option(help="Study name; the same name continues it.")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes sharing the study.")] = 1,
    heartbeat: Annotated[
        int, typer.Option(help="With --storage: seconds between a trial's heartbeats.")
    ] = 60,
    retries: Annotated[
        int, typer.Option(help="With --storage: reruns of a trial whose worker died.")
    ] = 3,
    set_: SetOption = None,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search hyperparameters and architecture (Optuna); write the best config as best.yaml."""
    import trainwell

    cfg = _guarded(lambda: _config(config, set_ or []))
    result = _guarded(
        lambda: trainwell.tune(
            cfg,
            trials=trials,
            sampler=sampler,
            pruner=pruner,
            storage=storage,
            study=study,
            workers=workers,
            heartbeat=heartbeat,
            retries=retries,
            out=out,
            progress=_show_progress(as_json),
        )
    )
    summary = result.to_dict()
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    table = Table(title=f"study {summary['study']}: {summary['metric']} ({summary['direction']})")
    for column in ("#", "state", "value", "epochs", "params", "note"):
        table.add_column(column, overflow="fold")
    best = summary["best"]["number"] if summary["best"] else None
    for t in summary["trials"]:
        mark = "[bold green]*[/]" if t["number"] == best else ""
        table.add_row(
            f"{t['number']}{mark}",
            t["state"],
            "-" if t["value"] is None else f"{t['value']:.4f}",
            str(t["epochs"] or "-"),
            escape(", ".join(f"{k}={short(v)}" for k, v in t["params"].items())),
            escape(t["reason"] or ""),
        )
    console.print(table)
    if summary["importances"]:
        ranked = ", ".join(f"{k} {v:.2f}" for k, v in summary["importances"].items())
        console.print(f"importances: {escape(ranked)}", highlight=False)
    console.print(
        f"{len(summary['trials'])} trials, {summary['epochs_trained']} epochs trained, "
        f"{summary['seconds']:.1f} s",
        highlight=False,
    )
    if summary["best_config"]:
        console.print(
            f"best: trial {best}, {summary['metric']} {summary['best']['value']:.4f}; "
            f"trainwell fit {summary['best_config']}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print("[yellow]no trial completed[/]")
    print_report(Path(summary["run_dir"]), console)


def lr_find(
    config: Annotated[Path, typer.Argument(help="Run configuration (YAML).")],
    set_: SetOption = None,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """The learning-rate range test: a robust suggestion and a plot (lr_find.png)."""
    import trainwell

    cfg = _guarded(lambda: _config(config, set_ or []))
    result = _guarded(lambda: trainwell.lr_find(cfg, out=out))
    summary = result.to_dict()
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    console.print(
        f"suggested lr [bold]{summary['suggested_lr']:.3g}[/] ({summary['rule']}); "
        f"loss lowest at lr {summary['lr_at_min_loss']:.3g}; {summary['steps']} steps, "
        f"{summary['stop_reason']}",
        highlight=False,
    )
    console.print(f"plot: {summary['plot']}", highlight=False, soft_wrap=True)
