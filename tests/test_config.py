from pathlib import Path

import pytest

from trainwell import ConfigError, RunConfig, load_config


def test_defaults_match_the_design():
    cfg = load_config()
    assert cfg.seed == 0
    assert cfg.data.source == "digits"
    assert (cfg.data.split.val, cfg.data.split.test, cfg.data.split.stratify) == (0.2, 0.2, True)
    assert cfg.model.hidden == [256, 256] and cfg.model.activation == "relu"
    assert cfg.train.optimizer == "adam" and cfg.train.lr == 0.001
    assert cfg.train.precision == "fp32" and cfg.doctor.mode == "detect"


def test_overrides_are_parsed_to_the_right_type():
    cfg = load_config(
        None,
        [
            "train.lr=0.05",
            "model.hidden=[64, 32]",
            "train.grad_clip=null",
            "data.standardize=false",
            "train.epochs=7",
            "data.corrupt.imbalance={class: 1, keep: 0.1}",
        ],
    )
    assert cfg.train.lr == 0.05 and cfg.model.hidden == [64, 32]
    assert cfg.train.grad_clip is None and cfg.data.standardize is False
    assert cfg.train.epochs == 7
    assert cfg.data.corrupt.imbalance.class_ == 1


def test_yaml_file_and_overrides(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "seed: 3\ntrain:\n  lr: 0.1\ntune:\n  train.lr: {low: 0.001, high: 0.1, log: true}\n"
    )
    cfg = load_config(path, {"train.lr": 0.2})
    assert cfg.seed == 3 and cfg.train.lr == 0.2
    assert cfg.tune["train.lr"].log is True


def test_round_trip_through_dict():
    cfg = load_config(None, ["data.corrupt.imbalance={class: 0, keep: 0.5}"])
    assert load_config(cfg.to_dict()) == cfg
    assert load_config(cfg) == cfg
    assert cfg.to_dict()["data"]["corrupt"]["imbalance"] == {"class": 0, "keep": 0.5}


@pytest.mark.parametrize(
    ("override", "words"),
    [
        ("train.lrr=0.1", ["unknown config key 'train.lrr'", "did you mean 'train.lr'"]),
        ("bogus=1", ["unknown config key 'bogus'", "allowed here", "train"]),
        ("train.lr=-0.1", ["'train.lr'", "-0.1", "greater than 0"]),
        ("train.lr=fast", ["'train.lr'", "'fast'", "valid number"]),
        ("train.epochs=0", ["'train.epochs'", "greater than or equal to 1"]),
        ("model.activation=relu6", ["'model.activation'", "'relu6'", "'leaky_relu'"]),
        ("model.hidden=[64, 0]", ["'model.hidden.1'", "greater than or equal to 1"]),
        ("train.optimizer=lbfgs", ["'train.optimizer'", "'sgd'", "'adamw'"]),
        ("data.corrupt.label_noise=1.5", ["'data.corrupt.label_noise'", "less than 1"]),
        ("data.split={val: 0.5, test: 0.5}", ["'data.split'", "below 0.9"]),
        ("data.remedies=[magic]", ["'data.remedies.0'", "'class_weights'"]),
        ("tune.train.lr={low: 1, high: 0.1}", ["'tune.train.lr'", "low must be below high"]),
        ("train.early_stopping={monitor: val_speed}", ["'train.early_stopping.monitor'"]),
        ("train.epochs=true", ["'train.epochs'", "must be a number, not true"]),
        ("train.lr=false", ["'train.lr'", "must be a number, not false"]),
        ("train.lr=nan", ["'train.lr'", "finite number"]),
        ("seed=-1", ["'seed'", "greater than or equal to 0"]),
        ("data.defects.seed=true", ["'data.defects.seed'", "must be a number"]),
    ],
)
def test_invalid_values_give_one_line_naming_key_value_and_rule(override, words):
    with pytest.raises(ConfigError) as caught:
        load_config(None, [override])
    message = str(caught.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_every_literal_key_rejects_an_unknown_option():
    """Generated from the models: each enumerated key refuses a value outside its options."""
    literal_keys = {
        "data.task": "auto",
        "model.arch": "mlp",
        "model.activation": "relu",
        "model.init.weights": "he",
        "train.optimizer": "sgd",
        "train.schedule": "cosine",
        "train.precision": "bf16",
        "train.device": "cpu",
        "doctor.mode": "repair",
    }
    for key, good in literal_keys.items():
        load_config(None, {key: good})
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(None, {key: "not-an-option"})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("train: [1, 2", ["not valid YAML", "line"]),
        ("- a\n- b\n", ["must hold a mapping"]),
    ],
)
def test_bad_yaml_files(tmp_path: Path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert all(word in str(caught.value) for word in words)


def test_missing_file_and_malformed_set():
    with pytest.raises(ConfigError, match="config file not found"):
        load_config("/nonexistent/run.yaml")
    with pytest.raises(ConfigError, match=r"key\.sub=value"):
        load_config(None, ["train.lr"])


def test_run_name_from_source_and_arch():
    assert RunConfig().run_name() == "digits-mlp"
    assert load_config(None, {"data.source": "data/cells.csv"}).run_name() == "cells-mlp"
    assert load_config(None, {"name": "exp1"}).run_name() == "exp1"


def test_a_bare_yaml_off_means_the_string_off(tmp_path: Path):
    path = tmp_path / "run.yaml"
    path.write_text("doctor:\n  mode: off\n")
    assert load_config(path).doctor.mode == "off"
    assert load_config(None, ["doctor.mode=off"]).doctor.mode == "off"
    with pytest.raises(ConfigError, match=r"doctor\.mode"):
        load_config(None, ["doctor.mode=true"])


def test_a_relative_data_path_is_read_from_the_config_files_folder(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    (project / "cells.csv").write_text("a,label\n1,x\n")
    (project / "run.yaml").write_text("data: {source: cells.csv}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config(project / "run.yaml")
    assert cfg.data.source == str((project / "cells.csv").resolve())
    # a path given on the command line is the user's own, from where they are
    assert load_config(project / "run.yaml", ["data.source=x.csv"]).data.source == "x.csv"
    # a path that exists only from the current folder (as earlier versions read it) still works
    (elsewhere / "old.csv").write_text("a,label\n1,x\n")
    (project / "old.yaml").write_text("data: {source: old.csv}\n")
    assert load_config(project / "old.yaml").data.source == "old.csv"
    (project / "builtin.yaml").write_text("data: {source: digits}\n")
    assert load_config(project / "builtin.yaml").data.source == "digits"


def test_switches_still_take_booleans_and_a_numeric_column_name_is_a_name(tmp_path: Path):
    """Booleans are refused for numbers only; a target column named `2024`, unquoted in
    YAML, is read as the number 2024 and was refused as "not a valid string"."""
    config = tmp_path / "run.yaml"
    config.write_text("data: {source: t.csv, target: 2024, standardize: false}\n")
    cfg = load_config(config, ["data.split.stratify=false", "train.grad_clip=null"])
    assert cfg.data.target == "2024"
    assert cfg.data.standardize is False and cfg.data.split.stratify is False
