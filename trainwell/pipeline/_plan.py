"""Planning a run: validate the config, audit and remedy the data, build the model.

Everything that can be wrong with the input is found here, before any file is written;
`fit`, `resume`, tuning and the LR range test all start from a `Plan`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from ..config import RunConfig
from ..data import (
    DataInfo,
    Dataset,
    apply_data_remedies,
    finish_data,
    load_splits,
    remedy_record,
)
from ..errors import ConfigError, DataError
from ..findings import Finding
from ..models import Transfer, build_model, init_from
from ..train import frozen_names, resolve_device
from ._adversarial import check_adversarial
from ._audit import audit_data, audit_record, check_remedies
from ._cv import make_folds
from ._own_model import check_embedding_inputs, check_own_model


@dataclass
class Plan:
    config: RunConfig
    data: Dataset
    model: nn.Module
    device: torch.device
    custom_model: bool
    findings: list[Finding] = field(default_factory=list)  # of the data audit
    repairs: list[dict[str, Any]] = field(default_factory=list)  # data remedies, before training
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None  # train.cv_folds
    audit: dict[str, Any] | None = None  # audit.json: class counts, the flagged rows
    transfer: Transfer | None = None  # model.init_from: what was loaded
    frozen: list[str] = field(default_factory=list)  # train.finetune.freeze, as names


def plan_run(cfg: RunConfig, model: nn.Module | None, *, progress: bool = False) -> Plan:
    """Validate everything, audit and remedy the data, build the model; nothing is written."""
    check_remedies(cfg, None)
    if cfg.train.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device is 'cuda' but no CUDA device is available")
    torch.manual_seed(cfg.seed)
    data = load_splits(cfg)
    if model is not None:  # before the audit counts its parameters (a lazy module's have none)
        check_embedding_inputs(model, cfg)
        check_own_model(model, data)
    check_remedies(cfg, data.info.task)
    check_monitor(cfg, data.info.task)
    check_adversarial(cfg, data.info)
    findings = audit_data(cfg, data, model=model, progress=progress)[0] if cfg.data.audit else []
    audited = audit_record(data, findings) if cfg.data.audit else None
    data, repairs = apply_data_remedies(data, findings, cfg.data.remedies)
    if not len(data.train):
        raise DataError("no training rows are left after data.remedies")
    if "standardize" in cfg.data.remedies:
        unscaled = next((f for f in findings if f.code == "unscaled_features"), None)
        repairs.append(
            remedy_record("standardize", unscaled and unscaled.code, "standardised the inputs")
        )
    data = finish_data(data, cfg)
    torch.manual_seed(cfg.seed)  # the same model weights with or without the audit
    if cfg.train.batch_size > len(data.train):  # a small file under the default of 64
        Console(stderr=True).print(
            f"train.batch_size {cfg.train.batch_size} is larger than the training split "
            f"({len(data.train)} rows): each epoch is one batch of them all",
            highlight=False,
            soft_wrap=True,
        )
        cfg.train.batch_size = len(data.train)
    info = data.info
    custom = model is not None
    if model is None:
        model = build_model(
            cfg.model, info.input_shape, info.n_outputs, regression=info.task == "regression"
        )
    transfer, frozen = start_from(cfg, model, info)
    folds = make_folds(cfg, data) if cfg.train.cv_folds else None
    device = resolve_device(cfg.train.device)
    return Plan(
        cfg, data, model, device, custom, findings, repairs, folds, audited, transfer, frozen
    )


_TELL_TRANSFER: ContextVar[bool] = ContextVar("tell_transfer", default=True)


@contextmanager
def transfer_untold() -> Iterator[None]:
    """Runs inside do not print `model.init_from`'s line: a study tells it for its first
    trial, not for every trial."""
    token = _TELL_TRANSFER.set(False)
    try:
        yield
    finally:
        _TELL_TRANSFER.reset(token)


def start_from(
    cfg: RunConfig, model: nn.Module, info: DataInfo, *, say: bool = True
) -> tuple[Transfer | None, list[str]]:
    """Load `model.init_from` into `model` (one line on stderr saying what was loaded, when
    `say`) and name the parameters `train.finetune` freezes; every rank of a DDP run does
    this on its own copy of the model."""
    transfer = None
    if cfg.model.init_from is not None:
        transfer = init_from(model, cfg.model.init_from, info.classes or None)
        if say and _TELL_TRANSFER.get():
            Console(stderr=True).print(escape(transfer.line()), highlight=False, soft_wrap=True)
    finetune = cfg.train.finetune
    return transfer, frozen_names(model, finetune) if finetune is not None else []


# what a task's evaluation measures: early stopping can watch these
TASK_METRICS = {
    "classification": ("val_loss", "val_accuracy", "val_macro_f1"),
    "regression": ("val_loss", "val_mse", "val_mae", "val_r2"),
}


def check_monitor(cfg: RunConfig, task: str) -> None:
    """Early stopping watches a metric the task measures: known before training, not after
    its first epoch (a regression watching val_accuracy failed there, leaving a failed run)."""
    early = cfg.train.early_stopping
    if early is not None and early.monitor not in TASK_METRICS[task]:
        raise ConfigError(
            f"train.early_stopping.monitor is {early.monitor!r}, which a {task} run does not "
            f"measure: use one of {', '.join(TASK_METRICS[task])}"
        )
