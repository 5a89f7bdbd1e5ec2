"""The commands that study a trained run: `trainwell attack`, `compress` and `explain`:
parse, call the API, print (registered on the app at the end of `cli.py`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._cli_common import JsonOption, _guarded, _show_progress
from ._show import percent, print_explanation, print_findings, print_report


def attack(
    run_dir: Annotated[Path, typer.Argument(help="A trained classification run.")],
    eps: Annotated[
        str | None,
        typer.Option("--eps", help="ε values, comma-separated (default: around attack.eps)."),
    ] = None,
    norm: Annotated[str | None, typer.Option("--norm", help="linf | l2")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="PGD steps.")] = None,
    restarts: Annotated[int | None, typer.Option("--restarts", help="PGD random restarts.")] = None,
    rows: Annotated[int | None, typer.Option("--rows", help="Test rows attacked.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Attack a run (FGSM, PGD), check the evaluation against gradient masking, write attack/."""
    import trainwell

    def action() -> Any:
        return trainwell.attack(
            run_dir,
            eps=_floats(eps, "--eps"),
            norm=norm,
            steps=steps,
            restarts=restarts,
            rows=rows,
            progress=_show_progress(as_json),
        )

    summary = _guarded(action).summary()
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    console.print(
        f"attacked {summary['rows']} test rows in {summary['seconds']:.1f} s; ε: "
        f"{summary['unit']} ({summary['norm']}); clean accuracy "
        f"{100 * summary['clean_accuracy']:.1f}%",
        highlight=False,
    )
    steps = next(r["steps"] for r in summary["results"] if r["attack"] == "pgd")
    table = Table("ε", "FGSM", f"PGD-{steps}", box=None, pad_edge=False)
    for value in dict.fromkeys(r["eps"] for r in summary["results"]):
        cells = {r["attack"]: r["accuracy"] for r in summary["results"] if r["eps"] == value}
        table.add_row(f"{value:g}", *(f"{100 * cells[k]:.1f}%" for k in ("fgsm", "pgd")))
    console.print(table)
    for c in summary["checks"]:
        mark = "[green]pass[/]" if c["passed"] else "[red]FAIL[/]"
        console.print(f"{mark} {c['name']}: {escape(c['detail'])}", highlight=False)
    console.print(
        f"worst case of all attacks at attack.eps {summary['eps']:g}: "
        f"{100 * summary['robust_accuracy']:.1f}%",
        highlight=False,
    )
    print_findings(console, summary["findings"])
    console.print(f"attack: {Path(summary['run_dir']) / 'attack'}", highlight=False, soft_wrap=True)
    print_report(Path(summary["run_dir"]), console)


def _floats(text: str | None, option: str) -> list[float] | None:
    """`0.05,0.1` as numbers; anything else is one InputError naming the option."""
    if text is None:
        return None
    from .errors import InputError

    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise InputError(f"{option} takes numbers separated by commas; got {text!r}") from None


def compress(
    run_dir: Annotated[Path, typer.Argument(help="A trained run directory.")],
    prune: Annotated[
        float | None,
        typer.Option(help="Fraction of hidden units and channels to remove, e.g. 0.5."),
    ] = None,
    quantize: Annotated[str, typer.Option(help="int8 | none")] = "int8",
    finetune: Annotated[int, typer.Option(help="Epochs to fine-tune the pruned network.")] = 10,
    threads: Annotated[int, typer.Option(help="Threads when timing each variant.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Export to ONNX, quantize to int8, prune: one table of size, speed and accuracy."""
    import trainwell

    result = _guarded(
        lambda: trainwell.compress(
            run_dir,
            prune=prune,
            quantize=None if quantize == "none" else quantize,
            finetune=finetune,
            threads=threads,
            progress=_show_progress(as_json),
        )
    )
    summary = result.to_dict()
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    table = Table(title=f"{summary['test_rows']} test rows, {summary['threads']} thread(s)")
    for column in ("variant", "parameters", "bytes", "batch 1", "batch 64", "accuracy", "agrees"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in summary["variants"]:
        table.add_row(
            v["name"],
            f"{v['parameters']:,}",
            f"{v['bytes']:,}",
            f"{1000 * v['latency_ms']['1']:.0f} µs",
            f"{v['latency_ms']['64']:.3f} ms",
            percent(v["accuracy"]),
            percent(v["agreement"]),
        )
    console.print(table)
    for c in summary["checks"]:
        mark = "[green]ok[/]" if c["passed"] else "[red]failed[/]"
        detail = escape(c["detail"])
        console.print(
            f"{mark} {c['name']} ({c['variant']}): {detail}", highlight=False, soft_wrap=True
        )
    print_findings(console, summary["findings"])
    pruning = summary["pruning"]
    if pruning:
        widths = ", ".join(f"{k} {a}->{b}" for k, (a, b) in pruning["widths"].items())
        tuned = pruning["finetune"]
        console.print(
            f"pruned {widths} by {pruning['score']}; fine-tuned {tuned['epochs']} epochs with "
            f"the doctor: {tuned['status']}, {len(tuned['findings'])} finding(s)",
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"variants: {result.out_dir}", highlight=False, soft_wrap=True)
    print_report(Path(summary["run_dir"]), console)


def explain(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (trainwell fit).")],
    method: Annotated[
        str, typer.Option(help="ig | saliency | smoothgrad | occlusion | gradcam (CNNs)")
    ] = "ig",
    groups: Annotated[
        str | None, typer.Option(help="A column of the data: per-group metrics and gaps.")
    ] = None,
    rows: Annotated[int, typer.Option(help="Test rows to explain (a seeded sample).")] = 500,
    as_json: JsonOption = False,
) -> None:
    """Which inputs drive the model, whether that explanation can be trusted, who it fails."""
    import trainwell

    result = _guarded(
        lambda: trainwell.explain(
            run_dir, method=method, groups=groups, rows=rows, progress=_show_progress(as_json)
        )
    )
    summary = result.to_dict()
    if as_json:
        print(json.dumps(summary))
        return
    print_explanation(Console(), summary)
