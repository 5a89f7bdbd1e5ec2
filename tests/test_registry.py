"""The registry: immutable versions with hashes, aliases under a lock, the event log; a
tampered or code-carrying version is refused; 4 writer processes lose no event."""

import json
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from registry_writer import promote_and_roll_back

import trainwell
from trainwell import registry


@pytest.fixture(scope="module")
def runs(two_runs) -> tuple[Path, Path]:
    _, first, second = two_runs
    (first / "checkpoints").mkdir(exist_ok=True)
    (first / "checkpoints" / "last.pt").write_bytes(b"not copied")
    return first, second


def test_a_version_is_a_verified_copy_of_the_run_with_its_manifest(tmp_path, runs):
    first, _ = runs
    version = registry.add(first, "people", home=tmp_path, note="baseline")
    assert (version.name, version.version) == ("people", 1)
    copied = {p.name for p in version.path.iterdir()}
    top = {p.name for p in first.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert copied == top | {"manifest.json"} and "checkpoints" not in copied
    assert (first / ".owner.json").is_file()  # where the run was written is not the model's
    manifest = json.loads((version.path / "manifest.json").read_text())
    assert set(manifest["files"]) == top
    assert manifest["config"]["data"]["source"].endswith("people.csv")
    assert manifest["data_fingerprint"]["source_sha256"] is not None
    assert manifest["versions"]["torch"] == torch.__version__
    assert manifest["metrics"]["epochs"] == 1 and manifest["note"] == "baseline"
    assert not (version.path / "model.pt").stat().st_mode & 0o222  # read-only
    registry.verify(version)
    run = registry.load("people:1", home=tmp_path)
    X = np.array([[1.0, 0.0, 0.0, 0.0, 1.0]], np.float32)
    assert run.predict(X).tolist() == trainwell.load_run(first).predict(X).tolist()
    assert [v.version for v in registry.versions("people", home=tmp_path)] == [1]
    assert registry.names(home=tmp_path) == ["people"]


def test_references_resolve_and_bad_ones_name_the_problem(tmp_path, runs):
    first, second = runs
    registry.add(first, "people", home=tmp_path)
    registry.add(second, "people", home=tmp_path)
    assert registry.resolve("people", home=tmp_path).version == 2  # the latest
    assert registry.resolve("people:1", home=tmp_path).version == 1
    registry.promote("people", 1, home=tmp_path)
    assert registry.resolve("people@champion", home=tmp_path).version == 1
    for ref, message in [
        ("nobody", "no model named 'nobody'"),
        ("people:3", "has no version 3"),
        ("people@staging", "has no alias 'staging'"),
        ("people:x", "whole number"),
        ("bad name!", "no model reference"),
    ]:
        with pytest.raises(trainwell.InputError, match=message):
            registry.resolve(ref, home=tmp_path)


def test_a_changed_or_added_file_is_refused_and_the_untouched_twin_loads(tmp_path, runs):
    first, _ = runs
    tampered = registry.add(first, "people", home=tmp_path)
    healthy = registry.add(first, "people", home=tmp_path)
    target = tampered.path / "data.json"
    target.chmod(0o644)
    target.write_text(target.read_text().replace('"classes"', '"classes" ', 1))
    with pytest.raises(trainwell.InputError, match=r"data\.json does not match its sha256"):
        registry.load(tampered, home=tmp_path)
    registry.load(healthy, home=tmp_path)
    (healthy.path / "extra.py").write_text("print('hi')")
    with pytest.raises(trainwell.InputError, match=r"not in its manifest: extra\.py"):
        registry.verify(healthy)


class _Payload:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_a_version_whose_weights_carry_code_is_never_unpickled(tmp_path, runs, capsys):
    first, _ = runs
    evil = tmp_path / "evil"
    evil.mkdir()
    for path in first.iterdir():
        if path.is_file():
            (evil / path.name).write_bytes(path.read_bytes())
    saved = torch.load(first / "model.pt", weights_only=True)
    saved["hook"] = _Payload()
    torch.save(saved, evil / "model.pt")
    version = registry.add(evil, "evil", home=tmp_path)  # the hashes match what was copied
    with pytest.raises(trainwell.InputError, match="cannot load"):
        registry.load(version, home=tmp_path)
    assert "pickled code ran" not in capsys.readouterr().out


def test_promote_and_rollback_keep_a_history_that_says_what_served_when(tmp_path, runs):
    first, second = runs
    registry.add(first, "people", home=tmp_path)
    registry.add(second, "people", home=tmp_path)
    with pytest.raises(trainwell.InputError, match="nothing to roll back"):
        registry.rollback("people", home=tmp_path)
    one = registry.promote("people", 1, reason="first release", home=tmp_path)
    two = registry.promote("people", 2, reason="retrained", home=tmp_path)
    assert (two.previous, two.version, two.reason) == (1, 2, "retrained")
    change = two.details["metrics"]["val_accuracy"]
    assert change["delta"] == pytest.approx(change["to"] - change["from"])
    back = registry.rollback("people", reason="complaints", home=tmp_path)
    assert (back.kind, back.previous, back.version) == ("rollback", 2, 1)
    assert registry.resolve("people@champion", home=tmp_path).version == 1
    with pytest.raises(trainwell.InputError, match="no earlier version"):
        registry.rollback("people", home=tmp_path)
    noted = registry.record("people", "drift", reason="colour shifted", home=tmp_path)
    kinds = [(e.seq, e.kind) for e in registry.events("people", home=tmp_path)]
    assert kinds == [(1, "add"), (2, "add"), (3, "promote"), (4, "promote"), (5, "rollback"),
                     (6, "drift")]  # fmt: skip
    assert noted.who and noted.time.endswith("Z")
    assert registry.served("people", at=one.time, home=tmp_path) == 1
    assert registry.served("people", at=two.time, home=tmp_path) == 2
    assert registry.served("people", at="2000-01-01T00:00:00Z", home=tmp_path) is None
    assert registry.served("people", home=tmp_path) == 1


def test_the_home_follows_the_environment(tmp_path, monkeypatch, runs):
    monkeypatch.setenv("TRAINWELL_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRAINWELL_REGISTRY", raising=False)
    assert registry.registry_home() == tmp_path / "home" / "registry"
    monkeypatch.setenv("TRAINWELL_REGISTRY", str(tmp_path / "elsewhere"))
    registry.add(runs[0], "people")
    assert (tmp_path / "elsewhere" / "people" / "versions" / "1" / "model.pt").is_file()


def test_four_concurrent_writers_lose_no_event_and_the_alias_stays_complete(tmp_path, runs):
    first, second = runs
    for run in (first, second, first):
        registry.add(run, "people", home=tmp_path)
    registry.promote("people", 1, home=tmp_path)
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    writers = [
        context.Process(target=promote_and_roll_back, args=(str(tmp_path), seed, 12, done))
        for seed in range(4)
    ]
    for w in writers:
        w.start()
    seen = set()
    while any(w.is_alive() for w in writers):  # a reader meanwhile: always a whole version
        version = registry.resolve("people@champion", home=tmp_path)
        assert (version.path / "model.pt").is_file() and version.manifest["files"]
        seen.add(version.version)
        time.sleep(0.01)
    for w in writers:
        w.join(60)
        assert w.exitcode == 0
    moves = sum(done.get(timeout=5) for _ in writers)
    events = registry.events("people", home=tmp_path)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(events) == 3 + 1 + moves  # adds, the first promotion, every writer's move
    # replaying the log gives the alias file's state: no write was lost or reordered
    stack: list[int] = []
    for e in events:
        if e.kind == "promote":
            if stack and stack[-1] != e.version:
                stack.append(e.version)
            stack = stack or [e.version]
        elif e.kind == "rollback":
            stack.pop()
            assert stack[-1] == e.version
    table = registry.alias_table("people", tmp_path)["champion"]
    assert [*table["history"], table["version"]] == stack
