"""The loop watch: records, around every few steps of a hand-written loop, what the
silent-bug checks read.

At an armed step it keeps a copy of the gradients and the parameter norms, and hooks every
trainable parameter (the gradient each backward brings, before it is added to `.grad`) and
the optimizer (when it steps). At the next step it compares: what `.grad` holds beyond this
step's backward, which parameters got a gradient, which ones changed. Between the two, and
on every other step, the loop runs untouched; reading `model.training` is all a plain step
costs.
"""

from __future__ import annotations

import torch
from torch import nn

from ._ascent import unjudged
from ._look_compare import compare, decay_only
from ._norm_momentum import fast_norms
from ._repeated_batch import batch_print, first_input
from ._silent import LoopRecord
from ._symmetry import matrices
from ._tensors import dense, eager
from ._unregistered import held_outside, look, never_updated
from ._watched import BATCHNORM, learning_with, mode_matters, optimized_outside, trained_parameters

ACCUMULATION_WINDOW = 64  # micro-batches a look waits for an optimizer step, at most


class LoopWatch:
    """Arms before a step, checks at the next one; `record` holds what it saw."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer | None) -> None:
        self.model, self.optimizer = model, optimizer
        named = list(model.named_parameters())
        outside = optimized_outside(model, optimizer)
        trainable = trained_parameters(model) + outside
        self.params = [p for _, p in trainable]
        self.record_params = [n for n, _ in trainable]
        given = self._given()
        modules = dict(model.named_modules())
        modes = [(name, m) for name, m in modules.items() if mode_matters(m)]
        # each with the parameters whose learning its mode matters to (`_in_eval`)
        self._modes = [(name, m, learning_with(name, m, modules)) for name, m in modes]
        self.eval_on_purpose = False  # in eval(), but not the parts that learn (`mode`)
        # batch norm modules whose batch is the loop's (SyncBatchNorm's is all the ranks')
        self._batch_norms = [
            (name, m)
            for name, m in modes
            if isinstance(m, BATCHNORM) and not isinstance(m, nn.SyncBatchNorm)
        ]
        self._norm_rows: int | None = None  # the fewest rows one normalised since `arm`
        self._norm_hook = eager(self._norm_input)  # (outside any graph torch.compile traces)
        self._batch: torch.Tensor | None = None  # the model's input since `arm`
        self._batch_hook = eager(self._note_batch)
        self.record = LoopRecord(
            params=self.record_params,
            mode_modules=[name for name, _ in modes],
            batchnorm=any(isinstance(m, BATCHNORM) for _, m in modes),
            frozen_in_optimizer=[
                n for n, p in named if not p.requires_grad and given and id(p) in given
            ],
            not_in_optimizer=self._not_given(),
            optimizer_only=[n for n, _ in outside],
            fast_norms=fast_norms(model),
        )
        self.fresh: list[torch.Tensor | None] = []  # this step's backward, per parameter
        self._pending: list[torch.Tensor | None] = []  # a gradient on its way to .grad
        self._cleared: list[bool] = []  # ... to a .grad cleared since (None): it starts there
        self.order_ok: bool | None = None  # as the last check saw the loop
        self._armed = False
        self._previous: list[torch.Tensor | None] = []
        self._norms: list[float] = []
        self._buffers: list[list[torch.Tensor]] = []  # previous, fresh, work: like the params
        self._events: list[str] = []
        self._window = 0  # micro-batches the armed look has waited for an optimizer step
        self._first_norms: list[float] | None = None  # the parameters' at the first look
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []
        # the parameters whose units may still be alike: all matrices until the first check;
        # units once parted stay so, and are not compared again
        self._alike = matrices(self.params)
        self._outside = held_outside(model)  # read once: a model does not grow lists
        self._outside_first = look(self._outside)

    def _given(self) -> set[int] | None:
        if self.optimizer is None:
            return None
        return {id(p) for group in self.optimizer.param_groups for p in group["params"]}

    def _not_given(self) -> list[str] | None:
        given = self._given()
        if given is None:
            return None
        names = zip(self.record_params, self.params, strict=True)
        return [n for n, p in names if id(p) not in given]

    def forget(self) -> None:
        """After a remedy: judge afresh, on what the loop does from now on."""
        self.record.checks.clear()
        self.record.eval_since, self.record.eval_steps = None, 0
        self.record.initial = None  # the loss at init: of the weights before the remedy
        self.record.not_in_optimizer = self._not_given()
        self.record.fast_norms = fast_norms(self.model)
        self.record.teacher, self.record.teacher_step = [], None  # read again at a look
        self.record.other_carried = self.record.other_cleared = 0  # judged again at looks

    @property
    def idle(self) -> bool:
        """Nothing to compare at this step, and the model in train mode as at the last."""
        training = self.model.training or self.eval_on_purpose
        return not self._armed and training and self.record.eval_since is None

    def mode(self, step: int, epoch: int) -> bool:
        """Note whether this step was taken in eval mode; True when the record changed. A
        model in eval() whose dropout and batch norm are in train mode wherever they act on
        what learns is so on purpose: a frozen backbone kept in eval() under a head put
        back in train()."""
        self.record.step, self.record.epoch = step, epoch
        in_eval = [] if self.model.training else self._in_eval()
        self.eval_on_purpose = not self.model.training and not in_eval
        if not in_eval:
            self.record.eval_since, self.record.eval_steps = None, 0
            return False
        self.record.eval_modules = [name for name, _ in in_eval]
        self.record.batchnorm = any(isinstance(m, BATCHNORM) for _, m in in_eval)
        if self.record.eval_since is None:
            self.record.eval_since = step
        self.record.eval_steps += 1
        return True

    def _one_row(self) -> None:
        """Note the batch norm modules in train mode that normalised a batch of one row
        since `arm` (read by their forward pre-hooks), and how many checks in a row saw one
        (a last batch of one row between fuller ones is one)."""
        record, rows, self._norm_rows = self.record, self._norm_rows, None
        norms = [name for name, _ in self._training_norms()]
        if rows != 1 or not norms:
            record.one_row_looks, record.one_row_step = 0, None
            return
        record.one_row_norm, record.one_row_looks = norms, record.one_row_looks + 1
        record.one_row_step = record.step if record.one_row_step is None else record.one_row_step

    def _training_norms(self) -> list[tuple[str, nn.Module]]:
        """The batch norm modules that normalise by the batch now: in train mode, keeping
        running statistics for eval() to use instead."""
        return [(n, m) for n, m in self._batch_norms if m.training and m.track_running_stats]

    def _norm_input(self, module: nn.Module, args: tuple) -> None:
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and x.dim():
            rows = x.shape[0]
            self._norm_rows = rows if self._norm_rows is None else min(self._norm_rows, rows)

    def _note_batch(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """The largest input of the forwards in train mode with gradients on since `arm`
        (the last of those as large), the batch the loss reads (`_repeated_batch`): a
        reference, read at the check. A smaller one beside it is not the batch: a
        physics-informed loss's boundary points, the same at every step beside collocation
        points drawn afresh, were read as one batch trained on for ever (stress 28)."""
        if not (module.training and torch.is_grad_enabled()):
            return
        x = first_input(args, kwargs)
        if x is not None and (self._batch is None or x.numel() >= self._batch.numel()):
            self._batch = x

    def arm(self) -> None:
        """Keep this step's gradients and parameter norms; hook the next backward and step."""
        self.disarm()
        if not self._buffers:  # reused at every look: no allocation (and page faults) each time
            self._buffers = [[torch.empty_like(p) for p in self.params] for _ in range(3)]
        self._previous = [
            None if p.grad is None else kept.copy_(dense(p.grad.detach()))
            for p, kept in zip(self.params, self._buffers[0], strict=True)
        ]
        self._norms = _norms(self.params).tolist()
        # the weights the gradients were taken at, to measure the update against them
        # (`_ascent`): in the buffer the check computes into, once it measured
        if not unjudged(self.optimizer):
            torch._foreach_copy_(self._buffers[2], [p.detach() for p in self.params])
        if self._first_norms is None:
            self._first_norms = self._norms
        self.fresh = [None] * len(self.params)
        self._events = []
        self._pending = [None] * len(self.params)
        self._cleared = [False] * len(self.params)
        self._versions: list[int | None] = [None] * len(self.params)
        for index, p in enumerate(self.params):
            if not p.requires_grad:  # (a teacher the repair froze, outside the model)
                continue
            self._hooks.append(p.register_hook(self._grad_hook(index)))
            self._hooks.append(p.register_post_accumulate_grad_hook(self._accumulated(index)))
        if self.optimizer is not None:
            self._hooks.append(self.optimizer.register_step_post_hook(self._step_hook))
        for _, m in self._training_norms():
            self._hooks.append(m.register_forward_pre_hook(self._norm_hook))
        self._batch = None
        self._hooks.append(self.model.register_forward_pre_hook(self._batch_hook, with_kwargs=True))
        self._armed = True

    def disarm(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
        self._pending = []
        self._armed = False

    def _grad_hook(self, index: int):
        """Hold each backward's gradient until it reaches `.grad`: one taken by
        `torch.autograd.grad` (an inner loop of MAML, a gradient penalty) never does. Note
        whether `.grad` was cleared (to None, or zeroed in place) before it arrives: what
        `.grad` then holds starts from it, whatever earlier backwards brought (a GAN's
        generator step backpropagates through the critic, whose optimizer clears it before
        the critic's own)."""
        param = self.params[index]

        def hold(grad: torch.Tensor) -> None:
            self._pending[index] = grad
            held, version = param.grad, self._versions[index]
            # cleared to None, or zeroed in place (`zero_grad(set_to_none=False)` bumps the
            # version the last accumulation left)
            self._cleared[index] = held is None or (
                version is not None and held._version != version
            )

        return hold

    def _accumulated(self, index: int):
        def keep(param: torch.Tensor) -> None:
            grad, self._pending[index] = self._pending[index], None
            if grad is None:
                return
            if not self._events or self._events[-1] != "backward":
                self._events.append("backward")
            seen = self.fresh[index]
            if seen is None or self._cleared[index]:
                self.fresh[index] = self._buffers[1][index].copy_(dense(grad.detach()))
            else:
                seen.add_(dense(grad.detach()))
            self._versions[index] = param.grad._version if param.grad is not None else None

        return keep

    def _step_hook(self, optimizer, args, kwargs) -> None:
        self._events.append("step")

    def check(self, step: int, epoch: int) -> bool:
        """Compare this step with the armed one (`_look_compare`, in buffers kept from look
        to look); True when a check was recorded."""
        if not self._armed:
            return False
        if self._accumulating():
            self.arm()  # compare across the next optimizer step instead
            return False
        self.disarm()
        self._window = 0
        self._one_row()
        check, self._alike = compare(
            self.params,
            self.fresh,
            self._previous,
            self._buffers[2],
            self._norms,
            self._first_norms,
            self._alike,
            judged=not unjudged(self.optimizer),
            step=step,
            epoch=epoch,
            order_ok=self._order_ok(),
            optimizer_stepped=None if self.optimizer is None else "step" in self._events,
            batch=None if self._batch is None else batch_print(self._batch),
        )
        if check.moved is not None:  # what decay alone moved, learned nothing
            check.moved &= ~decay_only(self.optimizer, self.params, check)
        self.record.reached = self.record.reached or bool(check.got_grad.any())
        self.record.checks.append(check)
        self._batch = None  # (a reference to the loop's input: not kept past the check)
        if self.record.checks[-1].order_ok is not None:
            self.order_ok = self.record.checks[-1].order_ok
        if self._outside:
            self.record.unregistered = never_updated(self._outside, self._outside_first)
        self._previous = []
        return True

    def _in_eval(self) -> list[tuple[str, nn.Module]]:
        """The dropout and batch-norm modules in eval mode that act on parameters that
        learn (requires_grad)."""
        return [
            (name, m)
            for name, m, learning in self._modes
            if not m.training and any(p.requires_grad for p in learning)
        ]

    def _accumulating(self) -> bool:
        """No optimizer step since the look armed, only backward passes: micro-batches of
        one accumulated step. A comparison within them says nothing of what is carried
        across steps, so the look moves on, up to `ACCUMULATION_WINDOW` micro-batches (an
        optimizer the loop never steps would keep it armed for ever)."""
        if self.optimizer is None or "step" in self._events or not self._events:
            return False
        self._window += 1
        return self._window < ACCUMULATION_WINDOW

    def backward_after_step(self) -> bool:
        """Whether, since the look armed, a backward pass reached the model's parameters
        after its optimizer stepped, and none stepped since: read when another optimizer
        steps (`OtherPlayers`), it tells that the other network's loss runs through this
        model (a generator's through the discriminator the doctor watches)."""
        return self._armed and "step" in self._events and self._events[-1] == "backward"

    def _order_ok(self) -> bool | None:
        """The optimizer stepped before this step's backward, not after it: doctor.step sits
        between backward and optimizer.step, where a repair can still change the step."""
        if self.optimizer is None or "backward" not in self._events:
            return None
        return "step" not in self._events[self._events.index("backward") :]


def _norms(tensors: list[torch.Tensor]) -> torch.Tensor:
    if not tensors:
        return torch.zeros(0)
    return torch.stack(torch._foreach_norm([t.detach() for t in tensors])).float()
