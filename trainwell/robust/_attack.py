"""`attack(run)`: robust accuracy against ε under FGSM and PGD, the checks against gradient
masking, and the findings; written to `RUN_DIR/attack/`.

By default every ε of the curve is attacked with FGSM and PGD; at the run's `attack.eps`
the checks add a stronger PGD (4× the steps, 2 more restarts), a gradient-free random
search, and PGD at an ε that covers the whole valid range. Rows the model already gets
wrong count as broken and are not attacked.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ..config import Attack
from ..errors import InputError
from ..findings import Finding
from ..pipeline import Run, load_run
from ..train import NORMS, Box, Norm, choose_threads, perturb, resolve_device, use_threads
from . import _checks as checks
from ._checks import Check, Measurement
from ._examples import image_examples, moved_features
from ._inputs import attack_inputs
from ._search import random_search

DEFAULT_EPS = {"linf": 0.1, "l2": 1.0}  # attack.eps when the config leaves it empty
CURVE = (0.25, 0.5, 1.0, 2.0, 3.0)  # the default curve, in multiples of attack.eps
SEARCH_QUERIES = 300  # the gradient-free check's budget per row
CHUNK = 512  # rows attacked at once


@dataclass
class Robustness:
    """What `attack` measured (the `--json` object of `trainwell attack`)."""

    run_dir: Path
    clean_accuracy: float
    results: list[Measurement]
    checks: list[Check]
    findings: list[Finding]
    eps: float  # attack.eps: where the checks and findings look
    norm: str
    unit: str
    rows: int
    robust_accuracy: float  # worst case over every attack at `eps`
    seconds: float
    moved_features: list[dict[str, Any]] = field(default_factory=list)  # tables
    examples_eps: float | None = None  # the ε of the pictures: attack.eps, or the first that
    # fooled a row when attack.eps fooled none

    def summary(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "clean_accuracy": self.clean_accuracy,
            "results": [
                {k: v for k, v in r.to_dict().items() if k != "restarts"} for r in self.results
            ],
            "checks": [c.to_dict() for c in self.checks],
            "findings": [f.to_dict() for f in self.findings],
            "eps": self.eps,
            "norm": self.norm,
            "unit": self.unit,
            "rows": self.rows,
            "robust_accuracy": self.robust_accuracy,
            "seconds": round(self.seconds, 3),
            "moved_features": self.moved_features,
            "examples_eps": self.examples_eps,
        }


def attack(
    run: Run | str | Path,
    *,
    eps: float | Sequence[float] | None = None,
    norm: str | None = None,
    steps: int | None = None,
    restarts: int | None = None,
    rows: int | None = None,
    progress: bool = False,
) -> Robustness:
    """Attack a classification run's test rows and write `RUN_DIR/attack/`.

    `eps` (one or several) are the points of the curve, in the run's ε unit (a fraction of
    the pixel range for images, standard deviations per feature for tables); the run's
    `attack.eps` is always among them. Other arguments default to the `attack` section of
    the run's config.
    """
    run = run if isinstance(run, Run) else load_run(run)
    spec = _settings(run.config.attack, norm, steps, restarts, rows)
    judged = spec.eps or DEFAULT_EPS[spec.norm]
    curve = _curve(eps, judged)
    started = time.perf_counter()
    inputs = attack_inputs(run, spec.rows)
    device = resolve_device(run.config.train.device)
    model = run.model.to(device).eval()
    x, y, box = inputs.x.to(device), inputs.y.to(device), inputs.box.to(device)
    threads = _threads(run.config.train.threads, model, x)
    with torch.random.fork_rng(devices=[]), threads, _progress(progress) as bar:
        torch.manual_seed(run.config.seed)
        correct = _predict(model, x) == y
        runner = _Runner(model, x, y, correct, box, spec.norm, bar, curve=curve, judged=judged)
        results = []
        for e in curve:
            results.append(runner.gradient("fgsm", e, steps=1, restarts=1))
            results.append(runner.gradient("pgd", e, steps=spec.steps, restarts=spec.restarts))
        pgd = next(r for r in results if r.attack == "pgd" and r.eps == judged)
        strong = runner.gradient("pgd", judged, steps=4 * spec.steps, restarts=spec.restarts + 2)
        search = runner.search(judged)
        large = runner.gradient("pgd", box.diameter(spec.norm), steps=spec.steps, restarts=1)
        robust = _share(runner.survivors(judged))
    found = [
        checks.falls_with_eps(results),
        checks.pgd_beats_fgsm(results),
        checks.more_effort_no_better(pgd, strong),
        checks.large_eps_breaks(large),
        checks.gradient_free_no_better(pgd, search),
    ]
    clean = _share(correct)
    result = Robustness(
        Path(run.run_dir).resolve(),
        clean,
        results,
        found,
        checks.robustness_findings(
            found,
            clean=clean,
            robust=robust,
            pgd=pgd.accuracy,
            eps=judged,
            norm=spec.norm,
            unit=inputs.unit,
        ),
        judged,
        spec.norm,
        inputs.unit,
        len(y),
        robust,
        time.perf_counter() - started,
    )
    result.examples_eps = runner.shown  # the judged ε if PGD fooled a row there, else the smallest
    adv, before, after = runner.example(result.examples_eps or judged)
    result.moved_features = moved_features(model, inputs, adv, before, after)
    from ._write import write_attack_dir  # matplotlib: only once there is something to draw

    write_attack_dir(result, image_examples(inputs, adv, before, after))
    return result


def _settings(
    spec: Attack, norm: str | None, steps: int | None, restarts: int | None, rows: int | None
) -> Attack:
    """The run's `attack` section with the arguments given; a bad one is one InputError."""
    if norm is not None and norm not in NORMS:
        raise InputError(f"unknown norm {norm!r}: use one of {', '.join(NORMS)}")
    for name, value in (("steps", steps), ("restarts", restarts), ("rows", rows)):
        if value is not None and value < 1:
            raise InputError(f"{name} must be at least 1; got {value}")
    given = {"norm": norm, "steps": steps, "restarts": restarts, "rows": rows}
    return spec.model_copy(update={k: v for k, v in given.items() if v is not None})


def _curve(eps: float | Sequence[float] | None, judged: float) -> list[float]:
    if eps is None:  # rounded for the JSON (0.1 * 3 is 0.30000000000000004), judged exact
        return sorted({float(f"{judged * f:.6g}") for f in CURVE if f != 1.0} | {judged})
    values = [eps] if isinstance(eps, int | float) else list(eps)
    for value in values:
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            raise InputError(f"every ε must be a positive number; got {value!r}")
    return sorted({float(v) for v in values} | {judged})


class _Runner:
    """Runs attacks on the rows the model gets right, remembering which rows survive."""

    def __init__(
        self,
        model: torch.nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        correct: torch.Tensor,
        box: Box,
        norm: Norm,
        bar: Progress | None,
        *,
        curve: list[float],
        judged: float,
    ) -> None:
        self.model, self.x, self.y, self.box, self.norm, self.bar = model, x, y, box, norm, bar
        self.correct = correct
        self.survived: dict[tuple[str, float], torch.Tensor] = {}
        self.curve, self.judged = set(curve), judged
        # PGD's inputs (a copy of the rows each) only where the examples may be shown: at
        # the judged ε, and at the smallest ε of the curve that fooled a row while the
        # judged one has not (yet); `shown` is the ε the examples are shown at, once known
        self.adversarial: dict[float, torch.Tensor] = {}
        self.shown: float | None = None

    def gradient(self, name: str, eps: float, *, steps: int, restarts: int) -> Measurement:
        def one(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return perturb(
                self.model,
                x,
                y,
                self.box,
                eps,
                norm=self.norm,
                steps=steps,
                step_size=eps if name == "fgsm" else None,
                random_start=name != "fgsm",
                restarts=restarts,
            )

        label = f"{name.upper()}{f'-{steps}' if name == 'pgd' else ''} ε {eps:.3g}"
        accuracy = self._run(f"{name}-{steps}-{restarts}", eps, one, label)
        return Measurement(name, self.norm, eps, steps, accuracy, restarts)

    def search(self, eps: float) -> Measurement:
        generator = torch.Generator().manual_seed(0)

        def one(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return random_search(
                self.model,
                x,
                y,
                self.box,
                eps,
                norm=self.norm,
                queries=SEARCH_QUERIES,
                generator=generator,
            )

        accuracy = self._run("search", eps, one, f"random search ε {eps:.3g}")
        return Measurement("random_search", self.norm, eps, SEARCH_QUERIES, accuracy)

    def _run(
        self,
        key: str,
        eps: float,
        one: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        label: str,
    ) -> float:
        task = self.bar.add_task(label, total=int(self.correct.sum())) if self.bar else None
        survived = self.correct.clone()
        adversarial = self.x.clone()
        todo = self.correct.nonzero().flatten()
        for index in todo.split(CHUNK):
            adv = one(self.x[index], self.y[index])
            adversarial[index] = adv
            survived[index] = _predict(self.model, adv) == self.y[index]
            if self.bar:
                self.bar.advance(task, len(index))
        self.survived[(key, eps)] = survived
        if key.startswith("pgd") and eps in self.curve and eps not in self.adversarial:
            self._keep(eps, adversarial, fooled=bool((self.correct & ~survived).any()))
        return _share(survived)

    def _keep(self, eps: float, adversarial: torch.Tensor, *, fooled: bool) -> None:
        """The curve runs from small ε to large, each ε's PGD first."""
        if eps == self.judged:
            self.adversarial[eps] = adversarial
            if fooled:  # shown here: the smaller ε's copies are not needed
                self.shown, self.adversarial = eps, {eps: adversarial}
        elif fooled and self.shown is None:
            self.shown, self.adversarial[eps] = eps, adversarial

    def survivors(self, eps: float) -> torch.Tensor:
        """Rows that survive every attack run at `eps`: the worst case."""
        at = [s for (_, e), s in self.survived.items() if e == eps]
        return torch.stack(at).all(0)

    def example(self, eps: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """PGD's adversarial inputs at `eps`, and the predictions before and after."""
        adv = self.adversarial[eps]
        return adv, _predict(self.model, self.x), _predict(self.model, adv)


def _share(rows: torch.Tensor) -> float:
    return round(rows.float().mean().item(), 6)


@torch.no_grad()
def _predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([model(chunk).argmax(1) for chunk in x.split(CHUNK)])


def _threads(
    requested: str | int, model: torch.nn.Module, x: torch.Tensor
) -> contextlib.AbstractContextManager[None]:
    """The run's `train.threads` (auto: from the work of one step on a chunk of rows, as
    fit chooses): small models on busy cores lose far more to threads waiting on each other
    than they gain (digits mlp on 2 busy cores: 1 s on one thread, 27-37 s on two)."""
    if x.device.type != "cpu":
        return use_threads(None)
    return use_threads(choose_threads(requested, model, x, min(len(x), CHUNK)).threads)


def _progress(show: bool) -> Any:
    """A bar per attack on stderr, or nothing (under --json, in a pipe, from Python)."""
    if not show:
        return contextlib.nullcontext(None)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} rows"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
