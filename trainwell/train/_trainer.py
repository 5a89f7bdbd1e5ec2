"""The Trainer: a training loop that fits on a screen, its events, and its control surface.

The loop never calls `.item()` per step: losses stay on the device and are checked for
non-finite values every `check_every` batches and summed once per epoch. A non-finite loss
is first offered to the callbacks (`on_nonfinite_loss`): one that rolls the run back
(`restore`) lets training go on; otherwise the run has diverged.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..runs import atomic_write
from ._best import BestWeights
from ._callbacks import Callback, CallbackList
from ._distributed import (
    average_gradients,
    rank_device,
    ranks,
    share_of_global_batch,
    sum_over_ranks,
    sync_buffers,
    wrap,
)
from ._evaluate import Evaluation, evaluate

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
_PER_STEP_SCHEDULERS = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class FitResult:
    """How a fit ended. `status`: completed | stopped_early | diverged."""

    status: str
    history: list[dict[str, float]]
    steps: int
    seconds: float
    samples_per_second: float
    diverged_step: int | None = None
    stop_reason: str | None = None
    epochs: int = field(init=False)

    def __post_init__(self) -> None:
        self.epochs = len(self.history)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """`None`/"auto": CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Trainer:
    """Train any `nn.Module` with any optimizer and loss on any iterable of `(x, y)` batches.

    Callbacks see the events of `Callback`; remedies change a run only through the control
    methods (`set_lr`, `set_grad_clip`, `replace_optimizer`, `replace_model`, `snapshot`,
    `restore`, `restore_best`, `request_stop`). `best` holds the weights of the best epoch
    by `monitor`, recorded right after validation, before any callback runs.

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
        monitor: str = "val_loss",
    ) -> None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision must be fp32, bf16 or fp16; got {precision!r}")
        self.device = rank_device(resolve_device(device))
        self.ranks = ranks()
        self.model = model.to(self.device)
        self._net = wrap(self.model, self.device)  # what the training step calls
        self.loss_fn = loss_fn or (
            nn.CrossEntropyLoss() if task == "classification" else nn.MSELoss()
        )
        self.epochs, self.task, self.n_classes = epochs, task, n_classes
        self.grad_clip, self.l1, self.accumulate = grad_clip, l1, accumulate
        self.precision, self.target_scale, self.check_every = precision, target_scale, check_every
        self.callbacks = CallbackList(callbacks)
        self.best = BestWeights(monitor)
        self.kept_epoch: int | None = None  # whose weights `restore_best` put back
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.checkpoint_every = checkpoint_every  # seconds; 0: after every epoch
        self.scaler = torch.amp.GradScaler(self.device.type) if precision == "fp16" else None
        self.replace_optimizer(optimizer, scheduler)
        self.epoch = 0  # the next epoch to run
        self.step = 0  # optimizer steps taken
        self.history: list[dict[str, float]] = []
        self.seconds = 0.0
        self.samples = 0
        self._stop: tuple[str, str] | None = None  # (status, reason)
        self._train_batches: Batches | None = None
        self._val_batches: Batches | None = None
        self.batch: tuple[torch.Tensor, torch.Tensor] | None = None  # the current (x, y)
        self._losses: list[torch.Tensor] = []  # this epoch's, on the device
        self._loss_steps: list[int] = []
        self._loss_rows: list[int] = []  # DDP: this rank's rows per loss, until reduced
        self._reduced = 0  # DDP: `_losses[:_reduced]` are the global batches' losses
        self._inputs_finite: list[torch.Tensor] = []  # per batch, when a callback asks
        self._rolled_back = False  # set by `restore`: a non-finite loss was dealt with
        self._data_changes: list[dict[str, Any]] = []  # in-memory data edits, for resume

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
        if isinstance(resume_from, str | Path):
            # loaded on the CPU: RNG states must stay there; load_state_dict moves the rest
            resume_from = torch.load(resume_from, map_location="cpu", weights_only=True)
        if resume_from is not None:
            self.load_state_dict(resume_from)
        self.callbacks.attach(self)
        self.callbacks.on_fit_start()
        with _SignalsStopAfterEpoch() as signals:
            diverged_step = self._loop(train, val, signals, time.monotonic())
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
        self, train: Batches, val: Batches | None, signals: _SignalsStopAfterEpoch, saved: float
    ) -> int | None:
        """The epochs; returns the step of a divergence, if any. Checkpoints every
        `checkpoint_every` seconds and after the epoch a SIGINT or SIGTERM arrived in (then
        raises KeyboardInterrupt: the run is resumable from there). A run that ends needs
        none: it is complete, and `resume` refuses complete runs."""
        diverged_step = None
        while self.epoch < self.epochs and self._stop is None:
            _set_epoch(train, self.epoch)
            self.callbacks.on_epoch_start(self.epoch)
            started = time.perf_counter()
            train_loss, seen, diverged_step = self._train_epoch(train)
            self.seconds += time.perf_counter() - started
            if self.ranks.active:  # rows seen by all ranks; a signal to one stops all
                seen = self._agree_after_epoch(seen, signals)
            self.samples += seen
            row = {"epoch": self.epoch, "train_loss": train_loss, "lr": self.lr}
            if diverged_step is not None:
                self.history.append(row)
                self._stop = ("diverged", f"the loss became non-finite at step {diverged_step}")
                break
            if val is not None:
                row |= {f"val_{k}": v for k, v in self.evaluate(val).metrics.items()}
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

    def _agree_after_epoch(self, seen: int, signals: _SignalsStopAfterEpoch) -> int:
        """The rows all ranks saw this epoch; a SIGINT/SIGTERM that reached any rank is taken
        as reaching all, so every rank stops after the same epoch."""
        counts = torch.tensor([float(seen), float(signals.received is not None)])
        counts = sum_over_ranks(counts.to(self.device))
        if counts[1] > 0 and signals.received is None:
            signals.received = "a signal to another rank"
        return int(counts[0])

    def _train_epoch(self, batches: Batches) -> tuple[float, int, int | None]:
        """One pass; returns (mean loss, samples seen, step of the first non-finite loss)."""
        self.model.train()
        self.kept_epoch = None  # training on moves the weights past any best put back
        losses, steps = self._losses, self._loss_steps  # emptied by `restore`
        flags = self._inputs_finite
        watch_inputs = self.callbacks.check_inputs
        self._clear_epoch_losses()
        distributed = self.ranks.active
        seen, pending, diverged = 0, 0, None
        for x, y in batches:
            x, y = x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True)
            self.batch = (x, y)  # for callbacks that replay a step (the doctor)
            if watch_inputs:  # a kernel, no sync: read with the losses
                flags.append(torch.isfinite(x).all() if x.is_floating_point() else _TRUE)
            with self._no_sync(pending + 1 < self.accumulate):
                with self._autocast():
                    loss = self.loss_fn(self._net(x), y)
                if self.l1:
                    norms = torch._foreach_norm(self._l1_params, 1)
                    loss = loss + self.l1 * torch.stack(norms).sum()
                own = loss
                if distributed:  # this rank's share of the global batch's mean loss
                    own = loss * share_of_global_batch(batches, len(y), self.ranks.world)
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
        return self._first_nonfinite(len(self._losses)) if self._losses else None

    def _first_nonfinite(self, last: int) -> tuple[int, bool | None] | None:
        """(step, were its inputs finite) of the first non-finite loss among the `last`
        losses, or None; the inputs' finiteness is None when no callback asked for it."""
        if self.ranks.active:
            self._reduce_losses()
        losses = torch.stack(self._losses[-last:]).float()
        finite = torch.isfinite(losses).cpu()
        if bool(finite.all()):
            return None
        index = int((~finite).nonzero()[0])
        step = self._loss_steps[len(self._losses) - last + index]
        flags = self._inputs_finite[-last:]
        inputs_finite = bool(flags[index]) if len(flags) == last else None
        if self.ranks.active and inputs_finite is not None:  # bad inputs on any rank count
            bad = torch.tensor([float(not inputs_finite)], device=self.device)
            inputs_finite = not bool(sum_over_ranks(bad))
        return step, inputs_finite

    def _reduce_losses(self) -> None:
        """DDP: turn this rank's loss sums since the last check into the global batches' mean
        losses, in one collective (every rank calls it at the same points)."""
        start = self._reduced
        if start == len(self._losses):
            return
        rows = torch.tensor(self._loss_rows[start:], dtype=torch.float32, device=self.device)
        sums = sum_over_ranks(torch.cat([torch.stack(self._losses[start:]), rows]))
        n = len(rows)
        self._losses[start:] = list((sums[:n] / sums[n:]).unbind())
        self._reduced = len(self._losses)

    def _unhandled_nonfinite(self, last: int) -> int | None:
        """The step of the first non-finite loss among the `last` losses that no callback
        dealt with by rolling the run back (`on_nonfinite_loss`); None if all is well."""
        bad = self._first_nonfinite(last) if last else None
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
        if self.scheduler is None or isinstance(self.scheduler, _PER_STEP_SCHEDULERS):
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(row.get("val_loss", row["train_loss"]))
        else:
            self.scheduler.step()

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_DTYPES[self.precision])

    def evaluate(self, batches: Batches) -> Evaluation:
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
        )

    @property
    def steps_per_epoch(self) -> int | None:
        """Optimizer steps per epoch, when the training batches have a length."""
        batches = self._train_batches
        if batches is None or not hasattr(batches, "__len__"):
            return None
        return -(-len(batches) // self.accumulate)

    # --- the control surface --------------------------------------------------------------

    @property
    def lr(self) -> float:
        group = self.optimizer.param_groups[0]
        return float(group["lr"] / group.get("lr_scale", 1.0))

    def set_lr(self, lr: float) -> None:
        """Groups with an `lr_scale` (discriminative rates, `train.finetune`) keep it."""
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)

    def set_grad_clip(self, max_norm: float | None) -> None:
        self.grad_clip = max_norm

    def replace_optimizer(self, optimizer: torch.optim.Optimizer, scheduler: Any = None) -> None:
        """Step `optimizer` from now on; a schedule is bound to its optimizer, so it comes along
        (None: no schedule)."""
        self.optimizer, self.scheduler = optimizer, scheduler
        self._params = [p for group in optimizer.param_groups for p in group["params"]]
        self._l1_params = [p for p in self._params if p.dim() > 1]

    def replace_model(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any = None
    ) -> None:
        """Train `model` from now on (e.g. rebuilt with another activation); losses so far in
        this epoch belong to the old model and are dropped, and so are its best weights."""
        self.model = model.to(self.device)
        self._net = wrap(self.model, self.device)  # every rank rebuilds, so every rank wraps
        self.replace_optimizer(optimizer, scheduler)
        self.best.forget()
        self._clear_epoch_losses()

    def _clear_epoch_losses(self) -> None:
        self._losses.clear()
        self._loss_steps.clear()
        self._loss_rows.clear()
        self._reduced = 0
        self._inputs_finite.clear()

    def impute_inputs(self) -> int:
        """Replace NaN and inf inputs of the in-memory training and validation data by 0 (the
        training mean, as inputs are standardised); returns how many values were replaced.
        Data that is not held in memory (a DataLoader) is left as it is."""
        replaced = 0
        for batches in map(_in_memory, (self._train_batches, self._val_batches)):
            if batches is not None and batches.X.is_floating_point():
                bad = ~torch.isfinite(batches.X)
                replaced += int(bad.sum())
                batches.X[bad] = 0.0
        self._data_changes.append({"impute": True})
        return replaced

    @property
    def train_tensors(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """The training inputs and targets when they are held in memory, else None."""
        batches = _in_memory(self._train_batches)
        return (batches.X, batches.y) if batches is not None else None

    def keep_train_rows(self, keep: torch.Tensor) -> int:
        """Train from now on only on the in-memory training rows where `keep` is true (e.g.
        without rows whose labels look wrong); returns how many rows were dropped."""
        batches = _in_memory(self._train_batches)
        if batches is None:
            raise ValueError("the training data is not held in memory")
        keep = keep.to(batches.X.device)
        batches.X, batches.y = batches.X[keep], batches.y[keep]
        self._data_changes.append({"keep": keep.cpu()})
        return int((~keep).sum())

    def _replay_data_changes(self, changes: list[dict[str, Any]]) -> None:
        """Apply again, in order, the data edits of a run being resumed."""
        for change in changes:
            if "impute" in change:
                self.impute_inputs()
            else:
                self.keep_train_rows(change["keep"])

    def request_stop(self, reason: str, status: str = "stopped_early") -> None:
        """Stop after the current batch; the result carries `status` and `reason`."""
        self._stop = (status, reason)

    def snapshot(self) -> dict[str, Any]:
        """An in-memory copy of everything a step changes, for `restore`: model, optimizer,
        schedule, gradient scaler, the CPU and CUDA RNGs and the data-order generator."""
        data = getattr(self._train_batches, "state_dict", None)
        return copy.deepcopy(
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "optimizer_type": type(self.optimizer).__name__,
                "scheduler": self.scheduler.state_dict() if self.scheduler else None,
                "scaler": self.scaler.state_dict() if self.scaler else None,
                "rng": torch.get_rng_state(),
                "cuda_rng": _cuda_rng(self.device),
                "data": data() if data else None,
            }
        )

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Roll back to `snapshot`; the losses of this epoch so far are void.

        The snapshot must be of the live model and optimizer: restoring an SGD state into
        Adam, or one network's weights into another, is refused rather than half-done.
        """
        live = type(self.optimizer).__name__
        if snapshot["optimizer_type"] != live:
            raise ValueError(
                f"cannot restore a snapshot of a {snapshot['optimizer_type']} optimizer into "
                f"the live {live}: take a snapshot after replacing the optimizer"
            )
        self.model.load_state_dict(snapshot["model"])
        # the optimizer adopts the state tensors it is given and steps them in place: give
        # it a copy, or a second rollback to the same snapshot would find it advanced
        self.optimizer.load_state_dict(copy.deepcopy(snapshot["optimizer"]))
        self.optimizer.zero_grad(set_to_none=True)  # a pending step must not apply old grads
        if self.scheduler is not None and snapshot["scheduler"] is not None:
            self.scheduler.load_state_dict(snapshot["scheduler"])
        if self.scaler is not None and snapshot["scaler"] is not None:
            self.scaler.load_state_dict(snapshot["scaler"])
        torch.set_rng_state(snapshot["rng"])
        if snapshot["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(snapshot["cuda_rng"])
        if snapshot["data"] is not None and hasattr(self._train_batches, "load_state_dict"):
            self._train_batches.load_state_dict(snapshot["data"])
        self._clear_epoch_losses()
        self._rolled_back = True

    def restore_best(self) -> int | None:
        """Put back the best weights (see `best`); returns their epoch, None if there are
        none (then the model is left as it is)."""
        if self.best.weights is None:
            return None
        self.model.load_state_dict(self.best.weights)
        self.kept_epoch = self.best.epoch
        return self.kept_epoch

    # --- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs; loadable with `torch.load(weights_only=True)`."""
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "epoch": self.epoch,
            "step": self.step,
            "history": self.history,
            "seconds": self.seconds,
            "samples": self.samples,
            "rng": torch.get_rng_state(),
            "cuda_rng": _cuda_rng(self.device),
            "callbacks": self.callbacks.state_dict(),
            "data": getattr(self._train_batches, "state_dict", dict)(),
            "data_changes": self._data_changes,
            "grad_clip": self.grad_clip,
            "best": self.best.state_dict(),
            "kept_epoch": self.kept_epoch,
        }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`; the model, optimizer and schedule must already be
        built as they were then (a repaired run rebuilds them from its repaired config)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scheduler is not None and state["scheduler"] is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state["scaler"] is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.history = list(state["history"])
        self.seconds, self.samples = state["seconds"], state["samples"]
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.grad_clip = state["grad_clip"]
        self.best.load_state_dict(state["best"])
        self.kept_epoch = state["kept_epoch"]
        self._data_changes = []
        self._replay_data_changes(state["data_changes"])
        self.callbacks.load_state_dict(state["callbacks"])
        if state["data"] and hasattr(self._train_batches, "load_state_dict"):
            self._train_batches.load_state_dict(state["data"])

    def save_checkpoint(self, path: Path) -> None:
        """Write `state_dict()` atomically: a kill mid-write leaves the previous checkpoint."""
        save_atomic(self.state_dict(), path)


def save_atomic(obj: Any, path: Path) -> None:
    """`torch.save` through a temporary file and a rename."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue(), durable=True)


_TRUE = torch.tensor(True)


class _SignalsStopAfterEpoch:
    """While training in the main thread, a first SIGINT or SIGTERM lets the epoch finish
    (to checkpoint it); a second one stops at once, as usual."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalsStopAfterEpoch:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._received)
        return self

    def _received(self, number: int, frame: Any) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(self.received)
        self.received = signal.Signals(number).name

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def _set_epoch(batches: Any, epoch: int) -> None:
    """Tell a user's DataLoader's `DistributedSampler` (or sharded batches) the epoch."""
    target = batches if hasattr(batches, "set_epoch") else getattr(batches, "sampler", None)
    if target is not None and hasattr(target, "set_epoch"):
        target.set_epoch(epoch)


def _cuda_rng(device: torch.device) -> list[torch.Tensor] | None:
    return torch.cuda.get_rng_state_all() if device.type == "cuda" else None


def _in_memory(batches: Any) -> Any:
    """The in-memory batches (with tensors `X`, `y`) behind `batches`: itself or one it
    wraps (augmentation), or None for a DataLoader."""
    while batches is not None and not isinstance(getattr(batches, "X", None), torch.Tensor):
        batches = getattr(batches, "batches", None)
    return batches
