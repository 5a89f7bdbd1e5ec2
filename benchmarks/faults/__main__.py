"""The fault benchmark: does the training doctor find, name first, and repair textbook faults?

Every YAML file under `configs/<split>/` is a complete trainwell run config. A faulty one is
named `<expected_code>-<n>.yaml` (or carries `# expect: <code>` in its first lines) and holds
one textbook fault built only from config keys; a healthy one is `healthy-<dataset>[-...]`.
The suite has two halves: `dev` and `dev-2`, on which the doctor's thresholds and remedy
orders may be tuned, and `held-out` to `held-out-51`, written from the textbook definition
of each fault on other datasets, architectures and seeds (including shapes28, 28x28 images
this benchmark draws itself, see `_shapes.py`), and reported apart. `held-out-2` to
`held-out-51` were written blind, each after the rounds before it had been looked at per
config: the newest, `held-out-51`, shows how the doctor fares on runs nobody tuned it on.

Each config runs over `--seeds N` seeds (the config's `seed`, +1, +2, ...; a fixed
`data.synthetic.seed` moves with it), faulty ones in detect and in repair mode, healthy
ones in detect mode: `healthy-<source>` (`healthy-<source>-cnn` for a cnn) is the baseline
of its dataset in its split, seed by seed. `_scoring.py` defines the verdicts: repaired
(>= 90% of the baseline AND >= 0.05 above detect mode), harmless (detect mode already >= 90%:
nothing to repair), failed, and a config repaired only on every seed its fault hurt.
A faulty config may name its fault-free twin, `# twin: {model: {init: {bias: 0}}}` in its
leading comments (the keys that undo its fault, nothing else): the twin runs in detect mode
on every seed, and the `vs twin` columns judge the repair against it too, telling a repair
that did not undo the fault from a recipe weaker than its dataset's healthy one. The codes
its detect runs raise are listed apart from the false alarms (`twin alarm:`): a twin is a
fault-free recipe, not one its writer vouched for as healthy.

Columns, per split: recall (the expected code among the warning/error findings, over runs),
false alarms (healthy runs with any warning/error finding), repair rate (mean +- sd of the
per-seed rates) and configs repaired on all/some/no seeds, harmless configs, primary
diagnosis right (the expected code is the first one found), extra codes (other
warning/error codes on faulty runs), gradient/activation faults found in epoch 0, and the
repaired run's CPU time over the healthy baseline's. Goals on the held-out half: recall
100%, no false alarm, repair >= 95% (configs repaired on all seeds), primary diagnosis right
>= 90%, epoch 0 100%, time <= 1.5x.

Usage: python benchmarks/faults [--split dev|dev-2|held-out|held-out-2|...|held-out-51|all]
                                [--seeds N] [--only CODE] [--detect-only] [--jobs K] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import yaml
from _scoring import Case, Outcome, Result, config_verdict, extra_codes, totals
from _shapes import write_shapes
from _tables import detail_table, goal_lines, summary_table
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

import trainwell
from trainwell.config import Split, Synthetic
from trainwell.errors import InputError
from trainwell.findings import TRAINING_CODES

CONFIGS = Path(__file__).resolve().with_name("configs")
SPLITS = (
    "dev",
    "dev-2",
    "held-out",
    "held-out-2",
    "held-out-3",
    "held-out-4",
    "held-out-5",
    "held-out-6",
    "held-out-7",
    "held-out-8",
    "held-out-9",
    "held-out-10",
    "held-out-11",
    "held-out-12",
    "held-out-13",
    "held-out-14",
    "held-out-15",
    "held-out-16",
    "held-out-17",
    "held-out-18",
    "held-out-19",
    "held-out-20",
    "held-out-21",
    "held-out-22",
    "held-out-23",
    "held-out-24",
    "held-out-25",
    "held-out-26",
    "held-out-27",
    "held-out-28",
    "held-out-29",
    "held-out-30",
    "held-out-31",
    "held-out-32",
    "held-out-33",
    "held-out-34",
    "held-out-35",
    "held-out-36",
    "held-out-37",
    "held-out-38",
    "held-out-39",
    "held-out-40",
    "held-out-41",
    "held-out-42",
    "held-out-43",
    "held-out-44",
    "held-out-45",
    "held-out-46",
    "held-out-47",
    "held-out-48",
    "held-out-49",
    "held-out-50",
    "held-out-51",
)
GENERATED = {"shapes28.npz": write_shapes}  # data.source names the benchmark draws itself

Task = tuple[Case, str, int, Path]  # case, doctor mode, seed index, scratch directory


# --- configs ------------------------------------------------------------------------------


def discover(split: str, only: str | None = None) -> list[Case]:
    """Healthy configs first (they are the baselines), then faulty ones, by code and number."""
    cases = sorted((_case(p, split) for p in (CONFIGS / split).glob("*.yaml")), key=_order)
    return [c for c in cases if not c.faulty or only in (None, c.expect)]


def _order(case: Case) -> tuple[int, str, int]:
    rank = TRAINING_CODES.index(case.expect) if case.expect else -1
    stem, _, number = case.name.rpartition("-")
    return (rank, stem, int(number)) if number.isdigit() else (rank, case.name, 0)


def _case(path: Path, split: str) -> Case:
    raw = yaml.safe_load(path.read_text()) or {}
    data = raw.get("data", {})
    source = str(data.get("source", "digits"))
    arch = raw.get("model", {}).get("arch", "mlp")
    dataset = Path(source).stem + ("-cnn" if arch == "cnn" else "")
    rows = tuple(sorted((data.get("split") or {}).items()))
    seed = int(raw.get("seed", 0))
    expect = _expected_code(path)
    twin = _twin(path) if expect else ()
    return Case(path.stem, path, split, expect, dataset, seed, rows, _samples(data), twin)


def _samples(data: dict[str, Any]) -> int | None:
    """The rows drawn of `data.source: synthetic` (its default where not given); else None."""
    if str(data.get("source", "digits")) != "synthetic":
        return None
    default = Synthetic.model_fields["samples"].default
    return int((data.get("synthetic") or {}).get("samples", default))


def _expected_code(path: Path) -> str | None:
    """`# expect: CODE` in the leading comments, else the file name's `<code>-<n>`."""
    code = _leading(path, r"expect:\s*(\w+)")
    if code is not None:
        return _known(code, path)
    if path.stem.startswith("healthy"):
        return None
    return _known(path.stem.rsplit("-", 1)[0], path)


def _twin(path: Path) -> tuple[tuple[str, Any], ...]:
    """`# twin: {...}` in the leading comments, a YAML flow mapping of the keys that undo
    the fault, as the overrides `fit` takes (`{model: {init: {bias: 0}}}`:
    `model__init__bias`); () without one."""
    text = _leading(path, r"twin:\s*(.+)")
    if text is None:
        return ()
    mapping = yaml.safe_load(text)
    if not isinstance(mapping, dict) or not mapping:
        raise SystemExit(f"{path}: `# twin:` is not a mapping of config keys: {text}")
    return tuple(_flatten(mapping))


def _leading(path: Path, pattern: str) -> str | None:
    """The group `pattern` matches in the first of the file's leading comment lines it
    matches (after `#`); None where none does."""
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        match = re.match(rf"#\s*{pattern}", line)
        if match:
            return match.group(1)
    return None


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            pairs += _flatten(value, f"{prefix}{key}__")
        else:
            pairs.append((f"{prefix}{key}", value))
    return pairs


def twins(cases: list[Case]) -> list[Case]:
    """The fault-free twin of each faulty config that names one: the config given the
    overrides that undo its fault, run in detect mode like a baseline."""
    return [
        dataclasses.replace(c, name=_twin_name(c), expect=None, twin=(), overrides=c.twin)
        for c in cases
        if c.faulty and c.twin
    ]


def _twin_name(case: Case) -> str:
    return f"twin@{case.name}"


def _known(code: str, path: Path) -> str | None:
    if code == "healthy":
        return None
    if code not in TRAINING_CODES:
        raise SystemExit(f"{path}: unknown expected code {code!r}; known: {TRAINING_CODES}")
    return code


def same_rows_baselines(cases: list[Case]) -> list[Case]:
    """The baselines of the faulty configs that train on other rows than their dataset's
    healthy config (another `data.split`, or fewer or more rows drawn of a generated
    problem): that healthy config given the faulty one's split, rows and seed, so that it
    trains on the same rows."""
    healthy = {(c.split, c.dataset): c for c in cases if not c.faulty}
    baselines = []
    for case in cases:
        base = healthy.get((case.split, case.dataset))
        if case.faulty and base is not None and _rows(case) != _rows(base):
            name = _same_rows_name(case)
            baselines.append(
                dataclasses.replace(
                    base, name=name, seed=case.seed, rows=case.rows, samples=case.samples
                )
            )
    return baselines


def _rows(case: Case) -> dict[str, Any]:
    return Split(**dict(case.rows)).model_dump() | {"samples": case.samples}


def _same_rows_name(case: Case) -> str:
    return f"healthy-{case.dataset}@{case.name}"


def seed_overrides(case: Case, index: int, data_dir: Path) -> dict[str, Any]:
    """The config's seed moved by `index`, and anything seeded with it; generated data; the
    rows it trains on (`Case.rows`: a same-rows baseline's are not its file's)."""
    raw = yaml.safe_load(case.path.read_text()) or {}
    data = raw.get("data", {})
    overrides: dict[str, Any] = {"seed": case.seed + index}
    overrides |= {f"data__split__{key}": value for key, value in case.rows}
    if case.samples != _samples(data):  # a same-rows baseline of a generated problem
        overrides["data__synthetic__samples"] = case.samples
    fixed = data.get("synthetic", {}).get("seed")
    if fixed is not None:
        overrides["data__synthetic__seed"] = int(fixed) + index
    if str(data.get("source")) in GENERATED:
        overrides["data__source"] = str(data_dir / str(data["source"]))
    return overrides


# --- fitting ------------------------------------------------------------------------------


def fit(task: Task) -> Outcome:
    """Train one config, one seed, in one doctor mode; a run that fails or crashes is
    recorded (with no score), so one bug does not end the benchmark."""
    case, mode, index, scratch = task
    torch.set_num_threads(1)  # small models: steadier timings, no contention between jobs
    out = Path(tempfile.mkdtemp(dir=scratch))
    started = time.process_time()  # CPU time: immune to other processes' load
    try:
        run = trainwell.fit(
            case.path,
            out=out,
            doctor__mode=mode,
            progress=False,
            report=False,
            # One thread, not "auto": auto counts the CPUs free at the start, which depend on
            # the other job, and a different thread count sums in a different order: a run
            # need not repeat itself bit for bit.
            train__threads=1,
            **(seed_overrides(case, index, scratch) | dict(case.overrides)),
        )
    except InputError as exc:
        return Outcome(f"failed: {exc}", "accuracy", None, time.process_time() - started, [])
    except Exception as exc:  # a crash of trainwell is a result, not the end
        crash = f"crashed: {type(exc).__name__}: {exc}"
        return Outcome(crash, "accuracy", None, time.process_time() - started, [])
    finally:
        seconds = time.process_time() - started
        shutil.rmtree(out, ignore_errors=True)
    training = [f for f in run.findings if f.source == "training"]
    problems = [f for f in training if f.severity in ("warning", "error")]
    hit = next((f for f in problems if f.code == case.expect), None)
    metric = "accuracy" if "test_accuracy" in run.metrics else "r2"
    return Outcome(
        status=run.status,
        metric=metric,
        score=_finite(run.metrics.get(f"test_{metric}")),
        seconds=seconds,
        codes=list(dict.fromkeys(f.code for f in problems)),
        info=list(dict.fromkeys(f.code for f in training if f.severity == "info")),
        first={"epoch": hit.epoch, "step": hit.step} if hit else None,
        repairs=[_repair_label(r) for r in run.repairs],
    )


def _finite(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and value == value else None


def _repair_label(repair: dict[str, Any]) -> str:
    cured = repair.get("cured")
    return f"{repair.get('remedy')}{'' if cured or cured is None else ' (not cured)'}"


def run_all(
    cases: list[Case], seeds: int, repair: bool, jobs: int, progress: Progress
) -> list[Result]:
    """Every case and seed in detect mode, faulty ones in repair mode too when `repair`."""
    with tempfile.TemporaryDirectory(prefix="trainwell-faults-") as tmp:
        scratch = Path(tmp)
        for name, write in GENERATED.items():
            write(scratch / name)
        tasks: list[Task] = [
            (case, mode, i, scratch)
            for case in cases + same_rows_baselines(cases) + twins(cases)
            for i in range(seeds)
            for mode in (("detect", "repair") if repair and case.faulty else ("detect",))
        ]
        task_bar = progress.add_task("fault benchmark", total=len(tasks))
        done: dict[tuple[str, str, str, int], Outcome] = {}
        for task, outcome in zip(tasks, _map(tasks, jobs), strict=True):
            case, mode, i, _ = task
            done[(case.split, case.name, mode, i)] = outcome
            progress.update(task_bar, advance=1, description=f"{case.split}/{case.name} ({mode})")
    return [_result(case, seeds, done) for case in cases]


def _map(tasks: list[Task], jobs: int):
    """Outcomes in the order of `tasks`, from `jobs` processes (forked: the data is ready)."""
    if jobs <= 1:
        yield from map(fit, tasks)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        yield from pool.map(fit, tasks)


def _result(case: Case, seeds: int, done: dict[tuple[str, str, str, int], Outcome]) -> Result:
    same_rows = (case.split, _same_rows_name(case), "detect", 0) in done
    base_name = _same_rows_name(case) if same_rows else f"healthy-{case.dataset}"
    return Result(
        case,
        detect=[done[(case.split, case.name, "detect", i)] for i in range(seeds)],
        repair=[done.get((case.split, case.name, "repair", i)) for i in range(seeds)],
        base=[
            done.get((case.split, base_name, "detect", i)) if case.faulty else None
            for i in range(seeds)
        ],
        same_rows=same_rows,
        twin=[done.get((case.split, _twin_name(case), "detect", i)) for i in range(seeds)]
        if case.twin
        else [],
    )


# --- output -------------------------------------------------------------------------------


def as_json(by_split: dict[str, list[Result]], seeds: int, repair: bool) -> str:
    splits = {}
    for split, results in by_split.items():
        configs = {
            r.case.name: {
                "expect": r.case.expect,
                "dataset": r.case.dataset,
                "seeds": [r.case.seed + i for i in range(seeds)],
                "detect": [asdict(o) for o in r.detect],
                "repair": [asdict(o) if o else None for o in r.repair],
                "baseline": [b.score if b else None for b in r.base],
                "baseline_on_its_rows": r.same_rows,
                "twin": [t.score if t else None for t in r.twin] or None,
                "twin_verdicts": r.twin_verdicts() or None,
                "twin_codes": [t.codes if t else None for t in r.twin] or None,
                "verdicts": r.verdicts() if r.case.faulty else None,
                "verdict": config_verdict(r.verdicts()) if r.case.faulty and repair else None,
                "extra_codes": [extra_codes(o, r.case.expect) for o in r.detect]
                if r.case.faulty
                else None,
            }
            for r in results
        }
        splits[split] = {"configs": configs, "totals": totals(results, repair)}
    return json.dumps({"seeds": seeds, "repair_mode": repair, "splits": splits})


# --- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/faults", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all")
    parser.add_argument("--seeds", type=_positive, default=3, help="seeds per config (3)")
    parser.add_argument("--only", choices=TRAINING_CODES, help="only faulty configs expecting CODE")
    parser.add_argument("--detect-only", action="store_true", help="skip repair mode")
    parser.add_argument("--jobs", type=_positive, default=1, help="processes (1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repair = not args.detect_only
    splits = SPLITS if args.split == "all" else (args.split,)
    cases = [case for split in splits for case in discover(split, args.only)]
    stderr = Console(stderr=True)
    started = time.monotonic()
    with Progress(console=stderr, disable=not stderr.is_terminal, transient=True) as progress:
        results = run_all(cases, args.seeds, repair, args.jobs, progress)
    wall = time.monotonic() - started
    by_split = {s: [r for r in results if r.case.split == s] for s in splits}
    if args.json:
        print(as_json(by_split, args.seeds, repair))
        return 0
    console = Console(width=max(Console().width, 200))  # wide tables, also in a pipe
    for split, split_results in by_split.items():
        console.print(detail_table(split, split_results, repair))
    figures = {split: totals(r, repair) for split, r in by_split.items()}
    console.print(summary_table(figures, args.seeds, repair))
    for line in goal_lines(figures, repair):
        console.print(escape(line), highlight=False)
    console.print(f"wall time: {wall:.0f}s with --jobs {args.jobs}", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
