"""Where a study lives, and what keeps many workers on it honest.

The local default is an Optuna journal file under a file lock. An RDB URL (PostgreSQL on a
server) lets workers on many machines share one study; there every trial beats a heartbeat,
and a trial whose worker died (SIGKILL, a lost node) is failed by the next worker to start a
trial once its heartbeat is `grace` seconds old, then queued again with the same parameters
(`RetryHeartbeatStaleTrialCallback`) instead of staying RUNNING forever. Journal storage
has no heartbeat: a rerun of `tune` fails its stale trials instead.

Every worker samples with its own seed: workers started alike on two machines would
otherwise propose the same points in the same order (optuna #1547).
"""

from __future__ import annotations

import hashlib
import os
import socket
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from ..errors import InputError

GRACE_BEATS = 3  # a trial is stale after missing this many heartbeats


def open_storage(url: str, heartbeat: int = 60, retries: int = 3) -> optuna.storages.BaseStorage:
    """The journal file (a path), or an RDB storage with heartbeats and retries (a URL)."""
    if "://" not in url:  # the local journal file, shared by K processes under a file lock
        backend = optuna.storages.journal.JournalFileBackend(
            url, lock_obj=optuna.storages.journal.JournalFileOpenLock(url)
        )
        return optuna.storages.JournalStorage(backend)
    try:
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs={"pool_pre_ping": True},
            heartbeat_interval=heartbeat,
            grace_period=GRACE_BEATS * heartbeat,
            **_retry(retries),
        )
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if url.startswith("postgresql") and isinstance(exc, ImportError | ModuleNotFoundError):
            first += " (pip install 'trainwell[postgres]')"
        raise InputError(f"cannot open --storage {display(url)}: {first}") from None


def _retry(retries: int) -> dict[str, Any]:
    """The stale-trial callback under its Optuna >= 4.9 name, or the older one before it."""
    retry = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None)
    if retry is not None:
        return {"heartbeat_stale_trial_callback": retry(max_retry=retries)}
    return {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=retries)}


def open_study(
    url: str, name: str, direction: str, heartbeat: int = 60, retries: int = 3
) -> optuna.Study:
    try:
        return optuna.create_study(
            storage=open_storage(url, heartbeat, retries),
            study_name=name,
            direction=direction,
            load_if_exists=True,
        )
    except InputError:
        raise
    except ValueError as exc:
        raise InputError(f"cannot use study {name!r} in {display(url)}: {exc}") from None


def fail_stale(study: optuna.Study, shared: bool) -> None:
    """Fail the trials of dead workers now: on a shared (RDB) study those whose heartbeat is
    stale (then retried); on a local one every RUNNING trial, since one `tune` command owns
    it and none of its workers is alive yet."""
    if shared:
        optuna.storages.fail_stale_trials(study)
        return
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(stale.number, state=TrialState.FAIL)


def counted(trials: list[FrozenTrial]) -> int:
    """Trials that count toward `--trials`: not the queued retries, nor the stale trials they
    replace (a killed worker costs no trial of the budget)."""
    replaced = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    return sum(t.state != TrialState.WAITING and t.number not in replaced for t in trials)


class StopAt:
    """Stops a worker once the study counts `total` trials (Optuna's MaxTrialsCallback
    would count the retried stale trials too)."""

    def __init__(self, total: int) -> None:
        self.total = total

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        if counted(study.get_trials(deepcopy=False)) >= self.total:
            study.stop()


def worker_seed(seed: int, index: int, shared: bool) -> tuple[int, str]:
    """(sampler seed, worker id) of worker `index` of this process's `tune` command.

    A local study's K workers are all started here: seed + 1000 * index keeps a local search
    reproducible. A shared (RDB) study also has workers on other machines, started with the
    same config: its seeds mix in the host and process id, which no two live workers share.
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if not shared:
        return seed + 1000 * index, worker
    digest = hashlib.sha256(f"{seed}:{index}:{worker}".encode()).digest()
    return int.from_bytes(digest[:4], "big"), worker


def display(url: str) -> str:
    """The URL without its password, for summaries and messages."""
    if "://" not in url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("://")[0] + "://..."
