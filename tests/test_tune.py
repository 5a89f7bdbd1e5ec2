"""`tune` end to end on tiny studies: results, best.yaml, resume, workers, pruning."""

import json
from dataclasses import replace
from pathlib import Path

import optuna
import pytest
import torch
import yaml
from typer.testing import CliRunner

import trainwell
from trainwell.cli import app
from trainwell.tune._trial import ReportToPruner

TINY = {
    "data": {"source": "iris"},
    "model": {"hidden": [8]},
    "train": {"epochs": 3, "batch_size": 16},
    "doctor": {"mode": "off"},
    "tune": {
        "train.lr": {"low": 1e-3, "high": 0.3, "log": True},
        "model.hidden": {"choices": [[8], [16, 16]]},
    },
}


def _numbers(result) -> list[int]:
    return sorted(t.number for t in result.trials)


def test_tiny_study_gives_trials_best_config_and_importances(out: Path):
    result = trainwell.tune(TINY, trials=5, study="tiny", pruner="none")
    summary = result.to_dict()
    assert set(summary) >= {"run_dir", "study", "trials", "best", "best_config"}
    assert summary["study"] == "tiny" and _numbers(result) == [0, 1, 2, 3, 4]
    for trial in summary["trials"]:
        assert set(trial) >= {"number", "state", "value", "params"}
        assert trial["state"] == "complete" and trial["epochs"] == 3
        assert set(trial["params"]) == {"train.lr", "model.hidden"}
    best = summary["best"]
    assert best["value"] == max(t["value"] for t in summary["trials"])
    assert set(summary["importances"]) <= {"train.lr", "model.hidden"}
    assert (result.run_dir / "summary.json").is_file()
    assert len(list((result.run_dir / "trials").iterdir())) == 5
    # best.yaml is a ready-to-run config that reproduces the best trial
    best_yaml = yaml.safe_load(Path(summary["best_config"]).read_text())
    assert "tune" not in best_yaml
    assert best_yaml["model"]["hidden"] == best["params"]["model.hidden"]
    run = trainwell.fit(summary["best_config"])
    assert run.metrics["val_accuracy"] == pytest.approx(best["value"])


def test_a_study_continues_where_it_stopped(out: Path):
    first = trainwell.tune(TINY, trials=3, study="again", sampler="random")
    assert _numbers(first) == [0, 1, 2]
    second = trainwell.tune(TINY, trials=5, study="again", sampler="random")
    assert second.run_dir == first.run_dir
    assert _numbers(second) == [0, 1, 2, 3, 4]  # two more, none repeated
    assert [t.params for t in second.trials[:3]] == [t.params for t in first.trials]
    third = trainwell.tune(TINY, trials=5, study="again")
    assert _numbers(third) == [0, 1, 2, 3, 4]  # already full: nothing runs


def test_a_study_refuses_another_config_and_keeps_its_own(out: Path):
    first = trainwell.tune(TINY, trials=1, study="mine", pruner="none")
    other = {**TINY, "tune": {"train.lr": {"low": 0.01, "high": 0.02}}}
    with pytest.raises(trainwell.InputError, match=r"another config.*tune"):
        trainwell.tune(other, trials=2, study="mine")
    kept = yaml.safe_load((first.run_dir / "config.yaml").read_text())
    assert kept["tune"]["train.lr"]["high"] == 0.3 and "model.hidden" in kept["tune"]


def test_a_killed_run_leaves_no_running_trial_behind(out: Path):
    result = trainwell.tune(TINY, trials=1, study="stale")
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(result.run_dir / "study.journal"))
    )
    optuna.load_study(study_name="stale", storage=storage).ask()  # as if killed mid-trial
    again = trainwell.tune(TINY, trials=3, study="stale")
    states = [t.state for t in again.trials]
    assert states.count("running") == 0 and states[1] == "fail" and len(states) == 3


def test_a_diverging_trial_is_pruned_with_its_reason(out: Path):
    config = {
        **TINY,
        "train": {"epochs": 3, "batch_size": 16, "optimizer": "sgd"},
        "doctor": {"mode": "detect"},
        "tune": {"train.lr": {"choices": [10.0, 0.05]}},
    }
    result = trainwell.tune(config, trials=2, sampler="grid", pruner="none")
    by_lr = {t.params["train.lr"]: t for t in result.trials}
    assert by_lr[10.0].state == "pruned"
    assert "diverg" in by_lr[10.0].reason.lower()
    assert by_lr[0.05].state == "complete" and by_lr[0.05].reason is None
    assert result.best.number == by_lr[0.05].number


@pytest.mark.parametrize("sampler", ["tpe", "random", "grid", "cmaes"])
def test_every_sampler_runs_with_the_median_pruner(out: Path, sampler):
    result = trainwell.tune(TINY, trials=3, sampler=sampler, pruner="median", study=sampler)
    assert _numbers(result) == [0, 1, 2]
    assert all(t.state in ("complete", "pruned") for t in result.trials)
    if sampler == "grid":  # lr on 5 log-spaced points, hidden on its 2 choices
        assert all(t.params["model.hidden"] in ([8], [16, 16]) for t in result.trials)
        assert (
            len({(t.params["train.lr"], str(t.params["model.hidden"])) for t in result.trials}) == 3
        )


class _Trial:
    """Stands in for an optuna trial whose pruner says stop from `prune_at` on."""

    def __init__(self, prune_at: int) -> None:
        self.prune_at, self.reported = prune_at, []

    def report(self, value: float, step: int) -> None:
        self.reported.append(step)

    def should_prune(self) -> bool:
        return len(self.reported) >= self.prune_at


@pytest.mark.parametrize("prune_at, epochs", [(2, 2), (99, 5)])
def test_the_pruner_stops_training_through_a_callback(out: Path, prune_at, epochs):
    trial = _Trial(prune_at)
    reporter = ReportToPruner(trial, "val_accuracy")
    run = trainwell.fit({**TINY, "train": {"epochs": 5, "batch_size": 16}}, callbacks=[reporter])
    assert run.metrics["epochs"] == epochs and trial.reported == list(range(1, epochs + 1))
    assert (reporter.pruned is not None) == (prune_at < 5)


def test_cli_table_and_json(out: Path, tmp_path: Path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    shown = CliRunner().invoke(app, ["tune", str(config), "--trials", "3", "--study", "cli"])
    assert shown.exit_code == 0, shown.output
    assert "study cli" in shown.output and "best.yaml" in shown.output
    printed = CliRunner().invoke(
        app, ["tune", str(config), "--trials", "3", "--study", "cli", "--json"]
    )
    assert printed.exit_code == 0
    summary = json.loads(printed.stdout)
    assert len(summary["trials"]) == 3 and summary["best_config"].endswith("best.yaml")


@pytest.mark.slow
def test_two_workers_share_one_study_without_losing_or_repeating_trials(out: Path):
    result = trainwell.tune(TINY, trials=8, study="pair", workers=2, pruner="none")
    assert _numbers(result) == list(range(8))
    assert all(t.state == "complete" for t in result.trials)
    run_dirs = {t.run_dir for t in result.trials}
    assert len(run_dirs) == 8 and len(list((result.run_dir / "trials").iterdir())) == 8
    # each worker process samples with its own seed, recorded on its trials
    seeds = {t.worker: t.sampler_seed for t in result.trials}
    assert len(seeds) == 2 and len(set(seeds.values())) == 2


def test_the_data_is_audited_once_per_study_not_per_trial(out: Path, monkeypatch):
    import trainwell.pipeline._audit as audit_module

    full = []
    real = audit_module.audit_dataset

    def counting(data, **kwargs):
        if kwargs.get("checks") is None:
            full.append(1)
        return real(data, **kwargs)

    monkeypatch.setattr(audit_module, "audit_dataset", counting)
    noisy = {**TINY, "data": {"source": "iris", "corrupt": {"label_noise": 0.2}}}
    result = trainwell.tune(noisy, trials=3, study="audited", pruner="none")
    assert len(full) == 1  # the check before the study; the trials reuse its findings
    for trial in result.trials:
        findings = json.loads((Path(trial.run_dir) / "findings.json").read_text())
        assert "label_issues" in {f["code"] for f in findings}
    assert trainwell.fit(noisy).findings  # outside a study, fit audits as before
    assert len(full) == 2


def test_a_missing_postgres_driver_says_how_to_install_it(out: Path, monkeypatch):
    def no_driver(*args, **kwargs):
        raise ImportError("Failed to import DB access module for the specified storage URL.")

    monkeypatch.setattr(optuna.storages, "RDBStorage", no_driver)
    with pytest.raises(trainwell.InputError, match=r"trainwell\[postgres\]"):
        trainwell.tune(TINY, trials=1, storage="postgresql://u@127.0.0.1:1/db")


def test_the_median_pruner_prunes_trials_worse_than_the_median(out: Path):
    """Past its 5 start-up trials, a trial whose learning rate cannot learn is stopped."""
    space = {**TINY, "train": {"epochs": 6, "batch_size": 16}}
    space["tune"] = {"train.lr": {"choices": [0.05, 1e-6]}}
    result = trainwell.tune(space, trials=12, sampler="random", pruner="median", study="median")
    late = [t for t in result.trials if t.number >= 5]
    pruned = [t for t in late if t.state == "pruned"]
    assert pruned, [(t.params, t.state) for t in result.trials]
    assert all(t.params["train.lr"] == 1e-6 for t in pruned)  # never a good one
    assert all(t.state == "complete" for t in late if t.params["train.lr"] == 0.05)


def test_init_from_line_once_per_study_and_for_every_plain_fit(out: Path, capfd):
    from trainwell.config import load_config
    from trainwell.models import build_model

    torch.manual_seed(0)
    weights = out.parent / "pretrained.pt"
    torch.save(build_model(load_config(TINY).model, [4], 3, regression=False).state_dict(), weights)
    cfg = {**TINY, "model": {"hidden": [8], "init_from": str(weights)}}
    cfg["tune"] = {"train.lr": TINY["tune"]["train.lr"]}
    capfd.readouterr()
    trainwell.tune(cfg, trials=3, study="transfer", pruner="none")
    assert capfd.readouterr().err.count(f"init_from {weights}") == 1
    for _ in range(2):  # a plain fit always says what it loaded
        trainwell.fit({key: value for key, value in cfg.items() if key != "tune"}, out=out)
        assert capfd.readouterr().err.count(f"init_from {weights}") == 1


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
@pytest.mark.parametrize("epochs", [1, 3, 8, 20, 81])
def test_tpe_under_hyperband_leaves_its_random_start_within_the_budget(epochs):
    """Optuna's TPE models each Hyperband bracket apart: with its default 10-trial random
    start per bracket a 30-trial study would never leave it. The start is counted with
    Optuna's own brackets, and every bracket's model gets trials after it."""
    from trainwell.tune._study import HYPERBAND_FACTOR, _Job, _pruner, _random_start, _sampler

    job = _Job(
        base={}, space=None, metric="val_loss", study="s", storage="", heartbeat=0, retries=0,
        sampler="tpe", pruner="hyperband", epochs=epochs, seed=0, n_trials=30, max_total=30,
        trials_dir=Path(), threads=None,
    )  # fmt: skip
    pruner = _pruner(job)
    study = optuna.create_study(pruner=pruner)
    pruner._try_initialization(study)  # Optuna counts its brackets here
    start = _random_start(job)
    assert pruner._reduction_factor == HYPERBAND_FACTOR
    assert 4 <= start < 30 / pruner._n_brackets  # each bracket's model leaves its start
    assert _sampler(job, 0)._n_startup_trials == start
    unpruned = _random_start(replace(job, pruner="none"))
    assert unpruned == 10  # one model over all trials: Optuna's default start


class _Snapshot:
    """A study as one worker reads it: its trial list taken before another worker finished
    the trial that is now the study's best."""

    def __init__(self, study: optuna.Study, trials: list):
        self._study, self.trials = study, trials

    def __getattr__(self, name: str):
        return getattr(self._study, name)  # best_trial, importances: the study as it is now


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_the_best_trial_is_the_best_of_the_rows_reported(tmp_path: Path, direction):
    from trainwell.tune._report import collect

    study = optuna.create_study(direction=direction)
    for value in (0.5, 0.2, 0.8):
        study.add_trial(optuna.trial.create_trial(params={}, distributions={}, value=value))
    late = study.ask()
    snapshot = study.trials  # the last trial still running here
    study.tell(late, 0.0 if direction == "minimize" else 1.0)
    result = collect(_Snapshot(study, snapshot), tmp_path, TINY, "val_loss", "memory", 1.0)
    assert study.best_trial.number == late.number  # what asking the study again would name
    assert result.best.number == (1 if direction == "minimize" else 2)
    assert result.best.value == (0.2 if direction == "minimize" else 0.8)
