"""The fault benchmark's tables: one row per config and seed set, one row per split."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from _scoring import (
    EARLY_CODES,
    MARGIN,
    REPAIRED_SHARE,
    Outcome,
    Result,
    config_verdict,
    in_epoch_0,
    primary_right,
)
from rich.markup import escape
from rich.table import Table

_MARK = {"repaired": "[green]R[/]", "failed": "[red]F[/]", "harmless": "[dim]h[/]"}
_MARK |= {"broken": "[red]B[/]", None: "-"}
_CONFIG = {"repaired": "[green]repaired[/]", "some": "[yellow]some seeds[/]"}
_CONFIG |= {"failed": "[red]failed[/]", "harmless": "[dim]harmless[/]", None: ""}


def detail_table(split: str, results: list[Result], repair: bool) -> Table:
    out = Table(title=f"fault benchmark, {split} (test accuracy, mean over seeds)")
    out.add_column("config", no_wrap=True)
    out.add_column("expected", no_wrap=True)
    out.add_column("detected (warning/error; runs of each code)", ratio=1)
    out.add_column("1st right", justify="right", no_wrap=True)
    out.add_column("epoch 0", justify="right", no_wrap=True)
    twins = any(r.twin for r in results)
    columns = ("detect", "repair", "healthy", "per seed", "verdict")
    columns += ("twin", "vs twin") if twins else ()
    for column in (*columns, "time vs healthy"):
        out.add_column(column, justify="right", no_wrap=True)
    faulty = [r for r in results if r.case.faulty]
    for result in faulty + [r for r in results if not r.case.faulty]:
        expect, seeds = result.case.expect, len(result.detect)
        verdicts = result.verdicts() if expect else []
        by_twin = (
            [_mean_score(result.twin), " ".join(_MARK[v] for v in result.twin_verdicts())]
            if twins
            else []
        )
        out.add_row(
            result.case.name,
            expect or "[dim]healthy[/]",
            _detected(result),
            f"{sum(primary_right(o, expect) for o in result.detect)}/{seeds}" if expect else "",
            f"{sum(in_epoch_0(o) for o in result.detect)}/{seeds}" if expect in EARLY_CODES else "",
            _mean_score(result.detect),
            _mean_score(result.repair),
            _mean_score(result.base) + ("†" if result.same_rows else ""),
            " ".join(_MARK[v] for v in verdicts) if repair else "",
            _CONFIG[config_verdict(verdicts)] if repair and expect else "",
            *by_twin,
            _ratio(_median_ratio(result)),
            end_section=bool(faulty) and result is faulty[-1],
        )
    return out


def _detected(result: Result) -> str:
    failed = [o.status for o in result.detect if o.status.startswith("failed")]
    if failed:
        return f"[red]{escape(failed[0])}[/]"
    expect, seeds = result.case.expect, len(result.detect)
    counts = Counter(code for o in result.detect for code in o.codes)
    parts = [
        f"[bold]{code}[/] {n}/{seeds}" if code == expect else f"{code} {n}/{seeds}"
        for code, n in counts.items()
    ]
    good = counts[expect] == seeds if expect else not counts
    return f"[{'green' if good else 'red'}]{', '.join(parts) or 'none'}[/]"


def _mean_score(outcomes: list[Outcome | None]) -> str:
    present = [o for o in outcomes if o is not None]
    if not present:
        return ""
    scores = [o.score for o in present if o.score is not None]
    if len(scores) < len(present):
        return f"{statistics.fmean(scores):.3f}*" if scores else "-"
    return f"{statistics.fmean(scores):.3f}"


def _median_ratio(result: Result) -> float | None:
    ratios = [
        rep.seconds / base.seconds
        for rep, base in zip(result.repair, result.base, strict=True)
        if rep is not None and base is not None and base.seconds > 0
    ]
    return statistics.median(ratios) if ratios else None


def summary_table(figures: dict[str, dict[str, Any]], seeds: int, repair: bool) -> Table:
    out = Table(title=f"fault benchmark by split ({seeds} seeds per config; counts are runs)")
    columns = (
        "split",
        "faulty/healthy",
        "recall",
        "false alarms",
        "repair rate ± sd",
        "repaired all/some/no seeds",
        "harmless",
        "primary right",
        "extra codes",
        "epoch 0",
        "time vs healthy",
    )
    twins = repair and any(t["twins"] for t in figures.values())
    columns += ("vs twin all/some/no seeds",) if twins else ()
    for i, column in enumerate(columns):
        out.add_column(column, justify="left" if i == 0 else "right", no_wrap=True)
    for split, t in figures.items():
        out.add_row(
            split,
            f"{t['faulty']}/{t['healthy']}",
            f"{_pct(t['recall'])} of {t['runs']}",
            f"{t['false_alarm_runs']} of {t['healthy_runs']}",
            _rate(t) if repair else "n/a",
            f"{t['repaired_all_seeds']}/{t['repaired_some_seeds']}/{t['repaired_no_seed']}"
            if repair
            else "n/a",
            str(len(t["harmless"])),
            _pct(t["primary_right"]),
            f"{t['extra_codes']} on {t['extra_runs']} runs",
            f"{_pct(t['epoch_0'])} of {t['early_runs']}",
            f"{_ratio(t['time_ratio_median'])} (max {_ratio(t['time_ratio_max'])})"
            if repair
            else "n/a",
            *([_vs_twin(t)] if twins else []),
        )
    return out


def _vs_twin(t: dict[str, Any]) -> str:
    if not t["twins"]:
        return "n/a"
    counts = (t["twin_repaired_all_seeds"], t["twin_repaired_some_seeds"])
    return "/".join(map(str, (*counts, t["twin_repaired_no_seed"])))


def _rate(t: dict[str, Any]) -> str:
    if t["repair_rate"] is None:
        return "n/a"
    sd = "" if t["repair_rate_sd"] is None else f" ± {t['repair_rate_sd']:.0%}"
    return f"{t['repair_rate']:.0%}{sd}"


def goal_lines(figures: dict[str, dict[str, Any]], repair: bool) -> list[str]:
    """The goals (held-out is the half they are set for) and what missed them."""
    lines = [
        f"repaired = repair mode >= {REPAIRED_SHARE:.0%} of the healthy baseline and >= "
        f"{MARGIN} above detect mode, on every seed the fault hurt; harmless = detect mode "
        f"already >= {REPAIRED_SHARE:.0%}. Per seed: R repaired, F failed, h harmless, "
        f"B broken (repair mode took a harmless run below {REPAIRED_SHARE:.0%}). † the "
        f"healthy config trained on the faulty config's rows (its data.split held more back)."
        " vs twin: the same verdicts with the config's fault-free twin (`# twin:`) as its"
        " baseline."
    ]
    for split, t in figures.items():
        lines.append(
            f"{split}: recall {_pct(t['recall'])} (goal 100%), false alarms "
            f"{t['false_alarm_runs']} (goal 0), repaired on all seeds "
            f"{_pct(t['repaired_share'])} of {t['hurt_configs']} hurt configs (goal >= 95%), "
            f"primary diagnosis right {_pct(t['primary_right'])} (goal >= 90%), epoch 0 "
            f"{_pct(t['epoch_0'])} (goal 100%), fit time {t['seconds']} CPU s"
            if repair
            else f"{split}: recall {_pct(t['recall'])} (goal 100%), false alarms "
            f"{t['false_alarm_runs']} (goal 0), primary diagnosis right "
            f"{_pct(t['primary_right'])} (goal >= 90%), fit time {t['seconds']} CPU s"
        )
        lines += [f"  {split} missed: {name} on {n} seed(s)" for name, n in t["missed"].items()]
        lines += [
            f"  {split} false alarm: {n}: {', '.join(c)}" for n, c in t["false_alarms"].items()
        ]
        lines += [f"  {split} not repaired: {n} ({v})" for n, v in t["not_repaired"].items()]
        if t["twins"]:
            under = ", ".join(t["twins_under_line"]) or "none"
            lines.append(
                f"  {split}: {t['twins']} fault-free twins (the config without its fault); "
                f"under the healthy line on some seed: {under}; codes raised on "
                f"{t['twin_alarm_runs']} of {t['twin_runs']} of their runs"
            )
            lines += [
                f"  {split} twin alarm: {n}: {', '.join(c)}" for n, c in t["twin_alarms"].items()
            ]
        lines += [f"  {split} run failed: {what}" for what in t["crashed"]]
        if t["broken_runs"]:
            lines.append(f"  {split}: repair mode broke {t['broken_runs']} harmless run(s)")
    return lines


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
