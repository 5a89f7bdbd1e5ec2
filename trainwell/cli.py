"""The command line: parse arguments, call the API, print (rich) or `--json`.

Exit codes: 0 done (findings are results, not failures); 2 bad input, as one line on
stderr; 1 anything else.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._show import (
    percent,
    print_explanation,
    print_findings,
    print_report,
    print_run,
    scores,
    short,
)

app = typer.Typer(
    name="trainwell",
    help="Train PyTorch networks that stay healthy.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
SetOption = Annotated[list[str] | None, typer.Option("--set", help="Override: key.sub=value.")]
OutOption = Annotated[
    Path | None, typer.Option("--out", help="Where runs go (default: $TRAINWELL_HOME or ./runs).")
]


def _stderr() -> Console:
    return Console(stderr=True)


def _guarded(action: Callable[[], Any]) -> Any:
    """Run `action`; bad input becomes one line and exit 2, anything else one line and exit 1."""
    from .errors import InputError

    try:
        return action()
    except InputError as exc:
        if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 speaks for all
            _stderr().print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        if os.environ.get("TRAINWELL_DEBUG"):
            raise
        _stderr().print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(set TRAINWELL_DEBUG=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def _config(path: Path, overrides: list[str]) -> Any:
    """The validated config, before anything heavy is imported: a bad key, value or data
    path is answered at once."""
    from .config import load_config, looks_like_path
    from .errors import DataError

    cfg = load_config(path, overrides)
    source = cfg.data.source
    if looks_like_path(source) and not Path(source).exists():
        raise DataError(f"data.source: no such file or folder: {source}")
    return cfg


def _show_progress(as_json: bool) -> bool:
    return not as_json and _stderr().is_terminal


@app.command()
def fit(
    config: Annotated[Path | None, typer.Argument(help="Run configuration (YAML).")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override: key.sub=value.")
    ] = None,
    doctor: Annotated[str | None, typer.Option("--doctor", help="off | detect | repair")] = None,
    out: OutOption = None,
    resume: Annotated[Path | None, typer.Option("--resume", help="Continue a killed run.")] = None,
    nproc: Annotated[
        int | None,
        typer.Option("--nproc", help="Data-parallel ranks on this machine (runs torchrun)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Train a network as CONFIG describes, and write a run directory."""
    import trainwell

    overrides = list(set_ or []) + ([f"doctor.mode={doctor}"] if doctor else [])
    if nproc is not None:
        _launch_ranks(nproc, config, set_ or [], doctor, out, resume, as_json)
        return

    def action() -> Any:
        if resume is not None:
            if config is not None or overrides:
                raise trainwell.InputError(
                    "--resume takes the run's own config: give no CONFIG or --set"
                )
            return trainwell.resume(resume, progress=_show_progress(as_json))
        if config is None:
            raise trainwell.InputError("give a CONFIG.yaml (or --resume RUN_DIR)")
        cfg = _config(config, overrides)
        return trainwell.fit(cfg, out=out, progress=_show_progress(as_json))

    run = _guarded(action)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, rank 0 prints the one result
        print_run(run, as_json)


def _launch_ranks(
    nproc: int,
    config: Path | None,
    sets: list[str],
    doctor: str | None,
    out: Path | None,
    resume: Path | None,
    as_json: bool,
) -> None:
    """`fit --nproc N`: check what can be checked here, then run the same command on N ranks
    through torchrun (`torchrun --standalone --nproc-per-node N -m trainwell fit ...`)."""
    from .errors import InputError
    from .train._launch import check_nproc, launch

    def check() -> list[str]:
        overrides = sets + ([f"doctor.mode={doctor}"] if doctor else [])
        if resume is not None:
            device = "auto"
            if config is not None or overrides:
                raise InputError("--resume takes the run's own config: give no CONFIG or --set")
            args = ["fit", "--resume", str(resume)]
        elif config is None:
            raise InputError("give a CONFIG.yaml (or --resume RUN_DIR)")
        else:
            device = _config(config, overrides).train.device
            args = ["fit", str(config), *(a for s in sets for a in ("--set", s))]
            args += ["--doctor", doctor] if doctor else []
            args += ["--out", str(out)] if out else []
        check_nproc(nproc, device)
        return args + (["--json"] if as_json else [])

    args = _guarded(check)
    code = launch(nproc, args)
    if code:
        raise typer.Exit(code)


@app.command()
def demo(out: OutOption = None, as_json: JsonOption = False) -> None:
    """What trainwell is for, on built-in data: audit the digits, train a healthy CNN, and a
    network with a planted training problem that the doctor repairs."""
    from ._demo import demo as run_demo

    result = _guarded(lambda: run_demo(out, progress=_show_progress(as_json)))
    if as_json:
        print(json.dumps(result.summary()))
        return
    console = Console()
    healthy, untreated, repaired = (r.summary() for r in (result.healthy, result.untreated,
                                                          result.repaired))  # fmt: skip
    console.rule("1. the data: scikit-learn's digits, audited before training")
    print_findings(console, [f for f in healthy["findings"] if f["source"] == "data"])
    console.rule("2. a healthy CNN")
    print_run(result.healthy, as_json=False, report=False, data=False)
    console.rule("3. eight sigmoid layers on plain SGD: a textbook training problem")
    problems = [f for f in untreated["findings"] if f["severity"] != "info"]
    console.print(
        f"without repairs: test accuracy {untreated['metrics']['test_accuracy']:.3f} "
        f"(chance is 0.1); the doctor saw: {', '.join(f['code'] for f in problems) or 'nothing'}",
        highlight=False,
    )
    console.print("with --doctor repair:", highlight=False)
    print_run(result.repaired, as_json=False, report=False)
    console.print(
        f"test accuracy {untreated['metrics']['test_accuracy']:.3f} -> "
        f"{repaired['metrics']['test_accuracy']:.3f} (the healthy CNN: "
        f"{healthy['metrics']['test_accuracy']:.3f})",
        highlight=False,
    )
    console.rule("4. the healthy CNN, after training")
    for name, line in result.capabilities.items():
        console.print(f"{name}: {escape(line)}", highlight=False)
    console.print(f"compare: {result.compare}", highlight=False, soft_wrap=True)
    print_report(result.healthy.run_dir, console)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run, audit or tune directory.")],
    as_json: JsonOption = False,
) -> None:
    """(Re)build report.html of a run, audit or tune directory, and print its path."""
    from .report import write_report

    path = _guarded(lambda: write_report(run_dir))
    print(json.dumps({"report": str(path)}) if as_json else path)


@app.command()
def compare(
    run_a: Annotated[Path, typer.Argument(help="The first run directory (A).")],
    run_b: Annotated[Path, typer.Argument(help="The second run directory (B).")],
    out: Annotated[
        Path | None, typer.Option("--out", help="The page to write (default: beside run A).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write a page with two runs' curves, metrics, findings and config side by side."""
    from .report import compare_runs

    path = _guarded(lambda: compare_runs(run_a, run_b, out))
    print(json.dumps({"report": str(path)}) if as_json else path)


@app.command()
def audit(
    config: Annotated[Path, typer.Argument(help="Run configuration (YAML).")],
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override: key.sub=value.")
    ] = None,
    out: OutOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the data CONFIG describes, without training; write an audit directory."""
    import trainwell

    cfg = _guarded(lambda: _config(config, list(set_ or [])))
    result = _guarded(lambda: trainwell.audit(cfg, out=out, progress=_show_progress(as_json)))
    summary = result.summary()
    if as_json:
        print(json.dumps(summary))
        return
    console = Console()
    sizes = summary["audit"]["sizes"]
    console.print(
        f"audited {sizes['train']} training rows ({sizes['val']} validation, {sizes['test']} "
        f"test) in {summary['audit']['seconds']:.2f} s",
        highlight=False,
    )
    print_findings(console, summary["findings"], rows=True)
    console.print(f"audit: {summary['run_dir']}", highlight=False, soft_wrap=True)
    print_report(Path(summary["run_dir"]), console)


@app.command()
def runs(out: OutOption = None, as_json: JsonOption = False) -> None:
    """List runs: name, status, key metrics, when."""
    from .runs import list_runs

    found = list_runs(out)
    if as_json:
        print(
            json.dumps(
                {
                    "runs": [
                        {
                            "run_dir": str(r.path),
                            "kind": r.kind,
                            "status": r.status,
                            "problems": r.problems,
                            "metrics": r.metrics,
                            "started": r.started.isoformat(timespec="seconds"),
                        }
                        for r in found
                    ]
                }
            )
        )
        return
    table = Table(title=f"{len(found)} runs in {out or '$TRAINWELL_HOME or ./runs'}")
    table.add_column("run", overflow="fold", ratio=1)
    for column in ("kind", "status", "val / test", "epochs", "started"):
        table.add_column(column, no_wrap=column == "epochs")
    for r in found:
        problems = f" ({r.problems} problem{'s' * (r.problems != 1)})" if r.problems else ""
        table.add_row(
            r.path.name,
            r.kind,
            r.status + problems,
            scores(r),
            str(r.metrics.get("epochs", "-")),
            r.started.strftime("%m-%d %H:%M"),
        )
    Console().print(table)


@app.command()
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


@app.command("lr-find")
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


@app.command()
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


@app.command()
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


@app.command()
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


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `trainwell runs | head`
        sys.stderr.close()


from ._cli_deploy import registry_app, serve  # noqa: E402  (it uses the helpers above)
from ._cli_monitor import monitor, retrain  # noqa: E402

app.add_typer(registry_app, name="registry")
app.command()(serve)
app.command()(monitor)
app.command()(retrain)
