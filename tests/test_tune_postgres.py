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
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
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
