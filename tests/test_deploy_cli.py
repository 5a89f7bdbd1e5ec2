"""`trainwell registry ...` and `trainwell serve` on the command line: --json objects, the
history table, a real service in a subprocess, and every kind of bad input as exit 2 with
one line and nothing half-written."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serve_helpers import AUTH, TOKEN
from typer.testing import CliRunner

from trainwell.cli import app

runner = CliRunner()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_registry_verbs_print_one_json_object_each(tmp_path, two_runs):
    _, first, second = two_runs
    home = ["--registry", str(tmp_path)]
    added = _json(["registry", "add", str(first), "--name", "people", "--note", "v1", *home])
    assert (added["name"], added["version"], added["note"]) == ("people", 1, "v1")
    assert "model.pt" in added["manifest"]["files"]
    _json(["registry", "add", str(second), "--name", "people", *home])
    promoted = _json(["registry", "promote", "people", "2", "--reason", "better", *home])
    assert (promoted["kind"], promoted["version"], promoted["reason"]) == ("promote", 2, "better")
    _json(["registry", "promote", "people", "1", *home])
    back = _json(["registry", "rollback", "people", *home])
    assert (back["kind"], back["previous"], back["version"]) == ("rollback", 1, 2)
    listed = _json(["registry", "list", *home])
    assert listed["models"][0]["name"] == "people"
    assert listed["models"][0]["versions"] == [1, 2]
    assert listed["models"][0]["aliases"] == {"champion": 2}
    shown = _json(["registry", "show", "people@champion", *home])
    assert shown["version"]["version"] == 2 and len(shown["events"]) == 5
    assert "version" not in _json(["registry", "show", "people", *home])


def test_registry_show_prints_the_history(tmp_path, two_runs):
    _, first, _ = two_runs
    home = ["--registry", str(tmp_path)]
    for args in (["add", str(first), "--name", "people"], ["promote", "people", "1"]):
        assert runner.invoke(app, ["registry", *args, *home]).exit_code == 0
    result = runner.invoke(app, ["registry", "show", "people:1", *home], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    assert "which version served when" in result.stdout
    assert "promote champion" in result.stdout and "model.pt" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["registry", "show", "nobody"], "no model named 'nobody'"),
        (["registry", "show", "people:7"], "has no version 7"),
        (["registry", "show", "people@prod"], "has no alias 'prod'"),
        (["registry", "add", "missing-run", "--name", "people"], "has no model.pt"),
        (["registry", "add", "RUN", "--name", "bad/name"], "model name 'bad/name'"),
        (["registry", "promote", "people", "9"], "has no version 9"),
        (["registry", "rollback", "people"], "nothing to roll back"),
        (["serve", "people@prod"], "has no alias 'prod'"),
        (["serve", "./missing-run"], "no such run directory"),
        (["serve", "people:1", "--token-file", "missing.txt"], "--token-file missing.txt"),
        (["serve", "people:1", "--port", "70000"], "--port must be 0-65535"),
        (["serve", "people:1", "--workers", "0"], "--workers must be 1 or more"),
        (["serve", "people:1", "--log-sample", "2"], "--log-sample must be a fraction"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    tmp_path, monkeypatch, two_runs, args, message
):
    _, first, _ = two_runs
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAINWELL_TOKEN", TOKEN)
    home = tmp_path / "registry"
    assert runner.invoke(app, ["registry", "add", str(first), "--name", "people",
                               "--registry", str(home)]).exit_code == 0  # fmt: skip
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    args = [str(first) if a == "RUN" else a for a in args]
    result = runner.invoke(app, [*args, "--registry", str(home)])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_serve_without_a_token_or_on_a_taken_port_exits_2(tmp_path, monkeypatch, two_runs):
    _, first, _ = two_runs
    monkeypatch.delenv("TRAINWELL_TOKEN", raising=False)
    result = runner.invoke(app, ["serve", str(first)])
    assert result.exit_code == 2 and "set TRAINWELL_TOKEN" in result.stderr
    (tmp_path / "empty").write_text("\n")
    result = runner.invoke(app, ["serve", str(first), "--token-file", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "must hold one token" in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", str(first), "--no-auth", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--no-auth" in result.stderr  # the warning comes first


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_trainwell_serve_answers_over_http_from_a_subprocess(tmp_path, two_runs, workers):
    _, first, _ = two_runs
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    logs = tmp_path / "logs"
    command = [sys.executable, "-m", "trainwell", "serve", str(first), "--port", "0",
               "--token-file", str(token_file), "--workers", str(workers),
               "--request-log", str(logs)]  # fmt: skip
    service = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        line = service.stderr.readline()
        assert "serving" in line, line
        url = line.split(" on ")[1].split()[0]
        answer = _wait_for(url)
        response = httpx.post(f"{url}/predict", json={"inputs": [[0.0] * 5]}, headers=AUTH)
        assert response.status_code == 200 and response.json()["model"]["version"] == 0
        metrics = httpx.get(f"{url}/metrics", headers=AUTH).text
        assert 'trainwell_requests_total{path="/predict",status="200"}' in metrics
        assert answer == {"status": "ok"}
    finally:
        service.terminate()
        service.wait(30)
    assert list(logs.glob("requests-*.jsonl"))


def _wait_for(url: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(f"{url}/health", timeout=2).json()
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the service never answered"
            time.sleep(0.1)


def test_python_api_is_exposed_lazily():
    import subprocess
    import sys

    probe = (
        "import sys, trainwell\n"
        "print('trainwell.deploy.registry' in sys.modules, 'fastapi' in sys.modules)\n"
        "trainwell.registry.add\n"
        "print('trainwell.deploy.registry' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert shown.stdout.split() == ["False", "False", "True"]  # imported once asked for
    import trainwell

    assert callable(trainwell.registry.add) and callable(trainwell.serve)
    assert Path(trainwell.registry.__file__).name == "registry.py"
