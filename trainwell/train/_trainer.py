"""The Trainer: a training loop that fits on a screen, and its events.

The control methods that change a run's state are `_control_surface.py`, which calls
`_control.py` for rollback and data edits; checkpoints are `_checkpoint.py`, the
non-finite loss check `_losses.py`, and stopping after the epoch on SIGINT/SIGTERM
`_signals.py`.

The loop never calls `.item()` per step: losses stay on the device and are checked for
non-finite values every `check_every` batches and summed once per epoch. A non-finite loss
is first offered to the callbacks (`on_nonfinite_loss`): one that rolls the run back
(`restore`) lets training go on; otherwise the run has diverged.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _checkpoint
from ._batches import check_reiterable, pair
from ._best import BestWeights, default_monitor
from ._callbacks import Callback, CallbackList, FitResult
from ._checkpoint import save_atomic
from ._control_surface import ControlSurface, trainable
from ._distributed import (
    average_gradients,
    global_rows_source,
    rank_device,
    ranks,
    resolve_device,
    share_of_global_batch,
    sync_buffers,
    wrap,
)
from ._evaluate import Evaluation, evaluate
from ._losses import first_nonfinite, input_extremes
from ._signals import SignalsStopAfterEpoch, agree_after_epoch

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_PER_STEP_SCHEDULERS = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
_STEP_ORDER_WARNING = r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"


class Trainer(ControlSurface):
    """Train any `nn.Module` with any optimizer and loss on any iterable of `(x, y)` batches.

    Callbacks see the events of `Callback`; remedies change a run only through the control
    methods (`set_lr`, `set_grad_clip`, `replace_optimizer`, `replace_model`, `snapshot`,
    `restore`, `restore_best`, `request_stop`). `best` holds the weights of the best epoch
    by `monitor` (by default validation accuracy for a classifier, loss otherwise: see
    `_best.py`), recorded right after validation, before any callback runs.

    Under torchrun (an initialised process group) the Trainer is data-parallel: it trains
    through a DDP wrapper of `model` (callbacks still see `model` itself) and backpropagates
    each rank's loss weighted by its share of the global batch (see `_distributed.py`).
    Per-step hooks get this rank's loss; the losses it checks for NaN and averages into the
    history are the global batches', summed over ranks at each periodic check (one
    collective per `check_every` steps, none per step), so every rank sees the same.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: LossFn | None = None,
        *,
        epochs: int = 10,
        task: str = "classification",
        n_classes: int = 0,
        scheduler: Any = None,
        grad_clip: float | None = None,
        l1: float = 0.0,
        accumulate: int = 1,
        precision: str = "fp32",
        device: str | torch.device | None = None,
        callbacks: Sequence[Callback] = (),
        target_scale: tuple[float, float] = (0.0, 1.0),
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: float = 0.0,
        check_every: int = 16,
        monitor: str | None = None,
    ) -> None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be fp32, bf16 or fp16; got {precision!r}")
        self.device = rank_device(resolve_device(device))
        self.ranks = ranks()
        self.model = model.to(self.device)
        self._wrap()
        self.loss_fn = loss_fn or (
            nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()
        )
        self.epochs, self.task, self.n_classes = epochs, task, n_classes
        self.grad_clip, self.l1, self.accumulate = grad_clip, l1, accumulate
        self.precision, self.target_scale, self.check_every = precision, target_scale, check_every
        self.callbacks = CallbackList(callbacks)
        self.best = BestWeights(monitor or default_monitor(task))
        self.kept_epoch: int | None = None  # whose weights `restore_best` put back
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.checkpoint_every = checkpoint_every  # seconds; 0: after every epoch
        self.scaler = torch.amp.GradScaler(self.device.type) if precision == "fp16" else None
        self.replace_optimizer(optimizer, scheduler)
        self.epoch = 0  # the next epoch to run
        self.step = 0  # optimizer steps taken
        self.history: list[dict[str, float]] = []
        # the last epoch's loss on each validation row, where a callback asks for them
        # (`val_rows_kept`: in sets of that many rows or fewer), in the order of the first
        # epoch's pass (None: no validation, a loss whose rows are unknown, rows shuffled):
        # the doctor reads how many rows a rise of the mean is made of
        self.val_rows_kept = 0
        self.val_row_losses: np.ndarray | None = None
        self._val_order: str | None = None
        self.seconds = 0.0
        self.samples = 0
        self._stop: tuple[str, str] | None = None  # (status, reason)
        self._train_batches: Batches | None = None
        self._val_batches: Batches | None = None
        self.batch: tuple[torch.Tensor, torch.Tensor] | None = None  # the current (x, y)
        self._losses: list[torch.Tensor] = []  # this epoch's, on the device
        self._penalties: list[torch.Tensor] = []  # ... and the L1 penalty's part of them
        self._loss_steps: list[int] = []
        self._loss_rows: list[int] = []  # DDP: this rank's rows per loss, until reduced
        self._reduced = 0  # DDP: `_losses[:_reduced]` are the global batches' losses
        # per batch, when a callback asks: its smallest and largest input
        self._input_extremes: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._rolled_back = False  # set by `restore`: a non-finite loss was dealt with
        self._data_changes: list[dict[str, Any]] = []  # in-memory data edits, for resume
        self._rows_before: list[tuple[torch.Tensor, torch.Tensor]] = []  # of each row drop

    # --- the loop -------------------------------------------------------------------------

    def fit(
        self,
        train: Batches,
        val: Batches | None = None,
        *,
        resume_from: str | Path | dict[str, Any] | None = None,
    ) -> FitResult:
        """Train for the remaining epochs; `resume_from` is a checkpoint written by `fit` (its
        path, or its contents already loaded)."""
        self._train_batches, self._val_batches, self._stop = train, val, None
        self._val_order = None  # this fit's validation rows pair with their first pass
        check_reiterable(train, "training", self.epochs - self.epoch)
        check_reiterable(val, "validation", self.epochs - self.epoch)
        if isinstance(resume_from, str | Path):
            # loaded on the CPU: RNG states must stay there; load_state_dict moves the rest
            resume_from = torch.load(resume_from, map_location="cpu", weights_only=True)
        if resume_from is not None:
            self.load_state_dict(resume_from)
        self.callbacks.attach(self)
        self.callbacks.on_fit_start()
        with SignalsStopAfterEpoch() as signals:
            diverged_step = self._loop(val, signals, time.monotonic())
        status, reason = self._stop or ("completed", None)
        result = FitResult(
            status,
            list(self.history),
            self.step,
            self.seconds,
            self.samples / self.seconds if self.seconds else 0.0,
            diverged_step,
            reason,
        )
        self.callbacks.on_fit_end(result)
        return result

    def _loop(
        self, val: Batches | None, signals: SignalsStopAfterEpoch, saved: float
    ) -> int | None:
        """The epochs; returns the step of a divergence, if any. Checkpoints every
        `checkpoint_every` seconds and after the epoch a SIGINT or SIGTERM arrived in (then
        raises KeyboardInterrupt: the run is resumable from there). A run that ends needs
        none: it is complete, and `resume` refuses complete runs."""
        diverged_step = None
        while self.epoch < self.epochs and self._stop is None:
            train = self._train_batches  # a remedy may have wrapped them (augmentation)
            _set_epoch(train, self.epoch)
            self.callbacks.on_epoch_start(self.epoch)
            started = time.perf_counter()
            train_loss, seen, diverged_step = self._train_epoch(train)
            self.seconds += time.perf_counter() - started
            if self.ranks.active:  # rows seen by all ranks; a signal to one stops all
                seen = agree_after_epoch(seen, signals, self.device)
            self.samples += seen
            row = {"epoch": self.epoch, "train_loss": train_loss, "lr": self.lr}
            if self._penalties:  # the loss the data alone gives is train_loss less this
                row["train_penalty"] = float(torch.stack(self._penalties).float().mean())
            if diverged_step is not None:
                self.history.append(row)
                self._stop = ("diverged", f"the loss became non-finite at step {diverged_step}")
                break
            self.val_row_losses = None
            if val is not None:
                scored = self.evaluate(val, rows=self.val_rows_kept)
                row |= {f"val_{k}": v for k, v in scored.metrics.items()}
                self._val_order = self._val_order or scored.row_order
                if scored.row_order == self._val_order:  # (a shuffled pass pairs no row)
                    self.val_row_losses = scored.row_losses
            self._epoch_scheduler_step(row)
            self.history.append(row)
            self.best.update(self.epoch, row, self.model)  # before callbacks change the model
            self.epoch += 1
            self.callbacks.on_epoch_end(self.epoch - 1, row)
            due = time.monotonic() - saved >= self.checkpoint_every
            if self.checkpoint_dir is not None and (due or signals.received):
                self.save_checkpoint(self.checkpoint_dir / "last.pt")
                saved = time.monotonic()
            if signals.received:
                raise KeyboardInterrupt(f"{signals.received}: stopped after epoch {self.epoch - 1}")
        return diverged_step

    def _train_epoch(self, batches: Batches) -> tuple[float, int, int | None]:
        """One pass; returns (mean loss, samples seen, step of the first non-finite loss)."""
        self.model.train()
        self.kept_epoch = None  # training on moves the weights past any best put back
        losses, steps = self._losses, self._loss_steps  # emptied by `restore`
        extremes = self._input_extremes
        watch_inputs = self.callbacks.check_inputs
        self._clear_epoch_losses()
        distributed = self.ranks.active
        counted = global_rows_source(batches) if distributed else None  # found once an epoch
        seen, pending, diverged = 0, 0, None
        for batch in batches:
            x, y = batch if type(batch) is tuple and len(batch) == 2 else pair(batch)
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            self.batch = (x, y)  # for callbacks that replay a step (the doctor)
            if watch_inputs:  # one reduction, no sync: read with the losses
                extremes.append(input_extremes(x))
            with self._no_sync(pending + 1 < self.accumulate):
                with self._autocast():
                    loss = self.loss_fn(self._net(x), y)
                if self.l1:
                    norms = torch._foreach_norm(self._l1_params, 1)
                    penalty = self.l1 * torch.stack(norms).sum()
                    self._penalties.append(penalty.detach())
                    loss = loss + penalty
                own = loss
                if distributed:  # this rank's share of the global batch's mean loss
                    own = loss * share_of_global_batch(counted, len(y), self.ranks.world)
                scaled = own / self.accumulate if self.accumulate > 1 else own
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            if distributed:  # this rank's loss sum, until the next check sums it over ranks
                losses.append(loss.detach().float() * len(y))
                self._loss_rows.append(len(y))
            else:
                losses.append(loss.detach())
            steps.append(self.step)
            seen += len(y)
            pending += 1
            if pending == self.accumulate:
                self._optimizer_step(loss)
                pending = 0
            if losses and len(losses) % self.check_every == 0:  # one host sync
                diverged = self._unhandled_nonfinite(self.check_every)
                if diverged is not None:
                    break
            if self._stop is not None:
                break
        if pending:  # flush a partial accumulation at the end of the epoch
            if self._net is not self.model:  # its micro-batches skipped DDP's gradient sync
                average_gradients(self._params)
            self._optimizer_step(loss)
        if not seen:
            raise ValueError("the training data yielded no batches")
        if diverged is None:  # the losses since the last check (the windows before passed)
            diverged = self._unhandled_nonfinite(len(losses) % self.check_every)
        if diverged is not None:
            return math.nan, seen, diverged
        if not losses:  # everything was rolled back
            return math.nan, seen, None
        return float(torch.stack(losses).float().mean()), seen, None

    def _no_sync(self, accumulating: bool) -> contextlib.AbstractContextManager:
        """DDP syncs gradients only on the micro-batch that completes an accumulation."""
        if accumulating and self._net is not self.model:
            return self._net.no_sync()
        return contextlib.nullcontext()

    def first_nonfinite_loss(self) -> tuple[int, bool | None] | None:
        """(step, were its inputs finite) of this epoch's first non-finite loss so far, or
        None. Syncs with the device: for callbacks that have already seen a bad loss."""
        return first_nonfinite(self, len(self._losses)) if self._losses else None

    def _unhandled_nonfinite(self, last: int) -> int | None:
        """The step of the first non-finite loss among the `last` losses that no callback
        dealt with by rolling the run back (`on_nonfinite_loss`); None if all is well."""
        bad = first_nonfinite(self, last) if last else None
        if bad is None:
            return None
        self._rolled_back = False
        self.callbacks.on_nonfinite_loss(*bad)
        handled, self._rolled_back = self._rolled_back, False
        return None if handled else bad[0]

    def _optimizer_step(self, loss: torch.Tensor) -> None:
        if self.scaler:
            self.scaler.unscale_(self.optimizer)  # callbacks and clipping see true gradients
        self.callbacks.on_after_backward(self.step, loss)
        if self.grad_clip:
            nn.utils.clip_grad_norm_(self._params, self.grad_clip)
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if isinstance(self.scheduler, _PER_STEP_SCHEDULERS):
            self.scheduler.step()
        self.callbacks.on_batch_end(self.step, loss)
        self.step += 1

    def _epoch_scheduler_step(self, row: dict[str, float]) -> None:
        """Advance an epoch-based schedule. A remedy at an epoch's last step gives the run a
        new optimizer and schedule that take no step before this one: the epoch still
        ended, so the schedule still advances, without torch's warning that it was called
        "before optimizer.step()"."""
        if self.scheduler is None or isinstance(self.scheduler, _PER_STEP_SCHEDULERS):
            return
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_STEP_ORDER_WARNING, category=UserWarning)
            if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(row.get("val_loss", row["train_loss"]))
            else:
                self.scheduler.step()

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_DTYPES[self.precision])

    def evaluate(self, batches: Batches, rows: int = 0) -> Evaluation:
        """Loss and metrics of `batches`; `rows`: each row's loss too, in a pass of at most
        that many rows, on one process."""
        if self.ranks.active:
            sync_buffers(self.model)
        return evaluate(
            self.model,
            batches,
            self.loss_fn,
            task=self.task,
            n_classes=self.n_classes,
            device=self.device,
            target_scale=self.target_scale,
            autocast=None if self.precision == "fp32" else self._autocast(),
            reduce=self.ranks.active and getattr(batches, "sharded", False),
            rows=rows,
        )

    @property
    def steps_per_epoch(self) -> int | None:
        """Optimizer steps per epoch, when the training batches have a length (a DataLoader
        over an IterableDataset without one has `__len__`, which raises)."""
        batches = self._train_batches
        try:
            return -(-len(batches) // self.accumulate)
        except TypeError:
            return None

    def _wrap(self) -> None:
        """What the training step calls: the model, or its DDP wrapper under torchrun."""
        self._net = wrap(self.model, self.device)
        self._wrapped_trainable = trainable(self.model)

    def _clear_epoch_losses(self) -> None:
        self._losses.clear()
        self._penalties.clear()
        self._loss_steps.clear()
        self._loss_rows.clear()
        self._reduced = 0
        self._input_extremes.clear()

    # --- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs (`_checkpoint`)."""
        return _checkpoint.state_dict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`, the model, optimizer and schedule built as they
        were then (`_checkpoint`)."""
        _checkpoint.load_state_dict(self, state)

    def save_checkpoint(self, path: Path) -> None:
        """Write `state_dict()` atomically: a kill mid-write leaves the previous checkpoint."""
        save_atomic(self.state_dict(), path)


def _set_epoch(batches: Any, epoch: int) -> None:
    """Tell a user's DataLoader's `DistributedSampler` (or sharded batches) the epoch."""
    target = batches if hasattr(batches, "set_epoch") else getattr(batches, "sampler", None)
    if target is not None and hasattr(target, "set_epoch"):
        target.set_epoch(epoch)
