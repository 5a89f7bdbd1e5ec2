"""The commands that train and look at runs: `trainwell fit`, `demo`, `report`, `compare`,
`audit` and `runs`: parse, call the API, print (registered on the app at the end of
`cli.py`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ._cli_common import JsonOption, OutOption, _config, _guarded, _show_progress
from ._show import print_findings, print_report, print_run, scores


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


def report(
    run_dir: Annotated[Path, typer.Argument(help="A run, audit or tune directory.")],
    as_json: JsonOption = False,
) -> None:
    """(Re)build report.html of a run, audit or tune directory, and print its path."""
    from .report import write_report

    path = _guarded(lambda: write_report(run_dir))
    print(json.dumps({"report": str(path)}) if as_json else path)


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
