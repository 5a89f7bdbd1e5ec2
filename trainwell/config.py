"""The run configuration: pydantic models of every key, built from YAML and `--set`
overrides (`_config_yaml.py` reads the text).

Validation happens once, here, at the boundary. Every problem becomes one `ConfigError`
line naming the key, the bad value and what is allowed; the rest of trainwell trusts the
validated `RunConfig`.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._config_yaml import looks_like_path, parse_overrides, read_yaml, resolve_paths, set_path
from .errors import ConfigError

Activation = Literal["relu", "leaky_relu", "gelu", "tanh", "sigmoid"]
InitScheme = Literal["default", "he", "xavier", "normal", "uniform", "zeros"]
Remedy = Literal[
    "class_weights",
    "balanced_sampler",
    "drop_label_issues",
    "relabel_label_issues",
    "drop_duplicates",
    "drop_leakage",
    "drop_target_outliers",
    "impute",
    "drop_missing",
    "standardize",
    "augment",
]
Width = Annotated[int, Field(ge=1)]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1)]  # numpy's and scikit-learn's range
Metric = Literal["val_loss", "val_accuracy", "val_macro_f1", "val_mse", "val_mae", "val_r2"]


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, populate_by_name=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """`epochs: true` is a slip, not 1: pydantic's lax mode reads a bool as a number."""
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(value, bool) and _admits(annotation, (int, float), bool):
            raise ValueError(f"must be a number, not {str(value).lower()}")
        return value


def _admits(annotation: Any, types: tuple[type, ...], unless: type) -> bool:
    """Whether a field's type takes one of `types` (in a union too) and not `unless`."""
    admitted = _parts(annotation)
    return bool(admitted & set(types)) and unless not in admitted


def _parts(annotation: Any) -> set[Any]:
    """A type and what it is made of: the members of a union, what `Annotated` wraps."""
    return {annotation}.union(*map(_parts, get_args(annotation)))


class Split(_Strict):
    val: float = Field(0.2, gt=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)
    stratify: bool = True

    @model_validator(mode="after")
    def _leaves_training_data(self) -> Split:
        if self.val + self.test >= 0.9:
            raise ValueError(
                f"val + test must be below 0.9 to leave data to train on; got "
                f"{self.val} + {self.test}"
            )
        return self


class Imbalance(_Strict):
    class_: int = Field(alias="class", ge=0)
    keep: float = Field(gt=0, le=1)


class Corrupt(_Strict):
    """Controlled corruption of the training split, for experiments and fault benchmarks."""

    label_noise: float = Field(0.0, ge=0, lt=1)
    imbalance: Imbalance | None = None
    feature_scale: float = Field(1.0, gt=0)
    nan_fraction: float = Field(0.0, ge=0, lt=1)
    leak_fraction: float = Field(0.0, ge=0, le=1)


class Synthetic(_Strict):
    """`data.source: synthetic`: a scikit-learn `make_classification` problem."""

    samples: int = Field(1000, ge=20)
    features: int = Field(20, ge=2)
    informative: int | None = Field(None, ge=1)
    classes: int = Field(2, ge=2)
    seed: Seed | None = None  # default: the run's seed


DefectKind = Literal["scratch", "spot", "crack", "missing_print"]


class Defects(_Strict):
    """`data.source: defects`: generated surface images for visual inspection, each defective
    one with its exact defect mask. Kinds share the defective images by `weights` (default
    1, 1/2, 1/3, ...: the last kind listed is the rarest)."""

    count: int = Field(2000, ge=10)
    size: int = Field(32, ge=16, le=256)
    rate: float = Field(0.1, gt=0, lt=1)  # share of defective images
    kinds: list[DefectKind] = Field(default_factory=lambda: ["scratch", "spot", "crack"])
    weights: list[Annotated[float, Field(gt=0)]] | None = None
    family: Literal["brushed", "woven", "granite"] = "brushed"  # the surface texture
    texture: float = Field(1.0, ge=0)  # strength of the texture (1: as designed)
    lighting: float = Field(1.0, ge=0)  # strength of the lighting variation
    seed: Seed | None = None  # default: the run's seed

    @model_validator(mode="after")
    def _kinds(self) -> Defects:
        if not self.kinds or len(set(self.kinds)) != len(self.kinds):
            raise ValueError(f"kinds must be a non-empty list without repeats; got {self.kinds}")
        if self.weights is not None and len(self.weights) != len(self.kinds):
            raise ValueError(
                f"weights needs one value per kind ({len(self.kinds)}); got {len(self.weights)}"
            )
        return self


class Data(_Strict):
    source: str = "digits"
    target: str | None = None  # for tables; None: a column named "label" or "target"
    task: Literal["auto", "classification", "regression"] = "auto"
    split: Split = Field(default_factory=Split)
    standardize: bool = True
    image_size: tuple[int, int] = (32, 32)  # image folders are resized to (height, width)
    grayscale: bool = False
    synthetic: Synthetic = Field(default_factory=Synthetic)
    defects: Defects = Field(default_factory=Defects)
    corrupt: Corrupt = Field(default_factory=Corrupt)
    audit: bool = True
    remedies: list[Remedy] = Field(default_factory=list)

    @field_validator("target", mode="before")
    @classmethod
    def _column_name(cls, value: Any) -> Any:
        """A column named `2024` is written unquoted in YAML, which reads it as a number."""
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class Init(_Strict):
    weights: InitScheme = "default"
    std: float | None = Field(None, gt=0)  # normal/uniform; None: 0.01
    bias: float = 0.0


class Model(_Strict):
    arch: Literal["mlp", "cnn", "resnet"] = "mlp"
    hidden: list[Width] = Field(default_factory=lambda: [256, 256])  # dense widths
    channels: list[Width] = Field(default_factory=lambda: [16, 32])  # cnn conv blocks
    activation: Activation = "relu"
    dropout: float = Field(0.0, ge=0, lt=1)
    batchnorm: bool = False
    input_norm: bool = False  # standardise the inputs inside the network (models.InputNorm)
    init: Init = Field(default_factory=Init)
    init_from: str | None = None  # a run directory or a state-dict file (transfer learning)

    @model_validator(mode="after")
    def _cnn_has_channels(self) -> Model:
        if self.arch in ("cnn", "resnet") and not self.channels:
            raise ValueError(f"a {self.arch} needs at least one entry in channels")
        return self

    @property
    def convolutional(self) -> bool:
        """The architectures that take images as channels x height x width."""
        return self.arch in ("cnn", "resnet")

    @property
    def normalised(self) -> bool:
        """Batch norm in its layers: asked for, or a ResNet's by design."""
        return self.batchnorm or self.arch == "resnet"


class EarlyStopping(_Strict):
    monitor: Metric = "val_loss"
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0)


class Adversarial(_Strict):
    """`train.adversarial`: PGD adversarial training (Madry et al. 2018). ε in the units of
    `attack.eps`; `ratio` of each batch is replaced by adversarial inputs."""

    eps: float = Field(0.1, gt=0)
    steps: int = Field(7, ge=1)
    norm: Literal["linf", "l2"] = "linf"
    ratio: float = Field(1.0, gt=0, le=1)


class Finetune(_Strict):
    """`train.finetune`: gradual unfreezing and discriminative learning rates (ULMFiT, Howard
    & Ruder 2018). `freeze`: parameter-name prefixes (e.g. `net.0`) or "backbone" (all but
    the head), frozen until epoch `unfreeze_at` (None: for the whole run), their BatchNorm
    layers kept in eval mode meanwhile. Each layer group below the head learns at
    `layer_lr_decay` times the rate of the group above it."""

    freeze: list[str] = Field(default_factory=lambda: ["backbone"])
    unfreeze_at: int | None = Field(None, ge=0)
    layer_lr_decay: float = Field(1.0, gt=0, le=1)


class Train(_Strict):
    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: float = Field(1e-3, gt=0, le=10)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    l1: float = Field(0.0, ge=0)
    batch_size: int = Field(64, ge=1)
    epochs: int = Field(20, ge=1)
    grad_clip: float | None = Field(None, gt=0)
    schedule: Literal["none", "cosine", "onecycle", "step", "plateau"] = "none"
    early_stopping: EarlyStopping | None = None
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    accumulate: int = Field(1, ge=1)
    cv_folds: int | None = Field(None, ge=2)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: Literal["auto"] | Width = "auto"  # intra-op CPU threads
    checkpoint_every: float = Field(30.0, ge=0)  # seconds between checkpoints (0: each epoch)
    adversarial: Adversarial | None = None
    finetune: Finetune | None = None


class Attack(_Strict):
    """`trainwell attack`: ε is a fraction of the pixel range for images, standard deviations
    of each feature for tables. `adversarial_vulnerability` judges robust accuracy at `eps`
    (None: 0.1 for linf, 1.0 for l2)."""

    eps: float | None = Field(None, gt=0)
    norm: Literal["linf", "l2"] = "linf"
    steps: int = Field(20, ge=1)
    restarts: int = Field(1, ge=1)
    rows: int = Field(500, ge=1)  # test rows attacked


class Doctor(_Strict):
    mode: Literal["off", "detect", "repair"] = "detect"

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return "off" if value is False else value  # YAML 1.1 reads a bare `off` as false


class TuneParam(_Strict):
    """One search dimension: a range (low, high, log, step) or a list of choices."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = Field(None, gt=0)
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _range_or_choices(self) -> TuneParam:
        if self.choices is not None:
            if not self.choices:
                raise ValueError("choices must not be empty")
            return self
        if self.low is None or self.high is None:
            raise ValueError("give either choices or both low and high")
        if self.low >= self.high:
            raise ValueError(f"low must be below high; got {self.low} >= {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0; got {self.low}")
        return self


class RunConfig(_Strict):
    name: str | None = None  # run directory prefix; None: "<source>-<arch>"
    seed: Seed = 0
    data: Data = Field(default_factory=Data)
    model: Model = Field(default_factory=Model)
    train: Train = Field(default_factory=Train)
    doctor: Doctor = Field(default_factory=Doctor)
    attack: Attack = Field(default_factory=Attack)
    tune: dict[str, TuneParam] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, as written to `config.yaml`."""
        return self.model_dump(mode="json", by_alias=True)

    def run_name(self, model: str | None = None) -> str:
        """`name`, else the data's and the model's: `model` names a module of the user's
        own, which `model.arch` does not describe."""
        if self.name:
            return self.name
        source = (
            Path(self.data.source).stem if looks_like_path(self.data.source) else (self.data.source)
        )
        return f"{source}-{model or self.model.arch}"


ConfigLike = RunConfig | dict[str, Any] | str | Path | None


def load_config(
    config: ConfigLike = None, overrides: list[str] | dict[str, Any] | None = None
) -> RunConfig:
    """Build a validated `RunConfig` from a YAML path, a dict or a config, plus overrides.

    `overrides` are `"a.b=value"` strings (the CLI's `--set`, values parsed as YAML so
    `0.1`, `[64, 64]` and `null` get their types) or a `{"a.b": value}` mapping.
    """
    if isinstance(config, RunConfig):
        raw = config.to_dict()
    elif isinstance(config, dict):
        raw = copy.deepcopy(config)
    elif config is None:
        raw = {}
    else:
        raw = read_yaml(Path(config))
        resolve_paths(raw, Path(config).parent)
    for key, value in parse_overrides(overrides).items():
        set_path(raw, key, value)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    """One line for the first problem: key, value, what is allowed."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"] if not _is_union_tag(part)]
    key = ".".join(loc) or "config"
    if error["type"] == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], allowed, n=1) or [
            name
            for name in allowed
            if name == _initials(loc[-1])  # learning_rate -> lr
        ]
        suggestion = f" (did you mean {'.'.join([*loc[:-1], hint[0]])!r}?)" if hint else ""
        return f"unknown config key {key!r}{suggestion}; allowed here: {', '.join(allowed)}"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"config key {key!r} is required"
    return f"config key {key!r} = {error['input']!r} is invalid: {message}"


def _initials(name: str) -> str:
    return "".join(word[:1] for word in name.split("_"))


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and part[:1].isupper()  # e.g. "Imbalance" inside X | None


def _fields_at(loc: list[str]) -> list[str]:
    model: type[BaseModel] = RunConfig
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        candidates = getattr(annotation, "__args__", (annotation,))
        sub = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if sub is None:
            return []
        model = sub
    return [field.alias or name for name, field in model.model_fields.items()]
