"""The public verbs: each runs its job through the layers below, then writes the page a
person reads (`report.html`) into the directory the job wrote.

`report=False` skips the page (about a second): `trainwell report DIR` writes it later.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from . import pipeline
from . import tune as tuning
from .config import ConfigLike
from .pipeline import Audit, Run
from .train import Callback
from .tune import TuneResult


def fit(
    config: ConfigLike = None,
    *,
    model: nn.Module | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
    checkpoints: bool = True,
    report: bool = True,
    **overrides: Any,
) -> Run:
    """Train the run described by `config` (a YAML path, a dict or a `RunConfig`).

    Keyword overrides use `__` for dots: `fit("run.yaml", train__lr=0.01)`. Pass `model`
    to train your own `nn.Module` on the configured data, `callbacks` to add your own
    Trainer callbacks. `checkpoints=False` skips the per-epoch checkpoint (the run cannot
    be resumed).
    """
    run = pipeline.fit(
        config,
        model=model,
        out=out,
        progress=progress,
        callbacks=callbacks,
        checkpoints=checkpoints,
        **overrides,
    )
    return _with_report(run, run.run_dir, report)


def resume(
    run_dir: str | Path,
    *,
    model: nn.Module | None = None,
    progress: bool = False,
    report: bool = True,
) -> Run:
    """Continue a killed run from its last checkpoint, in the same directory."""
    run = pipeline.resume(run_dir, model=model, progress=progress)
    return _with_report(run, run.run_dir, report)


def audit(
    config: ConfigLike = None,
    *,
    out: str | Path | None = None,
    progress: bool = False,
    report: bool = True,
    **overrides: Any,
) -> Audit:
    """Audit the data of `config` without training, in its own directory."""
    result = pipeline.audit(config, out=out, progress=progress, **overrides)
    return _with_report(result, result.run_dir, report)


def tune(
    config: ConfigLike = None,
    *,
    trials: int = 20,
    sampler: str = "tpe",
    pruner: str = "hyperband",
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    out: str | Path | None = None,
    progress: bool = False,
    report: bool = True,
) -> TuneResult:
    """Search the config's `tune:` space (or the default one) until the study has `trials`.

    TPE with Hyperband pruning by default; a study in `<out>/tune-<study>/` continues where
    it stopped. Returns the trials, the best one, its config (`best.yaml`, ready for
    `trainwell fit`) and parameter importances.
    """
    result = tuning.tune(
        config,
        trials=trials,
        sampler=sampler,
        pruner=pruner,
        storage=storage,
        study=study,
        workers=workers,
        out=out,
        progress=progress,
    )
    return _with_report(result, result.run_dir, report)


def _with_report(result: Any, directory: Path, report: bool) -> Any:
    if report:
        from .report import write_report_or_warn  # matplotlib takes a second to import

        write_report_or_warn(directory)  # the job is complete on disk: a failure warns
    return result
