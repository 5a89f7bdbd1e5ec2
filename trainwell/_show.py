"""What the command line prints: runs, findings, repairs and the newer verbs' tables, for a
person reading a terminal (`--json` prints the objects instead)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .findings import SEVERITY_STYLE, passed


def print_findings(console: Console, findings: list[dict[str, Any]], rows: bool = False) -> None:
    """One line per finding: severity, code, where (step or epoch), whether it was repaired,
    the message; with `rows`, the first rows a data finding names."""
    for f in findings:
        where = f" at step {f['step']}" if f["step"] is not None else ""
        where = where or (f" in epoch {f['epoch']}" if f["epoch"] is not None else "")
        fixed = f" [green]({'passed' if passed(f) else 'repaired'})[/]" if f["resolved"] else ""
        named = f["evidence"].get("rows") if rows else None
        shown = f" rows {_row_list(named)}" if isinstance(named, list) and named else ""
        console.print(
            f"[{SEVERITY_STYLE[f['severity']]}]{f['severity']}[/] {f['code']}{where}{fixed}: "
            f"{escape(f['message'])}{shown}",
            highlight=False,
        )
    if not findings:
        console.print("no findings")


def _row_list(rows: list[int], shown: int = 8) -> str:
    more = f" ... ({len(rows) - shown} more)" if len(rows) > shown else ""
    return ", ".join(map(str, rows[:shown])) + more


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def print_explanation(console: Console, summary: dict[str, Any]) -> None:
    """The terminal's view of `explain`: importances, the two trust checks, the groups."""
    console.print(
        f"explained {summary['rows']} test rows with {summary['method']} in "
        f"{summary['seconds']:.2f} s",
        highlight=False,
    )
    if summary.get("reference_images"):
        console.print(
            f"Grad-CAM measured from the mean activation of {summary['reference_images']} "
            "training images (what differs here from a typical image)",
            highlight=False,
        )
    if summary["importances"]:
        table = Table("feature", "permutation importance", "± spread", "mean |attribution|")
        table.title = "most important inputs (test score lost when shuffled)"
        for row in summary["importances"][:10]:
            table.add_row(
                escape(row["feature"]),
                f"{row['importance']:.4f}",
                f"{row['spread']:.4f}",
                f"{row['attribution']:.4f}",
            )
        console.print(table)
    faith, sanity = summary["faithfulness"], summary["sanity"]
    if faith:
        console.print(
            f"faithfulness: deletion AUC {faith['deletion_auc']:.3f} vs "
            f"{faith['random_deletion_auc']:.3f} for a random order (ratio {faith['ratio']:.2f}; "
            "lower is better)",
            highlight=False,
        )
    if sanity:
        console.print(
            "sanity: rank correlation with the maps of a re-initialised model "
            f"{sanity['randomized_rank_correlation']:.2f} (near 0 is good)",
            highlight=False,
        )
    game = summary.get("pointing_game")
    if game and game["rows"]:
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in game["by_class"].items())
        console.print(
            f"pointing game: the map's peak on the true defect for {game['hits']} of "
            f"{game['rows']} correctly detected defects ({game['score']:.2f}; a random pixel "
            f"{game['chance']:.2f}); by kind: {kinds}",
            highlight=False,
        )
    if summary["groups"]:
        print_groups(console, summary["groups"])
    print_findings(console, summary["findings"])
    folder = Path(summary["run_dir"]) / "explain"
    console.print(f"explain: {folder}", highlight=False, soft_wrap=True)
    print_report(Path(summary["run_dir"]), console)


def print_groups(console: Console, groups: dict[str, Any]) -> None:
    table = Table("group", "rows", "accuracy (95% CI)", "macro F1", title=f"by {groups['column']}")
    for name, row in groups["metrics"].items():
        low, high = row["accuracy_ci"]
        interval = f" ({cell(low)}-{cell(high)})" if low is not None else ""
        note = "" if row["judged"] else " [dim](too few to judge)[/]"
        table.add_row(
            escape(name) + note, str(row["rows"]), cell(row["accuracy"]) + interval,
            cell(row["macro_f1"]),
        )  # fmt: skip
    console.print(table)
    for metric, gap in groups["gaps"].items():
        if "gap" in gap:
            low, high = gap["ci"]
            console.print(
                f"gap in {metric}: {gap['gap']:.4f} (best {escape(gap['best'])}, worst "
                f"{escape(gap['worst'])}; 95% CI {low:.4f} to {high:.4f})",
                highlight=False,
            )
        else:
            console.print(f"{metric}: {gap['value']:.4f}", highlight=False)


def short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value).replace(" ", "")


def print_run(run: Any, as_json: bool, report: bool = True, data: bool = True) -> None:
    """A run's outcome, findings and repairs (`data`: with the audit's findings)."""
    summary = run.summary()
    if as_json:
        print(json.dumps(summary))
        return
    console, m = Console(), summary["metrics"]
    colour = {"completed": "green", "stopped_early": "green", "diverged": "red"}.get(
        summary["status"], "yellow"
    )
    speed = f"{m['samples_per_second']:,.0f}" if m.get("samples_per_second") else "-"
    console.print(
        f"[bold {colour}]{summary['status']}[/] after {m.get('epochs')} epochs "
        f"(weights of epoch {m.get('best_epoch')}), {m.get('seconds')} s, {speed} samples/s",
        highlight=False,
    )
    names = [k.removeprefix("test_") for k in m if k.startswith("test_")]
    table = Table("", "val", "test", box=None, pad_edge=False)
    for name in names:
        table.add_row(name, cell(m.get(f"val_{name}")), cell(m.get(f"test_{name}")))
    console.print(table)
    print_findings(console, [f for f in summary["findings"] if data or f["source"] != "data"])
    for r in summary["repairs"]:
        if r["epoch"] is None:  # a data remedy, applied before training
            console.print(f"remedy before training: {r['remedy']} ({escape(r['changed'])})")
            continue
        outcome = {True: "cured", False: "did not cure", None: "not judged"}[r["cured"]]
        if r.get("why_not"):
            outcome += f" ({r['why_not']})"
        if r.get("undone"):
            outcome += f"; undone: {r['undone']}"
        if r.get("kept"):
            outcome += f"; {r['kept']}"
        console.print(
            f"repair at epoch {r['epoch']}: {r['remedy']} for {r['finding']} "
            f"({escape(r['changed'])}): {outcome}",
            highlight=False,
        )
    if summary.get("cv"):
        cv = summary["cv"]
        console.print(
            f"{cv['folds']}-fold cross-validation: "
            + ", ".join(f"{k} {v:.4f} ± {cv['std'][k]:.4f}" for k, v in cv["mean"].items()),
            highlight=False,
        )
    console.print(f"run: {summary['run_dir']}", highlight=False, soft_wrap=True)
    if report:
        print_report(Path(summary["run_dir"]), console)


def print_report(run_dir: Path, console: Console) -> None:
    """The last line of fit, demo, audit and tune: the page to open (when it was written)."""
    report = run_dir / "report.html"
    if report.is_file():
        console.print(f"report: {report}", highlight=False, soft_wrap=True)


def scores(run: Any) -> str:
    """Val and test accuracy (r2 for regression); a study's best value of its objective."""
    m = run.metrics
    if run.kind == "tune" and m:
        metric, value = next(iter(m.items()))
        return cell(value, metric.removeprefix("val_"))
    key = "accuracy" if "test_accuracy" in m else "r2"
    val, test = m.get(f"val_{key}"), m.get(f"test_{key}")
    if val is None and test is None:
        return "-"
    return f"{cell(val, key)} / {cell(test)}"


def cell(value: Any, name: str = "") -> str:
    label = {"accuracy": "acc "}.get(name, f"{name} " if name else "")
    return "-" if value is None else f"{label}{value:.4f}"
