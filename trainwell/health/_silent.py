"""What the silent-bug checks of hand-written loops read and write: the record the loop
watch keeps (`LoopRecord`, one `LoopCheck` per look), their thresholds, and the finding
each check gives, with its one-line fix (`LOOP_FIX`). The checks themselves are in
`_loop_rules.py` and beside the graph and module readers they need.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..findings import Finding

if TYPE_CHECKING:
    from ._batch_mixing import MixedRows
    from ._batch_softmax import OffClasses
    from ._initial_loss import InitialLoss

LOOP_FIX = {
    "stale_gradients": "call optimizer.zero_grad() right after every optimizer.step() "
    "(with gradient accumulation, only there)",
    "frozen_parameters": "build the optimizer from model.parameters() once the model is "
    "complete, and set requires_grad=True on what should learn",
    "eval_mode_training": "call model.train() at the start of every training epoch (after "
    "evaluating with model.eval())",
    "probabilities_as_logits": "return the raw scores (logits) from the model and apply "
    "softmax/sigmoid only to predict: CrossEntropyLoss and BCEWithLogitsLoss apply their own "
    "(NLLLoss, CTCLoss and KLDivLoss take log_softmax; PoissonNLLLoss takes the log-rate "
    "before exp, or the rate with log_input=False)",
    "bounded_output": "end the network with its last linear layer (a regression's output "
    "takes any value), or scale the targets into the activation's range",
    "broadcast_loss": "give the loss outputs and targets of one shape: squeeze the model's "
    "(n, 1) output to (n,) (out.squeeze(-1)), or view the targets as (n, 1)",
    "softmax_over_batch": "take the softmax over the classes' dimension (dim=1 of (batch, "
    "classes) scores, dim=-1 of (batch, time, classes) ones), or give the raw scores to "
    "cross_entropy, which takes its own",
    "softmax_wrong_dim": "take the softmax over the classes' dimension (dim=-1 of (batch, "
    "time, classes) scores), or give the raw scores to cross_entropy, which takes its own",
    "batch_mixing": "set batch_first=True on the RNN and attention layers fed (batch, time, "
    "...) values (or feed them (time, batch, ...) ones), and permute / transpose, not view / "
    "reshape, to move the batch's dimension",
    "batch_norm_one_row": "train on batches of 8 rows or more, or normalise without the "
    "batch: nn.GroupNorm or nn.LayerNorm (or keep the batch norm modules in eval(), their "
    "statistics frozen)",
    "high_initial_loss": "initialise the weights for their fan-in (the output layer's small), "
    "so that a classifier's loss starts near ln(classes)",
    "symmetric_units": "initialise the weights randomly: drop the constant or zero "
    "initialisation (nn.Linear and nn.Conv* initialise themselves), or call "
    "nn.init.kaiming_uniform_ / xavier_uniform_ on them (of a product, as LoRA's A and B, "
    "one factor random)",
    "inverted_class_weights": "weigh each class by its inverse frequency: pos_weight = "
    "negatives / positives, weight = counts.sum() / counts (or leave the weights out)",
    "batch_norm_momentum": "set the batch norm's momentum to torch's share of each new "
    "batch (0.1 by default; Keras' momentum m is torch's 1 - m)",
    "drowned_output": "standardise that output's targets (subtract their mean, divide by "
    "their standard deviation), or scale its term of the loss down, so that each term's "
    "gradient is of one order",
    "clip_after_step": "clip between loss.backward() (scaler.unscale_(optimizer) under a "
    "gradient scaler) and optimizer.step(): clip_grad_norm_(model.parameters(), max_norm), "
    "then optimizer.step()",
    "loss_accuracy_mismatch": "compute the validation loss and accuracy from the same "
    "outputs, as the model will be used: a decoder fed the targets shifted right by one (or "
    "its own predictions), accuracy = (out.argmax(-1) == y).float().mean() over the classes",
    "teacher_trained": "compute the teacher's outputs under torch.no_grad() (or .detach() "
    "them), and build the optimizer from the student's parameters only",
    "gradient_ascent": "subtract the step from the weights (p.sub_(step), p -= lr * "
    "p.grad), as torch's optimizers do",
    "repeated_batch": "draw each step's batch from the loader's iterator (for x, y in "
    "loader: one iterator an epoch, shuffle=True), and seed once, before the loop",
    "unused_parameters": "remove the unused modules, route the input through them, or drop "
    "the .detach(), .item() (a loss term added as a number) or torch.no_grad() that cuts "
    "them off the loss (or, to freeze them on purpose, set requires_grad=False)",
}


@dataclass(frozen=True)
class LoopThresholds:
    """The numbers the silent-bug checks compare against, with their origin."""

    sustain: int = 2  # checks (or steps, for eval mode) a symptom must hold, as the doctor's
    carried_share: float = 0.01  # |grad - this batch's gradient| / |grad|: float noise is ~1e-7
    carried_cosine: float = 0.99  # ... and that excess points along the previous gradient
    real_gradient: float = 1e-5  # |grad| / |param| below this is float noise (a conv bias
    # before batch norm gets ~1e-8), too small for an update to show in float32


@dataclass
class LoopCheck:
    """One check: the gradients of one step compared with those of the step before."""

    step: int
    epoch: int
    got_grad: np.ndarray  # per parameter: a gradient flowed into it in this step's backward
    fresh_scale: np.ndarray  # per parameter: |that gradient| / |the parameter|
    changed: np.ndarray  # per parameter: its values changed since the previous step
    grad_norm: float  # |.grad| at this step, over every parameter that has one
    fresh_norm: float  # |the gradient this step's backward produced|
    carried_norm: float  # |.grad - fresh|: what .grad held before this backward
    previous_norm: float  # |.grad| at the previous step
    carried_cosine: float  # cos(carried, previous .grad): 1 when nothing cleared it
    order_ok: bool | None  # doctor.step came after backward, before optimizer.step
    moved: np.ndarray | None = None  # per parameter: its values changed since the first look
    optimizer_stepped: bool | None = None  # its step ran in between (None: optimizer unknown)
    carried_shares: np.ndarray | None = None  # per parameter applied: |carried| / |.grad|
    carried_cosines: np.ndarray | None = None  # ... and cos(carried, previous .grad)
    shrunk: np.ndarray | None = None  # ... and carried = -k * fresh (clipped, unscaled)
    carried_fit: tuple[float, float, float] | None = None  # .grad = a fresh + b previous:
    # (a, b, the share of |.grad| that leaves); a = b < 1 where clipping scaled their sum
    # per parameter: this step's backward gave it a gradient, and `.grad` was None at
    # doctor.step (zero_grad(set_to_none=True) between backward and step)
    wiped: np.ndarray | None = None
    # per parameter: its units (the rows of a matrix or kernel, along its first axis) all
    # alike, and all alike and zero (False where it has one row or dimension, or where
    # they parted at an earlier check)
    same_rows: np.ndarray | None = None
    zero_rows: np.ndarray | None = None
    # the model's input at this step's first forward: its sum, norm, first and
    # last values and size (`_repeated_batch.batch_print`); None where it had none
    batch: tuple[float, ...] | None = None
    # cos(the optimizer's update, the gradient at the look): below 0 going down (`_ascent`)
    uphill: float | None = None
    loss_zero: bool = False  # the loss was exactly 0 at this step (a margin met by every row)
    stepped: bool = field(init=False)  # the optimizer changed some parameter in between
    complete: bool = field(init=False)  # ... and a backward reached some parameter

    def __post_init__(self) -> None:
        self.stepped = bool(self.changed.any())
        self.complete = self.stepped and bool(self.got_grad.any())

    def symmetric(self, before: LoopCheck | None = None) -> list[int]:
        """The parameters whose units are all alike though a step could have parted them:
        their gradient is exactly zero (then none will), or the optimizer changed them
        alike and they were alike at the check `before` too (Adam's first step is about
        the rate times the gradient's sign, and rows of one nonzero value whose gradients
        share their signs stay alike through it; its next steps part them). Alike units get
        alike gradients: nothing in training ever tells them apart."""
        if self.same_rows is None or not self.optimizer_stepped:
            return []
        stuck = self.got_grad & (self.fresh_scale == 0)
        if before is not None and before.same_rows is not None and before.optimizer_stepped:
            stuck = stuck | (self.changed & before.same_rows)
        return [int(i) for i in np.flatnonzero(self.same_rows & stuck)]


@dataclass
class LoopRecord:
    """What the doctor saw of a hand-written loop; the checks read only this."""

    params: list[str]  # the trainable parameters (requires_grad), by name
    mode_modules: list[str]  # dropout (p > 0) and batch-norm modules
    batchnorm: bool  # some of them (of `eval_modules`, once seen) normalise batches
    frozen_in_optimizer: list[str]  # requires_grad=False, yet given to the optimizer
    not_in_optimizer: list[str] | None  # trainable but in no param group (None: no optimizer)
    optimizer_only: list[str] = field(default_factory=list)  # trained outside the model
    checks: list[LoopCheck] = field(default_factory=list)
    reached: bool = False  # some check's backward reached the parameters (kept by a remedy)
    loss_chain: list[str] | None = None  # autograd nodes from the loss to a softmax/sigmoid
    loss_chain_step: int | None = None
    # the outputs' shape and the one the loss broadcast them to, where it did
    broadcast: tuple[list[int], list[int]] | None = None
    broadcast_step: int | None = None
    # a (log-)softmax over dim 0 a loss read (its node), or one in the graph (described)
    batch_softmax: str | None = None
    batch_softmax_step: int | None = None
    off_classes: OffClasses | None = None  # a (log-)softmax over another dim than the classes
    off_classes_step: int | None = None
    initial: InitialLoss | None = None  # the loss at the first look, against chance's
    mixed_rows: MixedRows | None = None  # the rows of a batch mix in the model (`_batch_mixing`)
    mixed_rows_step: int | None = None
    # batch norm modules in train mode at checks whose batch (as they read it) held one
    # row, and how many such checks ran in a row (a last batch of one row is one), since
    one_row_norm: list[str] = field(default_factory=list)
    # batch norm modules whose running statistics follow the last batches (`_norm_momentum`)
    fast_norms: list[tuple[str, float]] = field(default_factory=list)
    one_row_looks: int = 0
    one_row_step: int | None = None
    eval_modules: list[str] = field(default_factory=list)  # of those, in eval() where it matters
    eval_since: int | None = None  # first step of the current run of steps in eval mode
    eval_steps: int = 0  # steps in a row taken in eval mode
    step: int = 0  # the last step the doctor looked at (a plain step's loss aside)
    epoch: int = 0
    all_dead: bool = False  # at the last probe, some layer's units were all dead
    # attributes holding tensors outside model.parameters() that get gradients but never
    # change (`_unregistered`)
    unregistered: list[str] = field(default_factory=list)
    # (step, norm applied, norm clipped to) where a clip scaled the gradients after the
    # optimizer's step (`_loop_clip`)
    clipped_after: list[tuple[int, float, float]] = field(default_factory=list)
    # tensors the optimizer steps outside the model that a KL divergence's targets carry
    # gradient to (`_teacher`), and the step of the look that saw it
    teacher: list[str] = field(default_factory=list)
    teacher_step: int | None = None
    # another network's optimizer, its steps judged to apply gradients never cleared since
    # the doctor's loss left its own there, and those judged cleared (`_other_stale`)
    other_optimizer: str | None = None
    other_carried: int = 0
    other_cleared: int = 0
    other_carried_step: int | None = None


LoopRule = Callable[[LoopRecord, LoopThresholds], Finding | None]


def loop_finding(
    code: str,
    severity: str,
    message: str,
    record: LoopRecord,
    step: int,
    *,
    fix: str | None = None,
    **evidence: object,
) -> Finding:
    """A loop check's finding: the message, then the fix (the code's usual one unless a
    cause has its own)."""
    return Finding(
        code=code,
        severity=severity,
        source="training",
        message=f"{message} Fix: {fix or LOOP_FIX[code]}.",
        evidence={k: _plain(v) for k, v in evidence.items()},
        epoch=record.epoch,
        step=step,
    )


def epoch_finding(
    code: str,
    severity: str,
    message: str,
    *,
    epoch: int,
    step: int,
    evidence: dict[str, object],
    trainer_fix: str | None = None,
    data_at_hand: bool = False,
) -> Finding:
    """An epoch-end check's finding, alike in loops and the Trainer (`_epoch_checks`): the
    message, then the fix, the Trainer's own where it has one and the data is at hand."""
    fix = trainer_fix if trainer_fix is not None and data_at_hand else LOOP_FIX[code]
    return Finding(
        code=code,
        severity=severity,
        source="training",
        message=f"{message} Fix: {fix}.",
        evidence=evidence,
        epoch=epoch,
        step=step,
    )


def _plain(value: object) -> object:
    if isinstance(value, float):
        return None if not math.isfinite(value) else float(f"{value:.4g}")
    return value


def few_names(names: list[str], at_most: int = 5) -> str:
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")
