"""The thread policy: threads follow a step's work and the CPUs this process may use."""

import json
import os

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import trainwell
from trainwell.train import available_cpus, choose_threads
from trainwell.train._threads import step_flops


def _cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1, groups=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * 28 * 28, 10),
    )


def test_a_steps_work_is_counted_like_torchs_flop_counter():
    model, x = _cnn(), torch.zeros(1, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        model(x.expand(16, 1, 28, 28))
    assert step_flops(model, x, 16) == pytest.approx(3 * counter.get_total_flops())


def test_tiny_work_gets_one_thread_and_large_work_the_free_cpus(monkeypatch):
    from trainwell.train import _threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    tiny = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    assert choose_threads("auto", tiny, torch.zeros(1, 8), 32).threads == 1
    monkeypatch.setattr(_threads, "free_cpus", lambda: 4)  # an idle 4-CPU machine
    large = choose_threads("auto", _cnn(), torch.zeros(1, 1, 28, 28), 256)
    assert large.threads == 4 and "4 of" in large.reason
    monkeypatch.setattr(_threads, "free_cpus", lambda: 1)  # the others busy
    assert choose_threads("auto", _cnn(), torch.zeros(1, 1, 28, 28), 256).threads == 1
    assert choose_threads(3, tiny, torch.zeros(1, 8), 32).threads == 3  # asked for


@pytest.mark.parametrize(("omp", "threads"), [("1", 1), ("2", 2), ("8", 4), ("", 4), ("x", 4)])
def test_auto_keeps_under_omp_num_threads(monkeypatch, omp, threads):
    """OMP_NUM_THREADS caps "auto" in place of the CPUs free at the start (a run the same
    whatever the load, torchrun's share per rank), within the CPUs this process may use;
    unset or not a number, the free CPUs decide."""
    from trainwell.train import _threads

    monkeypatch.setattr(_threads, "available_cpus", lambda: 4)
    monkeypatch.setattr(_threads, "free_cpus", lambda: 1 if omp.isdigit() else 4)  # loaded
    monkeypatch.setenv("OMP_NUM_THREADS", omp)
    choice = choose_threads("auto", _cnn(), torch.zeros(1, 1, 28, 28), 256)
    assert choice.threads == threads
    assert ("OMP_NUM_THREADS" in choice.reason) is omp.isdigit()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_available_cpus_follow_the_affinity_not_the_host():
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(before)})
        assert available_cpus() == 1
        big = choose_threads("auto", _cnn(), torch.zeros(1, 1, 28, 28), 256)
        assert big.threads == 1  # however large the work
    finally:
        os.sched_setaffinity(0, before)


def test_the_run_records_its_choice_and_restores_the_callers_threads(out, iris_config):
    torch.set_num_threads(2)
    try:
        run = trainwell.fit(iris_config, report=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    env = json.loads((run.run_dir / "environment.json").read_text())
    assert env["torch_threads"] == env["threads"]["threads"] == 1  # a tiny network
    assert "MFLOP per step" in env["threads"]["reason"]
    run = trainwell.fit(iris_config, train__threads=2, report=False)
    env = json.loads((run.run_dir / "environment.json").read_text())
    assert env["threads"] == env["threads"] | {"threads": 2, "reason": "train.threads"}


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="Linux only")
def test_a_busy_process_is_seen_as_a_busy_cpu():
    import subprocess
    import sys
    import time

    from trainwell.cpus import busy_cpus

    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert busy_cpus(samples=9) >= 1  # the spinner
    finally:
        spinner.kill()
