"""`train.adversarial`: PGD adversarial training in a run. The callback is the Trainer's
(`trainwell.train.AdversarialTraining`); here the run's data gives it its ε units."""

from __future__ import annotations

from ..config import RunConfig
from ..data import DataInfo, Dataset
from ..errors import ConfigError
from ..train import AdversarialTraining, Box


def check_adversarial(cfg: RunConfig, info: DataInfo) -> None:
    """Adversarial examples need class labels: no regression, no mixup (soft labels)."""
    if cfg.train.adversarial is None:
        return
    if info.task != "classification":
        raise ConfigError(
            f"train.adversarial needs a classification task; {cfg.data.source} is {info.task}"
        )
    if "augment" in cfg.data.remedies and not info.is_image:
        raise ConfigError(
            "train.adversarial cannot be combined with data.remedies 'augment' on a table: "
            "mixup makes soft labels"
        )


def adversarial_training(cfg: RunConfig, data: Dataset) -> AdversarialTraining | None:
    spec = cfg.train.adversarial
    if spec is None:
        return None
    info = data.info
    box = Box.from_training(data.train.X, info.x_mean, info.x_std, image=info.is_image)
    return AdversarialTraining(box, spec.eps, steps=spec.steps, norm=spec.norm, ratio=spec.ratio)
