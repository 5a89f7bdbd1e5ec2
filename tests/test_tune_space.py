"""The search space: parsing, defaults, the architecture space, and invalid spaces."""

from pathlib import Path

import optuna
import pytest
from typer.testing import CliRunner

from trainwell import ConfigError, load_config
from trainwell.cli import app
from trainwell.tune import parse_space


def _space(tune: dict, **cfg):
    return parse_space(load_config({**cfg, "tune": tune}))


def test_ranges_choices_and_list_choices_become_config_overrides():
    space = _space(
        {
            "train.lr": {"low": 1e-4, "high": 0.1, "log": True},
            "train.batch_size": {"choices": [16, 32]},
            "train.epochs": {"low": 2, "high": 5},
            "model.hidden": {"choices": [[64], [128, 128]]},
            "model.dropout": {"low": 0, "high": 0.5},
        }
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(8):
        overrides = space.suggest(study.ask())
        assert 1e-4 <= overrides["train.lr"] <= 0.1
        assert overrides["train.batch_size"] in (16, 32)
        assert isinstance(overrides["train.epochs"], int) and 2 <= overrides["train.epochs"] <= 5
        assert overrides["model.hidden"] in ([64], [128, 128])  # lists travel as JSON text
        load_config({}, overrides)  # every suggestion is a valid config


def test_architecture_space_samples_depth_and_each_width():
    space = _space(
        {"model.layers": {"low": 1, "high": 3}, "model.width": {"low": 8, "high": 64, "log": True}}
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    depths = set()
    for _ in range(20):
        hidden = space.suggest(study.ask())["model.hidden"]
        depths.add(len(hidden))
        assert all(8 <= w <= 64 for w in hidden)
    assert depths == {1, 2, 3}
    cnn = _space(
        {"model.layers": {"low": 1, "high": 2}, "model.width": {"low": 4, "high": 16}},
        model={"arch": "cnn"},
    )
    assert cnn.width_key == "model.channels"


def test_int_keys_are_searched_as_ints_even_when_unset_or_nested():
    space = _space(
        {
            "train.cv_folds": {"low": 2, "high": 5},
            "train.early_stopping.patience": {"low": 2, "high": 6},
            "train.grad_clip": {"low": 1, "high": 5},
        }
    )
    assert [d.integer for d in space.dims] == [True, True, False]


def test_default_space_without_a_tune_section():
    space = parse_space(load_config({}), train_rows=100)
    assert {d.key for d in space.dims} >= {"train.lr", "train.batch_size", "model.dropout"}
    assert space.layers is not None and space.width is not None
    batch = next(d for d in space.dims if d.key == "train.batch_size")
    assert max(batch.spec.choices) <= 100  # never larger than the training split


def test_grid_space_discretises_ranges():
    space = parse_space(
        load_config(
            {
                "tune": {
                    "train.lr": {"low": 1e-3, "high": 1e-1, "log": True},
                    "train.epochs": {"low": 2, "high": 4},
                    "model.hidden": {"choices": [[8], [8, 8]]},
                }
            }
        ),
        grid=True,
    )
    grid = space.grid_space()
    assert grid["train.lr"] == pytest.approx([1e-3, 10**-2.5, 1e-2, 10**-1.5, 1e-1])
    assert grid["train.epochs"] == [2, 3, 4]
    assert grid["model.hidden"] == ["[8]", "[8, 8]"]


@pytest.mark.parametrize(
    "tune, words",
    [
        ({"train.lrr": {"low": 0.1, "high": 1}}, ["'train.lrr'", "not a config key"]),
        ({"train": {"low": 0.1, "high": 1}}, ["'train'", "section"]),
        ({"train.lr": {"low": 0.1, "high": 20}}, ["train.lr", "20", "less than or equal to 10"]),
        ({"train.optimizer": {"choices": ["adam", "lion"]}}, ["train.optimizer", "'lion'"]),
        ({"model.hidden": {"choices": [[64], [0]]}}, ["model.hidden", "[0]"]),
        ({"model.layers": {"low": 1, "high": 3}}, ["model.layers", "model.width", "together"]),
        (
            {"model.layers": {"low": 0, "high": 2}, "model.width": {"low": 8, "high": 9}},
            ["model.layers", "whole numbers >= 1"],
        ),
        ({"train.batch_size": {"choices": [16, 4096]}}, ["train.batch_size", "4096", "larger"]),
    ],
)
def test_invalid_spaces_fail_in_one_line_naming_the_key(tune, words):
    with pytest.raises(ConfigError) as exc:
        parse_space(load_config({"data": {"source": "iris"}, "tune": tune}), train_rows=90)
    message = str(exc.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_structurally_bad_entries_are_caught_by_the_config():
    with pytest.raises(ConfigError, match="low must be below high"):
        load_config({"tune": {"train.lr": {"low": 1, "high": 0.1}}})


def test_cli_rejects_a_bad_space_with_exit_2_and_writes_nothing(tmp_path: Path):
    config = tmp_path / "bad.yaml"
    config.write_text("data: {source: iris}\ntune:\n  train.lrr: {low: 0.1, high: 1}\n")
    result = CliRunner().invoke(
        app, ["tune", str(config), "--trials", "2", "--out", str(tmp_path / "runs")]
    )
    assert result.exit_code == 2
    assert "not a config key" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()
    for flag, value in (("--sampler", "bayes"), ("--pruner", "asha"), ("--trials", "0")):
        result = CliRunner().invoke(
            app, ["tune", str(config), flag, value, "--out", str(tmp_path / "runs")]
        )
        assert result.exit_code == 2, (flag, result.output)
