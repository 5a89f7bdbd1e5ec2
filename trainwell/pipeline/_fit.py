"""`fit`: config -> data -> model -> Trainer -> a complete run directory; `train_plan`, the
part `resume` shares: assemble the callbacks and the Trainer, train, hand the outcome to
`_run_files`.

Everything that can be wrong with the input (config, data, sizes) is checked before the
run directory is created, so bad input never leaves a half-written run behind.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from ..config import ConfigLike, Model, RunConfig, load_config
from ..data import DataInfo, Dataset
from ..findings import SEVERITY_STYLE, Finding
from ..health import DoctorCallback, Rebuild
from ..models import build_model, init_from
from ..runs import write_json, write_yaml
from ..train import (
    Callback,
    EarlyStopping,
    Finetune,
    ProgressBar,
    ShardedBatches,
    Trainer,
    choose_threads,
    clone_state,
    default_monitor,
    eval_batches,
    is_writer,
    make_optimizer,
    make_scheduler,
    rank_device,
    ranks,
    use_threads,
)
from ._adversarial import adversarial_training
from ._cv import cross_validate
from ._environment import environment
from ._plan import Plan
from ._ranks import distributed_record, job, on_writer, shared_plan
from ._remedies import filled_as_trained, training_remedies
from ._run import Run
from ._run_files import (
    EVAL_BATCH,
    MetricsLog,
    finished_run,
    start_run_dir,
    write_finished,
    write_unfinished,
)


def fit(
    config: ConfigLike = None,
    *,
    model: nn.Module | None = None,
    out: str | Path | None = None,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
    checkpoints: bool = True,
    **overrides: Any,
) -> Run:
    """Train the run described by `config` (a YAML path, a dict or a `RunConfig`).

    Keyword overrides use `__` for dots: `fit("run.yaml", train__lr=0.01)`. Pass `model`
    to train your own `nn.Module` on the configured data, `callbacks` to add your own
    Trainer callbacks (tuning reports each epoch to its pruner through one).
    `checkpoints=False` skips the per-epoch checkpoint (the run cannot be resumed; tuning
    trials, which are rerun rather than resumed, save the time).
    """
    cfg = load_config(config, {k.replace("__", "."): v for k, v in overrides.items()})
    with job():  # under torchrun: every rank runs this, rank 0 writes
        plan = shared_plan(cfg, model, progress=progress)
        run_dir = on_writer(lambda: start_run_dir(plan, out))
        if plan.folds:
            rng = torch.get_rng_state()  # the run itself trains as it would without folds
            cv = cross_validate(plan.data, plan.folds, run_dir, _fold(plan))
            write_json(run_dir / "cv.json", cv)
            torch.set_rng_state(rng)
        return train_plan(
            plan,
            run_dir,
            progress=progress,
            checkpoint=None,
            callbacks=callbacks,
            checkpoints=checkpoints,
        )


def _fold(plan: Plan):
    """Trains one cross-validation fold: a fresh copy of the untrained model, same seed."""
    initial = clone_state(plan.model)

    def train_fold(data: Dataset, fold_dir: Path) -> Run:
        torch.manual_seed(plan.config.seed)
        model = copy.deepcopy(plan.model)
        model.load_state_dict(initial)
        fold_dir.mkdir(parents=True)
        write_yaml(fold_dir / "config.yaml", plan.config.to_dict())
        fold_plan = Plan(plan.config, data, model, plan.device, plan.custom_model)
        return train_plan(
            fold_plan, fold_dir, progress=False, checkpoint=None, checkpoints=False, reference=False
        )

    return train_fold


def train_plan(
    plan: Plan,
    run_dir: Path,
    *,
    progress: bool,
    checkpoint: dict[str, Any] | None,
    callbacks: Sequence[Callback] = (),
    checkpoints: bool = True,
    repaired: RunConfig | None = None,
    reference: bool = True,
) -> Run:
    """Train `plan` into `run_dir`, continuing from `checkpoint` (a loaded `last.pt`) when
    given. `repaired`: the config as the doctor had repaired it when the checkpoint was
    written (model, optimizer and schedule follow it; the
    data follows the plan, and the checkpoint replays the doctor's edits to it).
    `reference=False`: no `reference.npz` (for runs never monitored: CV folds)."""
    cfg, data = plan.config, plan.data
    spec = (repaired or cfg).train
    classification = data.info.task == "classification"
    counts = np.bincount(data.train.y.astype(np.int64)) if classification else ()
    r, writer = ranks(), is_writer()  # under DDP only rank 0 writes and shows progress
    progress = progress and writer
    device = rank_device(plan.device)

    def batches(split):
        X, y = torch.from_numpy(split.X), torch.from_numpy(split.y)
        return eval_batches(X, y, EVAL_BATCH, device=device)  # this rank's share of rows

    train, loss_fn, remedy_repairs = training_remedies(  # global batches: per rank × ranks
        data, cfg.data.remedies, plan.findings, spec.batch_size * r.world, cfg.seed, device
    )
    if r.active:
        train = ShardedBatches(train, r.rank, r.world)
    adversarial = adversarial_training(cfg, data)  # train.adversarial: PGD inputs in batches
    if adversarial is not None:
        train = adversarial.wrap(train)
    val, test = batches(data.val), batches(data.test)
    optimizer = make_optimizer(spec, plan.model)
    early = (
        EarlyStopping(
            spec.early_stopping.monitor, spec.early_stopping.patience, spec.early_stopping.min_delta
        )
        if spec.early_stopping
        else None
    )
    # before the doctor: it probes only what learns
    finetune = Finetune(spec.finetune, plan.frozen) if spec.finetune is not None else None
    if finetune is not None:
        finetune.prepare(plan.model)  # frozen before the Trainer wraps it for DDP, not after
    doctor = None
    if cfg.doctor.mode != "off":
        doctor = DoctorCallback(
            on_finding=_announce if progress else None,
            mode=cfg.doctor.mode,
            rebuild=_rebuild(repaired or cfg, data.info, len(train), finetune, plan.custom_model)
            if cfg.doctor.mode == "repair"
            else None,
        )
    progress_bar = ProgressBar() if progress else None
    metrics_log = MetricsLog(run_dir / "metrics.jsonl") if writer else None
    extras = (finetune, adversarial, doctor, early, metrics_log, progress_bar)
    callbacks = [*(c for c in extras if c is not None), *callbacks]
    trainer = Trainer(
        plan.model,
        optimizer,
        loss_fn,
        epochs=spec.epochs,
        task=data.info.task,
        n_classes=data.info.n_outputs if classification else 0,
        scheduler=make_scheduler(spec, optimizer, len(train)),
        grad_clip=spec.grad_clip,
        l1=spec.l1,
        accumulate=spec.accumulate,
        precision=spec.precision,
        device=device,
        callbacks=callbacks,
        target_scale=(data.info.y_mean, data.info.y_std),
        checkpoint_dir=run_dir / "checkpoints" if checkpoints and writer else None,
        checkpoint_every=spec.checkpoint_every,
        monitor=early.monitor if early else default_monitor(data.info.task, counts),
    )
    threads = choose_threads(
        spec.threads, trainer.model, torch.from_numpy(data.train.X[:1]), spec.batch_size
    )
    if r.active:  # the ranks of a machine share its CPUs
        share = max(1, threads.available // r.local_world)
        threads = replace(threads, threads=min(threads.threads, share))
    try:
        with use_threads(threads.threads):
            result = trainer.fit(train, val, resume_from=checkpoint)
    except BaseException as exc:
        if writer:
            write_unfinished(run_dir, interrupted=isinstance(exc, KeyboardInterrupt))
        raise
    if trainer.imputed_inputs:  # the doctor's repair: the test rows as the training rows
        test = batches(filled_as_trained(data).test)
    final_val, final_test = trainer.evaluate(val), trainer.evaluate(test)
    run = finished_run(
        plan, run_dir, trainer, result, final_val, final_test, doctor, remedy_repairs
    )
    if not writer:
        return run
    env = environment(device, threads.to_dict())
    if r.active:
        env["distributed"] = distributed_record(repaired or cfg)
    write_finished(run, plan, trainer, final_val, final_test, doctor, env, reference=reference)
    return run


def _rebuild(
    cfg: RunConfig,
    info: DataInfo,
    steps_per_epoch: int,
    finetune: Finetune | None = None,
    own_model: bool = False,
) -> Rebuild:
    """How the doctor rebuilds a model, optimizer and schedule from an edited config. A
    fine-tuned model is rebuilt from its pretrained weights (those that still fit), frozen
    as the run is at that moment; the user's own model is not rebuilt (`own_model`)."""

    def model(spec: Model) -> nn.Module:
        net = build_model(
            spec, info.input_shape, info.n_outputs, regression=info.task == "regression"
        )
        if spec.init_from is not None:
            init_from(net, spec.init_from, info.classes or None)
        return finetune.prepare(net) if finetune is not None else net

    return Rebuild(
        config=cfg.model_copy(deep=True),
        model=model,
        optimizer=lambda spec, net: make_optimizer(spec, net),
        scheduler=lambda spec, optimizer: make_scheduler(spec, optimizer, steps_per_epoch),
        own_model=own_model,
        input_shape=tuple(info.input_shape),
    )


def _announce(finding: Finding) -> None:
    """Print a finding on stderr as it happens (interactive runs only)."""
    style = SEVERITY_STYLE[finding.severity]
    where = f" at step {finding.step}" if finding.step is not None else ""
    Console(stderr=True).print(
        f"[{style}]{finding.severity}[/] {finding.code}{where}: {escape(finding.message)}",
        highlight=False,
    )
