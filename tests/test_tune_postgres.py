"""`tune --storage postgresql://...` against a real PostgreSQL server started on loopback.

The server comes from Debian's `postgresql` package (`.ci/run` installs it when missing):
`initdb` into a temporary directory, `pg_ctl start` on a free port, as the `postgres` user
when the tests run as root (PostgreSQL refuses to run as root). Skipped, with the reason,
only where no server can be started.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app

TINY = {
    "data": {"source": "iris"},
    "model": {"hidden": [8]},
    "train": {"epochs": 2, "batch_size": 16},
    "doctor": {"mode": "off"},
    "tune": {"train.lr": {"low": 1e-3, "high": 0.3, "log": True}},
}


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    pytest.importorskip("psycopg2", reason="psycopg2 (the postgres extra) is not installed")
    initdb, pg_ctl, createdb = _bin("initdb"), _bin("pg_ctl"), _bin("createdb")
    if not (initdb and pg_ctl and createdb):
        pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
    user = None
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
    root = Path(tempfile.mkdtemp(prefix="trainwell-pg-"))
    if user:
        os.chown(root, user.pw_uid, user.pw_gid)

    def run(*cmd: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if user else []
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=60)

    port, data = _free_port(), root / "data"
    setup = run(initdb, "-D", str(data), "-U", "tw", "--auth=trust", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = (
        setup
        if setup.returncode
        else run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    )
    made = (
        start
        if start.returncode
        else run(createdb, "-h", "127.0.0.1", "-p", str(port), "-U", "tw", "trainwell")
    )
    try:
        if made.returncode:
            pytest.skip(f"cannot start PostgreSQL: {(made.stderr or made.stdout).strip()[:200]}")
        yield f"postgresql+psycopg2://tw@127.0.0.1:{port}/trainwell"
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
def test_workers_share_a_study_on_a_postgres_server(out: Path, postgres_url: str):
    result = trainwell.tune(
        TINY, trials=4, study="pg", storage=postgres_url, workers=2, pruner="none"
    )
    assert sorted(t.number for t in result.trials) == [0, 1, 2, 3]
    assert all(t.state == "complete" for t in result.trials)
    assert result.to_dict()["storage"].startswith("postgresql")
    again = trainwell.tune(TINY, trials=6, study="pg", storage=postgres_url)
    assert sorted(t.number for t in again.trials) == list(range(6))  # continued, not restarted
    assert again.best_config is not None and again.best_config.is_file()


def test_an_unreachable_storage_is_one_line_and_exit_2(out: Path, tmp_path: Path):
    config = tmp_path / "tiny.yaml"
    config.write_text("data: {source: iris}\ntrain: {epochs: 1, batch_size: 16}\n")
    url = f"postgresql+psycopg2://tw:secret@127.0.0.1:{_free_port()}/nothing"
    result = CliRunner().invoke(app, ["tune", str(config), "--trials", "1", "--storage", url])
    assert result.exit_code == 2, result.output
    assert "cannot open --storage" in result.output and "Traceback" not in result.output
    assert "secret" not in result.output
    assert not out.exists()
    result = CliRunner().invoke(app, ["tune", str(config), "--storage", "study.db"])
    assert result.exit_code == 2 and "RDB URL" in result.output
    result = CliRunner().invoke(app, ["tune", str(config), "--storage", url, "--heartbeat", "0"])
    assert result.exit_code == 2 and "--heartbeat must be at least 1" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


# Trials long enough (several seconds here) to outlive a 1 s heartbeat's 3 s grace period
LONG = {
    "data": {"source": "iris", "audit": False},
    "model": {"hidden": [8]},
    "train": {"epochs": 600, "batch_size": 16},
    "doctor": {"mode": "off"},
    "tune": {"train.lr": {"low": 1e-3, "high": 0.3, "log": True}},
}
GRACE = 3  # 3 heartbeats of 1 s


def _worker(config: Path, url: str, study: str, trials: int) -> subprocess.Popen:
    """`trainwell tune` as its own process, as on another machine (1 s heartbeats)."""
    args = ["--trials", str(trials), "--storage", url, "--study", study, "--heartbeat", "1"]
    return subprocess.Popen(
        [sys.executable, "-m", "trainwell", "tune", str(config), *args, "--pruner", "none"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=study, storage=url).get_trials()
    except KeyError:  # not created yet
        return []


def _wait_running(url: str, study: str, procs: list[subprocess.Popen], n: int = 1) -> None:
    deadline = time.monotonic() + 120
    while sum(t.state == TrialState.RUNNING for t in _trials(url, study)) < n:
        for proc in procs:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        assert time.monotonic() < deadline, "no trial started"
        time.sleep(0.1)


def _wait_started(url: str, study: str) -> None:
    """Until the study's running trial has its parameters and has beaten once (Optuna's own
    tables): killed before its first beat, Optuna never finds it stale; before its
    parameters, its retry has none to repeat."""
    deadline = time.monotonic() + 60
    while not any(t.params for t in _trials(url, study) if t.state == TrialState.RUNNING):
        assert time.monotonic() < deadline, "the trial never chose its parameters"
        time.sleep(0.05)
    _wait_heartbeat(url, study)


def _wait_heartbeat(url: str, study: str) -> None:
    """Until the study's running trial has beaten once (Optuna's own tables)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    count = sqlalchemy.text(
        "SELECT count(*) FROM trial_heartbeats h JOIN trials t ON h.trial_id = t.trial_id "
        "JOIN studies s ON t.study_id = s.study_id WHERE s.study_name = :study"
    )
    deadline = time.monotonic() + 60
    try:
        with engine.connect() as db:
            while not db.execute(count, {"study": study}).scalar():
                assert time.monotonic() < deadline, "the trial never beat"
                time.sleep(0.05)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_killed_workers_trial_is_retried_not_left_running(
    out: Path, tmp_path: Path, postgres_url: str
):
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump(LONG))
    proc = _worker(config, postgres_url, "killed", trials=1)
    _wait_running(postgres_url, "killed", [proc])
    _wait_started(postgres_url, "killed")
    os.killpg(proc.pid, signal.SIGKILL)  # mid-trial: no chance to tell the study anything
    proc.wait()
    [dead] = _trials(postgres_url, "killed")
    assert dead.state == TrialState.RUNNING  # what a crash leaves behind
    time.sleep(GRACE + 2)  # past the grace period by a margin, also on a loaded machine
    # the next worker fails the stale trial and runs it again, with the same parameters
    result = trainwell.tune(
        LONG, trials=1, study="killed", storage=postgres_url, heartbeat=1, pruner="none"
    )
    states = {t.number: t.state for t in result.trials}
    assert states == {0: "fail", 1: "complete"}, states
    failed, retry = result.trials
    assert retry.retry_of == 0 and retry.params == failed.params
    assert "worker died" in (failed.reason or "")
    assert retry.worker != failed.worker  # another process ran it
    assert not [t for t in _trials(postgres_url, "killed") if t.state == TrialState.RUNNING]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_live_workers_keep_their_trials_and_sample_with_their_own_seeds(
    out: Path, tmp_path: Path, postgres_url: str
):
    """The healthy twin: two workers started alike on one study (as on two machines), their
    long trials checked for staleness past the grace period: nothing fails or is retried,
    and their seeds, hence their first suggestions, differ."""
    config = tmp_path / "long.yaml"
    config.write_text(yaml.safe_dump({**LONG, "seed": 7}))
    procs = [_worker(config, postgres_url, "alive", trials=2) for _ in range(2)]
    _wait_running(postgres_url, "alive", procs, n=2)
    checker = optuna.load_study(
        study_name="alive",
        storage=optuna.storages.RDBStorage(postgres_url, heartbeat_interval=1, grace_period=GRACE),
    )
    while any(proc.poll() is None for proc in procs):  # what every worker does at a trial start
        optuna.storages.fail_stale_trials(checker)
        time.sleep(0.5)
    assert [proc.returncode for proc in procs] == [0, 0], [p.stderr.read() for p in procs]
    trials = _trials(postgres_url, "alive")
    assert [t.state for t in trials] == [TrialState.COMPLETE] * len(trials)
    assert len(trials) >= 2 and not any("failed_trial" in t.system_attrs for t in trials)
    first = {}
    for trial in trials:  # each worker's first trial
        first.setdefault(trial.user_attrs["worker"], trial)
    assert len(first) == 2
    a, b = first.values()
    assert a.user_attrs["sampler_seed"] != b.user_attrs["sampler_seed"]
    assert a.params != b.params
