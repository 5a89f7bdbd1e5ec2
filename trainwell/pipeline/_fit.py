"""`fit` and `resume`: config -> data -> model -> Trainer -> a complete run directory.

Everything that can be wrong with the input (config, data, sizes) is checked before the
run directory is created, so bad input never leaves a half-written run behind.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from ..config import ConfigLike, Model, RunConfig, load_config
from ..data import DataInfo, Dataset, Split
from ..errors import InputError
from ..findings import SEVERITY_STYLE, Finding
from ..health import DoctorCallback, Rebuild
from ..models import build_model, init_from
from ..runs import (
    append_jsonl,
    create_run_dir,
    read_json,
    write_json,
    write_jsonl,
    write_yaml,
)
from ..train import (
    Callback,
    EarlyStopping,
    Finetune,
    FitResult,
    ProgressBar,
    ShardedBatches,
    Trainer,
    choose_threads,
    eval_batches,
    is_writer,
    make_optimizer,
    make_scheduler,
    rank_device,
    ranks,
    save_atomic,
    use_threads,
)
from ._adversarial import adversarial_training
from ._cv import cross_validate
from ._environment import environment
from ._plan import Plan
from ._ranks import distributed_record, job, on_writer, shared_plan
from ._reference import write_reference
from ._remedies import training_remedies
from ._run import Run, finite_or_none

_EVAL_BATCH = 1024


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
        run_dir = on_writer(lambda: _start_run_dir(plan, out))
        if plan.folds:
            rng = torch.get_rng_state()  # the run itself trains as it would without folds
            cv = cross_validate(plan.data, plan.folds, run_dir, _fold(plan))
            write_json(run_dir / "cv.json", cv)
            torch.set_rng_state(rng)
        return _train(
            plan,
            run_dir,
            progress=progress,
            checkpoint=None,
            callbacks=callbacks,
            checkpoints=checkpoints,
        )


def _start_run_dir(plan: Plan, out: str | Path | None) -> Path:
    """Create the run directory and write what is known before training."""
    cfg = plan.config
    run_dir = create_run_dir(cfg.run_name(), Path(out) if out else None)
    write_yaml(run_dir / "config.yaml", cfg.to_dict())
    write_json(run_dir / "corruption.json", plan.data.corruption)
    write_json(run_dir / "data.json", asdict(plan.data.info))
    if plan.audit is not None:
        write_json(run_dir / "audit.json", plan.audit)
    if plan.transfer is not None:
        write_json(run_dir / "transfer.json", plan.transfer.to_dict())
    return run_dir


def resume(run_dir: str | Path, *, model: nn.Module | None = None, progress: bool = False) -> Run:
    """Continue a killed run from its last checkpoint, in the same directory. Under torchrun,
    rank 0 reads the run and sends its checkpoint to every rank (any number of ranks)."""
    run_dir = Path(run_dir)
    with job():
        cfg, checkpoint = on_writer(lambda: _read_run(run_dir))
        plan = shared_plan(cfg, model, progress=progress)
        repaired = _repaired_config(checkpoint)
        if repaired is not None and model is None:  # the doctor rebuilt the model: do the same
            info = plan.data.info
            plan.model = build_model(
                repaired.model,
                info.input_shape,
                info.n_outputs,
                regression=info.task == "regression",
            )
        return _train(plan, run_dir, progress=progress, checkpoint=checkpoint, repaired=repaired)


def _read_run(run_dir: Path) -> tuple[RunConfig, dict[str, Any] | None]:
    """The config and last checkpoint (None: none yet, the run starts over in place) of an
    unfinished run."""
    if not (run_dir / "config.yaml").is_file():
        raise InputError(f"{run_dir} is not a trainwell run directory (no config.yaml)")
    summary = run_dir / "summary.json"
    status = read_json(summary).get("status") if summary.is_file() else None
    if status in ("completed", "stopped_early", "diverged"):
        raise InputError(f"{run_dir} already finished (status {status}); nothing to resume")
    path = run_dir / "checkpoints" / "last.pt"
    checkpoint = torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None
    return load_config(run_dir / "config.yaml"), checkpoint


def _repaired_config(checkpoint: dict[str, Any] | None) -> RunConfig | None:
    """The config as the doctor had repaired it when `checkpoint` was written, if it had."""
    if checkpoint is None:
        return None
    doctor = checkpoint["callbacks"].get(DoctorCallback.__qualname__) or {}
    repairer = doctor.get("repairer")
    if not repairer or not repairer["repairs"]:
        return None
    return RunConfig.model_validate(repairer["config"])


def _fold(plan: Plan):
    """Trains one cross-validation fold: a fresh copy of the untrained model, same seed."""
    initial = copy.deepcopy(plan.model.state_dict())

    def train_fold(data: Dataset, fold_dir: Path) -> Run:
        torch.manual_seed(plan.config.seed)
        model = copy.deepcopy(plan.model)
        model.load_state_dict(initial)
        fold_dir.mkdir(parents=True)
        write_yaml(fold_dir / "config.yaml", plan.config.to_dict())
        fold_plan = Plan(plan.config, data, model, plan.device, plan.custom_model)
        return _train(fold_plan, fold_dir, progress=False, checkpoint=None, checkpoints=False)

    return train_fold


class _MetricsLog(Callback):
    """Keeps `metrics.jsonl` equal to the trainer's history: one line per finished epoch,
    rewritten whole at the start (a resume drops the lines after its checkpoint)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_fit_start(self) -> None:
        write_jsonl(self.path, [_finite(row) for row in self.trainer.history])

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        append_jsonl(self.path, _finite(self.trainer.history[-1]))  # a rewrite cost 15%


def _finite(row: dict[str, float]) -> dict[str, float | None]:
    return {k: finite_or_none(v) for k, v in row.items()}


def _train(
    plan: Plan,
    run_dir: Path,
    *,
    progress: bool,
    checkpoint: dict[str, Any] | None,
    callbacks: Sequence[Callback] = (),
    checkpoints: bool = True,
    repaired: RunConfig | None = None,
) -> Run:
    """Train `plan` into `run_dir`, continuing from `checkpoint` (a loaded `last.pt`) when
    given. `repaired`: the config as the doctor had repaired it when the checkpoint was
    written (model, optimizer and schedule follow it; the
    data follows the plan, and the checkpoint replays the doctor's edits to it)."""
    cfg, data = plan.config, plan.data
    spec = (repaired or cfg).train
    classification = data.info.task == "classification"
    r, writer = ranks(), is_writer()  # under DDP only rank 0 writes and shows progress
    progress = progress and writer
    device = rank_device(plan.device)

    def batches(split):
        X, y = torch.from_numpy(split.X), torch.from_numpy(split.y)
        return eval_batches(X, y, _EVAL_BATCH, device=device)  # this rank's share of rows

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
    doctor = None
    if cfg.doctor.mode != "off":
        doctor = DoctorCallback(
            on_finding=_announce if progress else None,
            mode=cfg.doctor.mode,
            rebuild=_rebuild(repaired or cfg, data.info, len(train), finetune)
            if cfg.doctor.mode == "repair"
            else None,
        )
    progress_bar = ProgressBar() if progress else None
    metrics_log = _MetricsLog(run_dir / "metrics.jsonl") if writer else None
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
        monitor=early.monitor if early else "val_loss",
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
        if not writer:
            raise
        interrupted = isinstance(exc, KeyboardInterrupt)  # resumable from its checkpoint
        write_json(
            run_dir / "summary.json",
            {
                "run_dir": str(run_dir),
                "status": "interrupted" if interrupted else "failed",
                "metrics": {},
                "findings": [],
                "repairs": [],
            },
        )
        raise
    last = len(result.history) - 1
    kept_epoch = last if trainer.kept_epoch is None else min(trainer.kept_epoch, last)
    final_val, final_test = trainer.evaluate(val), trainer.evaluate(test)
    metrics = {
        "train_loss": result.history[kept_epoch]["train_loss"],
        **{f"val_{k}": v for k, v in final_val.metrics.items()},
        **{f"test_{k}": v for k, v in final_test.metrics.items()},
        "epochs": result.epochs,
        "best_epoch": kept_epoch,
        "seconds": round(result.seconds, 3),
        "samples_per_second": round(result.samples_per_second, 1),
    }
    if result.diverged_step is not None:
        metrics["diverged_step"] = result.diverged_step
    final = doctor.rebuild.config if doctor and doctor.rebuild else cfg  # as repaired
    findings = list(doctor.findings) if doctor else []
    if not any(f.code == "divergence" for f in findings):
        findings += _outcome_findings(result)
    findings = plan.findings + findings
    repairs = plan.repairs + remedy_repairs + (doctor.repairs if doctor else [])
    run = Run(
        run_dir,
        result.status,
        metrics,
        findings,
        repairs,
        final,
        trainer.model,
        data.info,
        result.history,
    )
    if not writer:
        return run
    evaluation = {
        "val_confusion": final_val.confusion,
        "test_confusion": final_test.confusion,
        "classes": data.info.classes,
    }
    if not classification:  # residual plots in the report
        evaluation["test_predictions"] = _predictions(trainer, data.test, data.info)
    write_json(run_dir / "evaluation.json", evaluation)
    if doctor and doctor.examiner:
        write_json(run_dir / "health.json", [h.to_record() for h in doctor.examiner.histories])
    env = environment(device, threads.to_dict())
    if r.active:
        env["distributed"] = distributed_record(repaired or cfg)
    write_json(run_dir / "environment.json", env)
    if doctor and doctor.repairs:
        write_yaml(run_dir / "repaired_config.yaml", final.to_dict())
    save_atomic(
        {
            "state_dict": trainer.model.state_dict(),
            "config": final.to_dict(),
            "data": asdict(data.info),
            "custom_model": plan.custom_model,
        },
        run_dir / "model.pt",
    )
    write_reference(run_dir, trainer.model, data, cfg.seed)  # what `trainwell monitor` compares
    if (run_dir / "cv.json").is_file():
        run.cv = read_json(run_dir / "cv.json")
    write_json(run_dir / "findings.json", [f.to_dict() for f in findings])
    write_json(run_dir / "summary.json", run.summary())
    return run


@torch.no_grad()
def _predictions(trainer: Trainer, split: Split, info: DataInfo) -> dict[str, list]:
    """Test targets and predictions in the target's own units."""
    trainer.model.eval()
    X = torch.from_numpy(split.X).split(_EVAL_BATCH)
    out = torch.cat([trainer.model(x.to(trainer.device)).float().reshape(-1).cpu() for x in X])
    return {
        "true": (split.y.reshape(-1) * info.y_std + info.y_mean).tolist(),
        "predicted": (out.numpy() * info.y_std + info.y_mean).tolist(),
    }


def _rebuild(
    cfg: RunConfig, info: DataInfo, steps_per_epoch: int, finetune: Finetune | None = None
) -> Rebuild:
    """How the doctor rebuilds a model, optimizer and schedule from an edited config. A
    fine-tuned model is rebuilt from its pretrained weights (those that still fit), frozen
    as the run is at that moment."""

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
    )


def _announce(finding: Finding) -> None:
    """Print a finding on stderr as it happens (interactive runs only)."""
    style = SEVERITY_STYLE[finding.severity]
    where = f" at step {finding.step}" if finding.step is not None else ""
    Console(stderr=True).print(
        f"[{style}]{finding.severity}[/] {finding.code}{where}: {escape(finding.message)}",
        highlight=False,
    )


def _outcome_findings(result: FitResult) -> list[Finding]:
    """What the Trainer itself can say about how training ended (the doctor adds more)."""
    if result.status != "diverged":
        return []
    last = result.history[-1]
    return [
        Finding(
            code="divergence",
            severity="error",
            source="training",
            message=(
                f"Training diverged: the loss became non-finite (NaN or inf) at step "
                f"{result.diverged_step}, in epoch {last['epoch']}. Lower the learning rate, "
                "clip gradients (train.grad_clip) or check the data for NaN values."
            ),
            evidence={"step": result.diverged_step, "lr": last["lr"]},
            epoch=int(last["epoch"]),
            step=result.diverged_step,
        )
    ]
