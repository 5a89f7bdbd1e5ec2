"""A run under torchrun: join the process group, plan once on rank 0, share the plan.

Rank 0 loads, audits and remedies the data (the audit runs once) and sends every other rank
the resulting data, findings and repairs; every other rank then builds the same model from
the same seed, as rank 0's plan did (DDP broadcasts rank 0's weights anyway). Bad input
found on rank 0 is raised on every rank, so the whole job exits 2 rather than hanging in a
collective.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch
from torch import nn

from ..config import RunConfig
from ..data import Dataset
from ..errors import ConfigError, DataError, InputError
from ..models import build_model
from ..train import from_writer, init_from_env, is_writer, ranks, resolve_device
from ._plan import Plan, plan_run, start_from

T = TypeVar("T")

LR_SCALING = (
    "none: train.lr is used as configured; scaling it with the global batch (linear, square "
    "root) is the user's choice"
)


@contextlib.contextmanager
def job() -> Iterator[None]:
    """Inside torchrun, join its process group for the block (and leave it after, if this
    block joined it); outside torchrun, nothing."""
    created = init_from_env()
    try:
        yield
    finally:
        if created:
            torch.distributed.destroy_process_group()


def on_writer(action: Callable[[], T]) -> T:
    """`action()` run on rank 0 only, its result sent to every rank; an exception it raises is
    raised on every rank (the same `InputError` for bad input)."""
    if not ranks().active:
        return action()
    outcome: Any = None
    error: BaseException | None = None
    if is_writer():
        try:
            outcome = action()
        except Exception as exc:  # every rank must hear of it, or they wait forever
            error = exc
            outcome = exc if isinstance(exc, InputError) else RuntimeError(f"rank 0: {exc}")
    outcome = from_writer(outcome)
    if error is not None:
        raise error
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


def shared_plan(cfg: RunConfig, model: nn.Module | None, *, progress: bool) -> Plan:
    """`plan_run` on rank 0; the same plan (data, audit findings, data repairs) on every rank."""
    r = ranks()
    if not r.active:
        return plan_run(cfg, model, progress=progress)
    if cfg.train.cv_folds:
        raise ConfigError("train.cv_folds trains in one process: not with --nproc above 1")

    kept: list[Plan] = []

    def plan_on_writer() -> tuple:
        plan = plan_run(cfg, model, progress=progress)
        kept.append(plan)  # rank 0 keeps its model: built and `model.init_from` loaded once
        return plan.data, plan.findings, plan.repairs, plan.audit

    data, findings, repairs, audit = on_writer(plan_on_writer)
    check_splits_cover_ranks(data, r.world)
    if kept:  # the same seed, build and load as below: every rank's RNG stands alike
        return kept[0]
    custom = model is not None
    if model is None:  # rank 0's plan built one too: the same seed builds the same weights
        torch.manual_seed(cfg.seed)
        info = data.info
        model = build_model(
            cfg.model, info.input_shape, info.n_outputs, regression=info.task == "regression"
        )
    transfer, frozen = start_from(cfg, model, data.info, say=False)  # rank 0's plan told it
    device = resolve_device(cfg.train.device)
    return Plan(cfg, data, model, device, custom, findings, repairs, None, audit, transfer, frozen)


def check_splits_cover_ranks(data: Dataset, world: int) -> None:
    """Every rank evaluates its share of the val and test rows and the counts are summed over
    ranks: a rank with no row would leave the others waiting in the sum."""
    for name in ("val", "test"):
        rows = len(getattr(data, name))
        if rows < world:
            raise DataError(
                f"the {name} split has {rows} row(s), fewer than the {world} ranks: give it "
                f"more rows (data.split.{name}) or use fewer ranks"
            )


def distributed_record(cfg: RunConfig) -> dict[str, Any] | None:
    """How the run was spread over ranks, for environment.json and the report."""
    r = ranks()
    if not r.active:
        return None
    spec = cfg.train
    return {
        "world_size": r.world,
        "backend": torch.distributed.get_backend(),
        "per_rank_batch": spec.batch_size,
        "accumulate": spec.accumulate,
        "global_batch": spec.batch_size * r.world * spec.accumulate,
        "lr": spec.lr,
        "lr_scaling": LR_SCALING,
    }
