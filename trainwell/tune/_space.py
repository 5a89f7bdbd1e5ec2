"""The search space: the config's `tune:` section (or a default) turned into Optuna suggestions.

Each key of `tune:` is a dotted config key with a range (`{low, high, log, step}`) or a list
of `choices`; choices may be lists (`model.hidden: {choices: [[64], [128, 128]]}`), which
Optuna cannot store, so they travel as their JSON text. Two extra keys describe the
architecture: `model.layers` (how many dense layers, or conv blocks for a cnn) and
`model.width` (the width of each, sampled per layer). Every bound and choice is checked
against the config's own validation before a trial runs, so a bad space fails in one line.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, get_args, get_origin

import numpy as np
import optuna
from pydantic import BaseModel

from ..config import RunConfig, TuneParam, load_config
from ..errors import ConfigError

LAYERS, WIDTH = "model.layers", "model.width"
GRID_POINTS = 5  # a continuous range becomes this many grid points under `--sampler grid`


def default_space(cfg: RunConfig, train_rows: int | None = None) -> dict[str, TuneParam]:
    """Used without a `tune:` section: learning rate, batch size, dropout, weight decay, and
    the architecture (1-3 layers of 32-512 units, or 1-3 conv blocks of 8-64 channels)."""
    width = (8, 64) if cfg.model.convolutional else (32, 512)
    rows = train_rows or 128
    batches = [b for b in (32, 64, 128) if b <= rows] or [rows]
    return {
        "train.lr": TuneParam(low=1e-4, high=1e-1, log=True),
        "train.batch_size": TuneParam(choices=batches),
        "train.weight_decay": TuneParam(low=1e-6, high=1e-2, log=True),
        "model.dropout": TuneParam(low=0.0, high=0.5),
        LAYERS: TuneParam(low=1, high=3),
        WIDTH: TuneParam(low=width[0], high=width[1], log=True),
    }


@dataclass
class Dimension:
    """One searched key: how Optuna samples it and how its value goes back into a config."""

    key: str
    spec: TuneParam
    integer: bool  # the config key holds an int (batch_size, epochs, widths)

    def suggest(self, trial: optuna.Trial, name: str | None = None) -> Any:
        name, spec = name or self.key, self.spec
        if spec.choices is not None:
            label = trial.suggest_categorical(name, [_label(c) for c in spec.choices])
            return _unlabel(label, spec.choices)
        if self.integer:
            step = int(spec.step or 1)
            return trial.suggest_int(name, int(spec.low), int(spec.high), step=step, log=spec.log)
        return trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)

    def grid(self) -> list[Any]:
        """The values `--sampler grid` tries (as Optuna stores them)."""
        spec = self.spec
        if spec.choices is not None:
            return [_label(c) for c in spec.choices]
        if spec.step is not None:
            values = np.arange(spec.low, spec.high + spec.step / 2, spec.step)
        elif spec.log:
            values = np.geomspace(spec.low, spec.high, GRID_POINTS)
        else:
            values = np.linspace(spec.low, spec.high, GRID_POINTS)
        if self.integer:
            return sorted({int(np.rint(v)) for v in values})
        return [float(v) for v in values]


@dataclass
class Space:
    """The parsed space; `suggest` turns a trial into config overrides."""

    dims: list[Dimension]
    layers: Dimension | None  # the architecture space, when given
    width: Dimension | None
    width_key: str  # model.hidden (mlp) or model.channels (cnn)
    grid: bool = False  # under the grid sampler every layer shares one width

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        overrides = {d.key: d.suggest(trial) for d in self.dims}
        if self.layers is not None and self.width is not None:
            n = self.layers.suggest(trial)
            if self.grid:
                overrides[self.width_key] = [self.width.suggest(trial)] * n
            else:
                overrides[self.width_key] = [
                    self.width.suggest(trial, f"{WIDTH}.{i}") for i in range(n)
                ]
        return overrides

    def grid_space(self) -> dict[str, list[Any]]:
        dims = [d for d in (*self.dims, self.layers, self.width) if d is not None]
        return {d.key: d.grid() for d in dims}


def parse_space(cfg: RunConfig, *, grid: bool = False, train_rows: int | None = None) -> Space:
    """Check every key, bound and choice of the space against the config (and batch sizes
    against the training split's `train_rows`); ConfigError if not."""
    raw = cfg.tune or default_space(cfg, train_rows)
    batch = raw.get("train.batch_size")
    if batch is not None and train_rows is not None:
        largest = max(_probe_values(batch), key=lambda v: v if isinstance(v, int | float) else 0)
        if isinstance(largest, int | float) and largest > train_rows:
            raise ConfigError(
                f"tune: train.batch_size {largest} is larger than the training split "
                f"({train_rows} rows)"
            )
    if (LAYERS in raw) != (WIDTH in raw):
        raise ConfigError(f"tune: {LAYERS} and {WIDTH} go together (the architecture space)")
    width_key = "model.channels" if cfg.model.convolutional else "model.hidden"
    if LAYERS in raw and width_key in raw:
        raise ConfigError(f"tune: give either {width_key} or {LAYERS}/{WIDTH}, not both")
    base = cfg.to_dict()
    base.pop("tune")
    dims = []
    for key, spec in raw.items():
        if key in (LAYERS, WIDTH):
            continue
        dims.append(Dimension(key, spec, _is_int(_annotation(cfg, key), spec)))
        for value in _probe_values(spec):
            _check(base, key, value)
    layers = width = None
    if LAYERS in raw:
        layers, width = Dimension(LAYERS, raw[LAYERS], True), Dimension(WIDTH, raw[WIDTH], True)
        for dim, name in ((layers, "layers"), (width, "width")):
            values = _probe_values(dim.spec)
            if any(not float(v).is_integer() or v < 1 for v in values):
                raise ConfigError(f"tune: {dim.key} must be whole numbers >= 1 ({name})")
        for n in _probe_values(layers.spec):
            for w in _probe_values(width.spec):
                _check(base, width_key, [int(w)] * int(n))
    if grid:
        for dim in (*dims, layers, width):
            if dim is not None and dim.spec.choices is None and not dim.grid():
                raise ConfigError(f"tune: {dim.key} gives an empty grid")
    return Space(dims, layers, width, width_key, grid)


def _annotation(cfg: RunConfig, key: str) -> Any:
    """The type the config declares at `key`; ConfigError naming the key when there is none."""
    model: Any = type(cfg)
    annotation: Any = None
    for i, part in enumerate(key.split(".")):
        fields = getattr(model, "model_fields", None) if isinstance(model, type) else None
        if fields is None or part not in fields:
            where = ".".join(key.split(".")[:i]) or "the config"
            raise ConfigError(
                f"tune: {key!r} is not a config key (nothing named {part!r} in {where})"
            )
        annotation = fields[part].annotation
        options = get_args(annotation) or (annotation,)
        model = next((o for o in options if isinstance(o, type) and issubclass(o, BaseModel)), None)
    if model is not None:
        raise ConfigError(f"tune: {key!r} is a section; search one of its keys")
    return annotation


def _is_int(annotation: Any, spec: TuneParam) -> bool:
    """A range over an int key (batch_size, epochs, cv_folds) is sampled as ints."""
    if spec.choices is not None:
        return False
    options = get_args(annotation) or (annotation,)
    integer = any(o is int or get_origin(o) is int for o in options) and float not in options
    return integer and all(
        v is None or float(v).is_integer() for v in (spec.low, spec.high, spec.step)
    )


def _probe_values(spec: TuneParam) -> list[Any]:
    return list(spec.choices) if spec.choices is not None else [spec.low, spec.high]


def _check(base: dict[str, Any], key: str, value: Any) -> None:
    try:
        load_config(base, {key: value})
    except ConfigError as exc:
        raise ConfigError(
            f"tune: {key} value {value!r} does not make a valid config: {exc}"
        ) from None


def _label(choice: Any) -> Any:
    """Optuna stores None, bool, int, float or str; anything else travels as JSON text."""
    if choice is None or isinstance(choice, bool | int | str):
        return choice
    if isinstance(choice, float):
        return choice if math.isfinite(choice) else str(choice)
    return json.dumps(choice)


def _unlabel(label: Any, choices: list[Any]) -> Any:
    return next(c for c in choices if _label(c) == label)
