"""`tune`: an Optuna study over the config's search space, run by one or K worker processes.

The study lives in `<out>/tune-<study>/` with the trials' own run directories under
`trials/`. Its default storage is an Optuna journal file in that directory, written under a
file lock, so K local processes share it without "database is locked" errors and a rerun
with the same `--study` continues it. `--trials N` is the size the study should reach: a
rerun after a crash runs only the missing trials. Any Optuna RDB URL
(`postgresql://user@host/db`) lets workers on many machines share one study, with heartbeats
that retry the trials of a dead worker (see `_storage`).
"""

from __future__ import annotations

import fcntl
import math
import multiprocessing
import os
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import torch
import yaml

from ..config import ConfigLike, load_config
from ..errors import ConfigError, InputError
from ..pipeline import plan_run, remembered_audits
from ..runs import default_out, write_json, write_yaml
from ._report import TuneResult, collect
from ._space import Space, parse_space
from ._storage import StopAt, counted, display, fail_stale, open_storage, open_study, worker_seed
from ._trial import make_objective, objective_metric

SAMPLERS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("hyperband", "median", "none")
HYPERBAND_FACTOR = 3  # Optuna's default: a third of a bracket's trials go on at each rung
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class _Job:
    """What one worker process needs (picklable)."""

    base: dict[str, Any]
    space: Space
    metric: str
    study: str
    storage: str  # an RDB URL, or the path of the journal file
    heartbeat: int  # seconds between a trial's heartbeats (RDB storage)
    retries: int  # times a trial whose worker died is run again (RDB storage)
    sampler: str
    pruner: str
    epochs: int
    seed: int
    n_trials: int
    max_total: int
    trials_dir: Path
    threads: int | None  # torch threads per worker process; None: leave as set
    index: int = 0  # this worker's number among the command's workers

    @property
    def shared(self) -> bool:
        """An RDB study, which workers on other machines may share."""
        return "://" in self.storage


@remembered_audits()  # the data is audited once per process, not once per trial
def tune(
    config: ConfigLike = None,
    *,
    trials: int = 20,
    sampler: str = "tpe",
    pruner: str = "hyperband",
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    heartbeat: int = 60,
    retries: int = 3,
    out: str | Path | None = None,
    progress: bool = False,
) -> TuneResult:
    """Search the config's `tune:` space (or the default one) until the study has `trials`.

    TPE with Hyperband pruning by default. Returns the trials, the best one, its config
    (written as `best.yaml`, ready for `trainwell fit`) and parameter importances. With an
    RDB `storage`, a trial whose worker stops beating for 3 x `heartbeat` seconds is failed
    and run again, up to `retries` times.
    """
    cfg = load_config(config)
    if trials < 1 or workers < 1:
        raise ConfigError(f"--trials and --workers must be at least 1; got {trials}, {workers}")
    if heartbeat < 1 or retries < 0:
        raise ConfigError(
            f"--heartbeat must be at least 1 s and --retries at least 0; got {heartbeat}, {retries}"
        )
    if sampler not in SAMPLERS:
        raise ConfigError(f"--sampler must be one of {', '.join(SAMPLERS)}; got {sampler!r}")
    if pruner not in PRUNERS:
        raise ConfigError(f"--pruner must be one of {', '.join(PRUNERS)}; got {pruner!r}")
    if storage is not None and "://" not in storage:
        raise ConfigError(
            f"--storage must be an Optuna RDB URL (postgresql://user@host/db, "
            f"sqlite:///study.db); got {storage!r}"
        )
    name = study or cfg.run_name()
    if not _NAME.match(name):
        raise ConfigError(f"--study {name!r} must be letters, digits, '.', '_' or '-'")
    # bad data fails here, before anything is written; init_from says its line here, once
    data = plan_run(cfg, None).data
    space = parse_space(cfg, grid=sampler == "grid", train_rows=len(data.train))
    task = data.info.task
    metric, direction = objective_metric(cfg, task)
    tune_dir = (Path(out) if out else default_out()).resolve() / f"tune-{name}"
    url = storage or str(tune_dir / "study.journal")
    base = cfg.to_dict()
    base.pop("tune")
    _quiet_optuna()
    _same_config(tune_dir / "config.yaml", cfg.to_dict(), name)
    if storage:  # a bad URL or server fails before the directory
        open_study(url, name, direction, heartbeat, retries)
    tune_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with _exclusive(tune_dir, local=storage is None):
        write_yaml(tune_dir / "config.yaml", cfg.to_dict())
        handle = open_study(url, name, direction, heartbeat, retries)
        fail_stale(handle, shared=storage is not None)  # trials of workers killed before
        done = counted(handle.get_trials(deepcopy=False))
        remaining = trials - done
        if remaining > 0:
            job = _Job(
                base=base,
                space=space,
                metric=metric,
                study=name,
                storage=url,
                heartbeat=heartbeat,
                retries=retries,
                sampler=sampler,
                pruner=pruner,
                epochs=cfg.train.epochs,
                seed=cfg.seed + done,  # a rerun does not replay the same points
                n_trials=0,
                max_total=trials,
                trials_dir=tune_dir / "trials",
                threads=max(1, (os.cpu_count() or 1) // workers),
            )
            _run_workers(job, remaining, workers, handle, progress)
        result = collect(
            handle,  # reads the storage afresh: the workers' trials are in it
            tune_dir,
            base,
            metric,
            display(storage) if storage else "journal",
            time.perf_counter() - started,
        )
    if result.best_config is not None:
        write_yaml(result.best_config, result.best_yaml)
    write_json(tune_dir / "summary.json", result.to_dict())
    return result


def _same_config(path: Path, config: dict[str, Any], name: str) -> None:
    """A study continues only with the config (and space) it was made from: its trials and
    its sampler's model belong to that search."""
    if not path.is_file():
        return
    before, now = yaml.safe_load(path.read_text()), yaml.safe_load(yaml.safe_dump(config))
    if before != now:
        changed = sorted(_differences(before, now))
        raise InputError(
            f"study {name!r} in {path.parent} was made from another config (differs in "
            f"{', '.join(changed[:5])}): run it with that config, or name a new --study"
        )


def _differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _differences(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def _run_workers(
    job: _Job, remaining: int, workers: int, handle: optuna.Study, progress: bool
) -> None:
    """Split the missing trials over K processes (one runs in this process when K is 1)."""
    shares = [remaining // workers + (i < remaining % workers) for i in range(workers)]
    jobs = [replace(job, n_trials=n, index=i) for i, n in enumerate(shares) if n]
    with _progress(progress, remaining) as advance:
        if len(jobs) == 1:
            _work(replace(jobs[0], threads=None), lambda study, trial: advance(1))
            return
        context = multiprocessing.get_context("spawn")
        procs = [context.Process(target=_work, args=(j,)) for j in jobs]
        for proc in procs:
            proc.start()
        done = 0
        while any(proc.is_alive() for proc in procs):
            time.sleep(0.5)
            now = sum(t.state.is_finished() for t in handle.get_trials(deepcopy=False))
            advance(now - done)
            done = now
        failed = [proc.exitcode for proc in procs if proc.exitcode]
        if failed:
            raise RuntimeError(f"{len(failed)} tune worker(s) failed (exit codes {failed})")


def _work(job: _Job, callback=None) -> None:
    """One worker: open the shared study and run its share of trials, with its own seed."""
    if job.threads:
        torch.set_num_threads(job.threads)
    _quiet_optuna()
    seed, worker = worker_seed(job.seed, job.index, job.shared)
    study = optuna.load_study(
        study_name=job.study,
        storage=open_storage(job.storage, job.heartbeat, job.retries),
        sampler=_sampler(job, seed),
        pruner=_pruner(job),
    )
    objective = make_objective(
        job.base,
        job.space,
        job.metric,
        job.trials_dir,
        {"worker": worker, "sampler_seed": seed},  # who ran each trial, and how to replay it
    )
    callbacks = [StopAt(job.max_total)]
    with remembered_audits():  # a spawned worker audits the data once
        study.optimize(
            objective,
            n_trials=job.n_trials,
            catch=(InputError,),
            callbacks=[*callbacks, callback] if callback else callbacks,
        )


def _sampler(job: _Job, seed: int) -> optuna.samplers.BaseSampler:
    if job.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if job.sampler == "grid":
        return optuna.samplers.GridSampler(job.space.grid_space(), seed=seed)
    if job.sampler == "cmaes":  # categorical keys fall back to random sampling
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    # multivariate + group model the widths that exist only with more layers; the constant
    # liar keeps K workers from proposing the same point while a trial is still running
    return optuna.samplers.TPESampler(
        seed=seed,
        n_startup_trials=_random_start(job),
        multivariate=True,
        group=True,
        constant_liar=True,
    )


def _random_start(job: _Job) -> int:
    """TPE's random start: a third of the trials each of its models sees, 4 to 10 (Optuna's
    default). Under Hyperband TPE models each bracket apart, on that bracket's trials only,
    so the default start costs 10 trials per bracket: in a 30-trial study of 20 epochs (3
    brackets) every trial, and TPE would be a random search."""
    brackets = 1
    if job.pruner == "hyperband":  # as Optuna counts them: resources 1 .. epochs, factor 3
        brackets = math.floor(math.log(max(job.epochs, 1), HYPERBAND_FACTOR)) + 1
    return int(min(10, max(4, job.max_total / brackets / 3)))


def _pruner(job: _Job) -> optuna.pruners.BasePruner:
    if job.pruner == "hyperband":  # resources are epochs: 1 .. train.epochs
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=job.epochs, reduction_factor=HYPERBAND_FACTOR
        )
    if job.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


@contextmanager
def _exclusive(tune_dir: Path, *, local: bool) -> Iterator[None]:
    """One `tune` command at a time per local study (its K workers share the study)."""
    if not local:
        yield
        return
    with open(tune_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"{tune_dir} is being tuned by another trainwell process; wait for it, "
                "or give it more --workers"
            ) from None
        yield


@contextmanager
def _progress(show: bool, total: int) -> Iterator[Any]:
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "trials",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("trials", total=total)
        yield lambda n: bar.advance(task, n)


def _quiet_optuna() -> None:
    """Optuna logs each trial, and a failed one with its traceback; the table says it all."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
