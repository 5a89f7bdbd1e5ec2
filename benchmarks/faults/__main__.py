"""The fault benchmark: does the training doctor find (and repair) textbook training faults?

Every YAML file in `configs/` is a complete trainwell run config. A faulty one is named
`<expected_code>-<n>.yaml` (or carries `# expect: <code>` in its first lines) and holds one
textbook fault built only from config keys; a healthy one, `healthy-<dataset>[-<variant>].yaml`,
holds sensible settings with early stopping. Each config is trained with the doctor in detect
mode and in repair mode. Measured, per config:

- the warning/error training findings detected (info findings are listed apart), and the
  epoch and step at which the expected code was first reported;
- the test accuracy (r2 for regression) in detect and in repair mode, next to the healthy
  baseline of the same dataset (`healthy-<source>`, or `healthy-<source>-cnn` for a cnn),
  trained in the same process;
- the time of the repair-mode run over that of the healthy baseline, and over the
  detect-mode run of the same config: CPU seconds of the one torch thread, which on an idle
  machine equal the wall time and, unlike it, do not grow with other processes' load.

Totals and goals:

- detection recall (the expected code among the warning/error findings): 100%;
- false positives (warning/error findings on healthy configs): none;
- repair rate (repair-mode runs reaching >= 90% of the healthy baseline's score): >= 98%;
- gradient/activation problems (vanishing, exploding, dying, saturated) detected within the
  first epoch (epoch 0): 100%;
- repaired run time <= 1.5x the healthy baseline's.

Usage: python benchmarks/faults [--only CODE] [--detect-only] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

import trainwell
from trainwell.errors import InputError
from trainwell.findings import TRAINING_CODES

CONFIGS = Path(__file__).resolve().with_name("configs")
EARLY_CODES = frozenset(TRAINING_CODES[:4])  # gradient and activation problems: epoch 0
REPAIRED_SHARE = 0.9  # a repair succeeds at this share of the healthy baseline's score


@dataclass(frozen=True)
class Case:
    """One config file: `expect` is its expected finding code, None for a healthy config."""

    name: str
    path: Path
    expect: str | None
    dataset: str  # the healthy baseline it is compared with: source, plus "-cnn"


@dataclass
class Outcome:
    """One fit of one config in one doctor mode."""

    status: str
    metric: str  # "accuracy" or "r2"
    score: float | None
    seconds: float
    codes: list[str]  # warning/error findings, in the order found
    info: list[str]  # info findings
    first: dict[str, int | None] | None = None  # epoch and step of the expected code
    repairs: list[str] = field(default_factory=list)


@dataclass
class Result:
    case: Case
    detect: Outcome
    repair: Outcome | None = None  # faulty configs, when repair mode runs

    @property
    def faulty(self) -> bool:
        return self.case.expect is not None


# --- configs ------------------------------------------------------------------------------


def discover(only: str | None = None) -> list[Case]:
    """Healthy configs first (they are the baselines), then faulty ones, by name."""
    cases = sorted((_case(path) for path in CONFIGS.glob("*.yaml")), key=_order)
    healthy = [c for c in cases if c.expect is None]
    faulty = [c for c in cases if c.expect is not None and only in (None, c.expect)]
    return healthy + faulty


def _order(case: Case) -> tuple[int, str, int]:
    """Faulty configs in the order of TRAINING_CODES, then by number; healthy ones by name."""
    rank = TRAINING_CODES.index(case.expect) if case.expect else -1
    stem, _, number = case.name.rpartition("-")
    return (rank, stem, int(number)) if number.isdigit() else (rank, case.name, 0)


def _case(path: Path) -> Case:
    expect = _expected_code(path)
    raw = yaml.safe_load(path.read_text()) or {}
    source = str(raw.get("data", {}).get("source", "digits"))
    arch = raw.get("model", {}).get("arch", "mlp")
    return Case(path.stem, path, expect, f"{source}-cnn" if arch == "cnn" else source)


def _expected_code(path: Path) -> str | None:
    """`# expect: CODE` in the leading comments, else the file name's `<code>-<n>`."""
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = re.match(r"#\s*expect:\s*(\w+)", line)
        if match:
            return _known(match.group(1), path)
    if path.stem.startswith("healthy"):
        return None
    return _known(path.stem.rsplit("-", 1)[0], path)


def _known(code: str, path: Path) -> str | None:
    if code == "healthy":
        return None
    if code not in TRAINING_CODES:
        raise SystemExit(f"{path}: unknown expected code {code!r}; known: {TRAINING_CODES}")
    return code


# --- fitting ------------------------------------------------------------------------------


def fit(case: Case, mode: str, out: Path) -> Outcome:
    """Train `case` with the doctor in `mode`; a run that fails is recorded, not raised."""
    started = time.process_time()  # CPU time of one thread: immune to other processes' load
    try:
        run = trainwell.fit(case.path, out=out, doctor__mode=mode, progress=False, report=False)
    except InputError as exc:
        return Outcome(f"failed: {exc}", "accuracy", None, time.process_time() - started, [], [])
    seconds = time.process_time() - started
    training = [f for f in run.findings if f.source == "training"]
    problems = [f for f in training if f.severity in ("warning", "error")]
    hit = next((f for f in problems if f.code == case.expect), None)
    metric = "accuracy" if "test_accuracy" in run.metrics else "r2"
    return Outcome(
        status=run.status,
        metric=metric,
        score=_finite(run.metrics.get(f"test_{metric}")),
        seconds=seconds,
        codes=[f.code for f in problems],
        info=[f.code for f in training if f.severity == "info"],
        first={"epoch": hit.epoch, "step": hit.step} if hit else None,
        repairs=[_repair_label(r) for r in run.repairs],
    )


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value == value else None


def _repair_label(repair: dict[str, Any]) -> str:
    cured = repair.get("cured")
    return f"{repair.get('remedy')}{'' if cured or cured is None else ' (not cured)'}"


def run_all(cases: list[Case], repair: bool, progress: Progress) -> dict[str, Result]:
    """Every case in detect mode, and faulty ones in repair mode too when `repair`."""
    total = sum(2 if repair and case.expect else 1 for case in cases)
    task = progress.add_task("fault benchmark", total=total)
    results: dict[str, Result] = {}
    with tempfile.TemporaryDirectory(prefix="trainwell-faults-") as tmp:
        for case in cases:
            progress.update(task, description=f"{case.name} (detect)")
            result = Result(case, fit(case, "detect", Path(tmp)))
            progress.advance(task)
            if repair and result.faulty:
                progress.update(task, description=f"{case.name} (repair)")
                result.repair = fit(case, "repair", Path(tmp))
                progress.advance(task)
            results[case.name] = result
    return results


# --- totals -------------------------------------------------------------------------------


def baseline(results: dict[str, Result], case: Case) -> Outcome | None:
    """The detect-mode outcome of the healthy config of `case`'s dataset, if there is one."""
    healthy = results.get(f"healthy-{case.dataset}")
    return healthy.detect if healthy and case.expect else None


def repaired(results: dict[str, Result], result: Result) -> bool | None:
    """Whether the repair-mode run reached REPAIRED_SHARE of its baseline; None: unknown."""
    base = baseline(results, result.case)
    if result.repair is None or base is None or base.score is None:
        return None
    score = result.repair.score
    return score is not None and score >= REPAIRED_SHARE * base.score


def time_ratio(results: dict[str, Result], result: Result) -> float | None:
    """Wall time of the repair-mode run over the healthy baseline's."""
    base = baseline(results, result.case)
    if result.repair is None or base is None or base.seconds <= 0:
        return None
    return result.repair.seconds / base.seconds


def self_ratio(result: Result) -> float | None:
    """Wall time of the repair-mode run over the detect-mode run of the same config: what
    the repairs (rollbacks, rebuilt models, retried epochs) cost on top of the same budget."""
    if result.repair is None or result.detect.seconds <= 0:
        return None
    return result.repair.seconds / result.detect.seconds


def totals(results: dict[str, Result]) -> dict[str, Any]:
    faulty = [r for r in results.values() if r.faulty]
    healthy = [r for r in results.values() if not r.faulty]
    misses = {r.case.name: r.detect.codes for r in faulty if r.case.expect not in r.detect.codes}
    early = [r for r in faulty if r.case.expect in EARLY_CODES]
    late = [r.case.name for r in early if not (r.detect.first and r.detect.first["epoch"] == 0)]
    repairs = {r.case.name: repaired(results, r) for r in faulty}
    judged = [ok for ok in repairs.values() if ok is not None]
    ratios = [x for x in (time_ratio(results, r) for r in faulty) if x is not None]
    own = [x for x in (self_ratio(r) for r in faulty) if x is not None]
    return {
        "faulty": len(faulty),
        "healthy": len(healthy),
        "recall": _share(len(faulty) - len(misses), len(faulty)),
        "misses": misses,
        "false_positives": {r.case.name: r.detect.codes for r in healthy if r.detect.codes},
        "early_detection": _share(len(early) - len(late), len(early)),
        "not_in_epoch_0": late,
        "repair_rate": _share(sum(judged), len(judged)),
        "not_repaired": [name for name, ok in repairs.items() if ok is False],
        "time_ratio_median": statistics.median(ratios) if ratios else None,
        "time_ratio_max": max(ratios) if ratios else None,
        "self_ratio_median": statistics.median(own) if own else None,
        "self_ratio_max": max(own) if own else None,
        "no_baseline": sorted({r.case.dataset for r in faulty if not baseline(results, r.case)}),
        "seconds": round(sum(o.seconds for r in results.values() for o in _outcomes(r)), 1),
    }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _outcomes(result: Result) -> list[Outcome]:
    return [result.detect] + ([result.repair] if result.repair else [])


# --- output -------------------------------------------------------------------------------


def table(results: dict[str, Result]) -> Table:
    out = Table(title="fault benchmark (test accuracy; r2 for regression)")
    out.add_column("config", no_wrap=True)
    out.add_column("expected", no_wrap=True)
    out.add_column("detected (warning/error)", ratio=1)
    out.add_column("info")
    out.add_column("first found", no_wrap=True)
    for column in ("detect", "repair", "healthy", "time vs healthy", "vs detect"):
        out.add_column(column, justify="right", no_wrap=True)
    faulty = [r for r in results.values() if r.faulty]
    healthy = [r for r in results.values() if not r.faulty]
    for result in faulty + healthy:
        out.add_row(
            result.case.name,
            result.case.expect or "[dim]healthy[/]",
            _detected(result),
            ", ".join(result.detect.info),
            _first(result.detect.first),
            _score(result.detect),
            _score(result.repair, repaired(results, result)),
            _score(baseline(results, result.case)),
            _ratio(time_ratio(results, result)),
            _ratio(self_ratio(result)),
            end_section=result is faulty[-1],
        )
    return out


def _detected(result: Result) -> str:
    outcome, expect = result.detect, result.case.expect
    if outcome.status.startswith("failed"):
        return f"[red]{escape(outcome.status)}[/]"
    codes = [f"[bold]{code}[/]" if code == expect else code for code in outcome.codes]
    good = expect in outcome.codes if expect else not outcome.codes
    return f"[{'green' if good else 'red'}]{', '.join(codes) or 'none'}[/]"


def _first(first: dict[str, int | None] | None) -> str:
    if not first:
        return ""
    step = first["step"]
    return f"epoch {first['epoch']}" + (f", step {step}" if step is not None else "")


def _score(outcome: Outcome | None, ok: bool | None = None) -> str:
    if outcome is None:
        return ""
    text = "-" if outcome.score is None else f"{outcome.score:.3f}"
    return text if ok is None else f"[{'green' if ok else 'red'}]{text}[/]"


def _ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}x"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def summary_lines(t: dict[str, Any], repair: bool) -> list[str]:
    lines = [
        f"detection recall: {_pct(t['recall'])} of {t['faulty']} faulty configs (goal 100%)",
        f"false positives: {len(t['false_positives'])} of {t['healthy']} healthy configs (goal 0)",
        f"gradient/activation problems detected in epoch 0: {_pct(t['early_detection'])} "
        f"(goal 100%)",
    ]
    if repair:
        lines += [
            f"repair rate: {_pct(t['repair_rate'])} reach {REPAIRED_SHARE:.0%} of the healthy "
            f"baseline (goal >= 98%)",
            f"repair/healthy time (CPU s): median {_ratio(t['time_ratio_median'])}, max "
            f"{_ratio(t['time_ratio_max'])} (goal <= 1.50x)",
            f"repair/detect time of the same config: median "
            f"{_ratio(t['self_ratio_median'])}, max {_ratio(t['self_ratio_max'])}",
        ]
    else:
        lines.append("repair rate: n/a (--detect-only)")
    lines += [f"  missed: {n} (found: {', '.join(c) or 'nothing'})" for n, c in t["misses"].items()]
    lines += [f"  false positive: {n}: {', '.join(c)}" for n, c in t["false_positives"].items()]
    lines += [f"  not found in epoch 0: {name}" for name in t["not_in_epoch_0"]]
    lines += [f"  not repaired: {name}" for name in t["not_repaired"]]
    if t["no_baseline"]:
        lines.append(f"  no healthy baseline for: {', '.join(t['no_baseline'])}")
    lines.append(f"total fit time: {t['seconds']}s")
    return lines


def as_json(results: dict[str, Result], t: dict[str, Any], repair: bool) -> str:
    configs = {}
    for name, result in results.items():
        base = baseline(results, result.case)
        configs[name] = {
            "expect": result.case.expect,
            "dataset": result.case.dataset,
            "detect": asdict(result.detect),
            "repair": asdict(result.repair) if result.repair else None,
            "baseline": base.score if base else None,
            "repaired": repaired(results, result),
            "time_ratio": time_ratio(results, result),
            "self_ratio": self_ratio(result),
        }
    return json.dumps({"repair_mode": repair, "configs": configs, "totals": t})


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/faults", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--only", choices=TRAINING_CODES, help="only faulty configs expecting CODE")
    parser.add_argument("--detect-only", action="store_true", help="skip repair mode")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)  # small models: steadier timings, no thread contention
    repair = not args.detect_only
    stderr = Console(stderr=True)
    with Progress(console=stderr, disable=not stderr.is_terminal, transient=True) as progress:
        results = run_all(discover(args.only), repair, progress)
    t = totals(results)
    if args.json:
        print(as_json(results, t, repair))
        return 0
    console = Console(width=max(Console().width, 180))  # a wide table, also in a pipe
    console.print(table(results))
    for line in summary_lines(t, repair):
        console.print(escape(line), highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
