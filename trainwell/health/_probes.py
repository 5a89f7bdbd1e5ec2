"""Probes: gradient, weight and update norms per layer, dead and saturated units, the mean
bias per layer and the scale of the input batch.

A probe costs a handful of fused kernels (`torch._foreach_norm`) and one host transfer;
between probes the model runs untouched (activation hooks exist only for the probed
forward pass).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..train import mean_over_ranks
from ._bounded_output import beyond_share, bounds
from ._class_weights import EVERY_FORM, Blocks, class_weights_read, weights_of
from ._graph_walk import gates
from ._history import ProbeHistory
from ._layers import activation_modules, weighted_layers
from ._loss_graph import squashed_before
from ._probe_stats import input_rms, offset_share, target_level, top_class, unit_stat
from ._tensors import dense, eager, feeds, output_tensors, plain

# optimizers whose step does not grow with the gradient: each coordinate's is divided by
# a running root mean square of its own gradients (or taken by its sign)
SCALE_FREE: tuple[type[torch.optim.Optimizer], ...] = (
    torch.optim.Adam,
    torch.optim.AdamW,
    torch.optim.Adamax,
    torch.optim.NAdam,
    torch.optim.RAdam,
    torch.optim.RMSprop,
    torch.optim.Adagrad,
    torch.optim.Adadelta,
    torch.optim.Adafactor,
    torch.optim.Rprop,
    torch.optim.SparseAdam,
)


# optimizers whose step is lr x m / (sqrt(v) + eps): Adadelta's eps sits inside the root,
# Adafactor's is a pair of floors (neither is the added term)
ADDED_EPS = tuple(
    kind
    for kind in SCALE_FREE
    if kind not in (torch.optim.Adadelta, torch.optim.Adafactor, torch.optim.Rprop)
)


LOW_PRECISION = (torch.float16, torch.bfloat16)


def added_eps(optimizer: torch.optim.Optimizer) -> float:
    """The largest `eps` the optimizer adds to the root of its squared gradients' average
    (0: none such)."""
    if not isinstance(optimizer, ADDED_EPS):
        return 0.0
    return max((float(g.get("eps", 0.0)) for g in optimizer.param_groups), default=0.0)


class Probe:
    """Collects one probe around an optimizer step; `history` accumulates them.

    Call `arm()` before the forward pass to be probed, `before_step(step, epoch, loss)`
    after its backward pass, and `after_step()` once the optimizer has stepped.
    """

    def __init__(self, model: nn.Module, total_epochs: int = 0) -> None:
        self.model = model
        self._layers = weighted_layers(model)
        if not self._layers:
            raise ValueError("the doctor needs a model with at least one trainable weight matrix")
        self._activations = activation_modules(model)
        modules = dict(model.named_modules())
        self.history = ProbeHistory(
            layers=[name for name, _ in self._layers],
            activations=[name for name, *_ in self._activations],
            activation_kinds=[kind for _, kind, *_ in self._activations],
            total_epochs=total_epochs,
            sizes=[w.numel() for _, w in self._layers],
            rows=[w.shape[0] for _, w in self._layers],
            dense=[w.dim() == 2 for _, w in self._layers],
            chained=all(name in modules for name, _ in self._layers),
        )
        self._is_relu = np.array(
            [k in ("relu", "leaky_relu") for k in self.history.activation_kinds], dtype=bool
        )
        self._before: list[torch.Tensor] = []  # the weights before a probed step
        self._biases = [getattr(modules.get(name), "bias", None) for name, _ in self._layers]
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []
        self._activation_stats: dict[int, torch.Tensor] = {}
        self._output_ptrs: dict[int, int] = {}  # where each activation's output lies
        self._input_rms: torch.Tensor | None = None
        self._output_error: torch.Tensor | None = None
        self._other_error: torch.Tensor | None = None  # at the model's other outputs
        self._output_level: torch.Tensor | None = None
        self._output_offset: torch.Tensor | None = None
        self._target_level: torch.Tensor | None = None
        # (the share of rows the output ranks one class first, that class)
        self._top_class: tuple[torch.Tensor, torch.Tensor] | None = None
        # the bounded output and the loss's gradient at it (`_bounded_output`), read at the
        # step, where the loss and the gradient scaler's scale are known
        self._bounded: tuple[torch.Tensor, torch.Tensor] | None = None
        # each class's weight in the loss, from its gradient at the output (`_class_weights`)
        self._class_weights: tuple[torch.Tensor, Blocks] | None = None
        # the forms of cross entropy the loss holds, as a loop's doctor reads its graph
        # (`loss_forms`): the class weights read, where they can be
        self.weight_forms = EVERY_FORM
        self._error_hooked = False
        self.output_width: int | None = None  # the output's second dimension (classes)
        # at the last probed forward pass, of each tensor the model returned (the first is
        # the one read as the output): what the loss-graph checks look for
        self.output_shapes: tuple[tuple[int, ...], ...] = ()
        # (step, epoch, stats, weights before the step, idle layers, class weights)
        self._pending: tuple | None = None
        self.outside: set[int] = set()  # layers in none of the optimizer's groups (the loop's)
        # sigmoids and tanhs whose output the network multiplies with its own tensors (read
        # at the first probe from the loss's graph): gates, whose saturation is their purpose
        squashing = {"sigmoid", "tanh"} & set(self.history.activation_kinds)
        self.gates: set[int] | None = None if squashing else set()
        self._gate_outputs: dict[int, object] = {}  # index: its output's autograd node
        self._forward_hooks: tuple | None = None  # (input, output, activations'), once made

    def read_optimizer(self, optimizer: torch.optim.Optimizer, groups: bool = True) -> None:
        """Note whether `optimizer`'s steps are blind to the gradient's scale
        (`ProbeHistory.scale_free`), the rate it started at (`ProbeHistory.start_lr`) and,
        with `groups`, the layers it does not step (`ProbeHistory.idle`)."""
        self.history.scale_free = isinstance(optimizer, SCALE_FREE)
        first = optimizer.param_groups[0]
        # a scheduler's rate before it moved it; else the rate now: a rate cut by
        # ReduceLROnPlateau (which keeps none) where the loss stalled is no collapse
        self.history.start_lr = float(first.get("initial_lr", first["lr"]))
        self.history.eps = eps = added_eps(optimizer)
        dtype = first["params"][0].dtype if first["params"] else torch.float32
        if eps and dtype in LOW_PRECISION:  # the step's eps is added in the weights' dtype
            self.history.eps_underflows = float(torch.tensor(eps, dtype=dtype)) == 0.0
        if groups:
            given = {id(p) for group in optimizer.param_groups for p in group["params"]}
            self.outside = {i for i, (_, w) in enumerate(self._layers) if id(w) not in given}

    def arm(self) -> None:
        """Hook the activation modules for the next forward pass only."""
        self.disarm()
        self._activation_stats.clear()
        self._output_ptrs.clear()
        self._input_rms = None
        self._output_error, self._output_level, self._error_hooked = None, None, False
        self._other_error = None
        self._output_offset, self._target_level, self._top_class = None, None, None
        self._bounded, self._class_weights = None, None
        if self._forward_hooks is None:  # made once: each wrapper costs ~50 us to make
            self._forward_hooks = (
                eager(self._record_input),
                eager(self._record_output),
                [
                    eager(self._hook(i, kind, axis))
                    for i, (_, kind, _, axis) in enumerate(self._activations)
                ],
            )
        record_input, record_output, hooks = self._forward_hooks
        self._hooks.append(self.model.register_forward_pre_hook(record_input))
        self._hooks.append(self.model.register_forward_hook(record_output))
        for (_, _, module, _), hook in zip(self._activations, hooks, strict=True):
            self._hooks.append(module.register_forward_hook(hook))

    def _record_input(self, module: nn.Module, args: tuple) -> None:
        x = args[0] if args else None
        if self._input_rms is None and plain(x) and x.is_floating_point():
            self._input_rms = input_rms(x.detach())

    def _record_output(self, module: nn.Module, args: tuple, output: object) -> None:
        """An activation whose output is the model's (a sigmoid before BCELoss, a softmax
        before NLL) squashes the prediction, not a hidden layer: a confident classifier
        pins it at its asymptotes, which says nothing of saturated units. An output not
        squashed has the loss's gradient measured (`_record_error`). Of a tuple or a dict
        (logits and features, a mean and a variance, `{"pred": ...}`), the first tensor is
        read as the output, the others' error signal too (`_record_other_error`); every
        tensor's shape is kept for the loss-graph checks (a multi-task model's regression
        head may be its second)."""
        tensors = output_tensors(output)
        if not tensors:
            return
        self.output_shapes = tuple(tuple(t.shape) for t in tensors)
        output = tensors[0]
        self.history.batch_rows = output.shape[0] if output.dim() else 1
        if self._top_class is None and output.dim() == 2 and output.shape[1] > 1:
            self._top_class = top_class(output.detach())
        ends = {output.data_ptr(), squashed_before(output)}
        squashed = [i for i, ptr in self._output_ptrs.items() if ptr in ends]
        for index in squashed:
            self._activation_stats.pop(index, None)
        if not squashed:
            self._hook_error(output, tensors[1:])
        if output.requires_grad and bounds(output, self.history.output_bound):
            kept = output.detach()  # what the activation made: where the targets lie
            output.register_hook(lambda grad: self._record_beyond(grad, kept))

    def _hook_error(self, output: torch.Tensor, others: list[torch.Tensor]) -> None:
        """Measure the loss's gradient at `output` (`_record_error`), and its level; and at
        the `others` of the same batch (`_record_other_error`)."""
        if self._error_hooked or not output.requires_grad:
            return
        self._error_hooked = True  # the first forward's output only
        batch = output.shape[0] if output.dim() else 1
        for other in others:  # not features the head reads: their gradient holds its own
            of_batch = other.requires_grad and other.dim() and other.shape[0] == batch
            if of_batch and not feeds(other, output):
                other.register_hook(lambda grad: self._record_other_error(grad, batch))
        kept = output.detach()  # alive for the backward anyway: no copy
        output.register_hook(lambda grad: self._record_error(grad, batch, kept))
        # the output's RMS in the error's units for a mean squared error (see
        # `_record_error`): sqrt(2 / outputs per example) times it
        per_row = max(output[0].numel(), 1) if output.dim() else 1
        self.output_width = output.shape[1] if output.dim() > 1 else 1
        rms = torch.linalg.vector_norm(output.detach().float()) / math.sqrt(output.numel())
        self._output_level = rms * math.sqrt(2 / per_row)

    def _record_error(self, grad: torch.Tensor, batch: int, output: torch.Tensor) -> None:
        """The scale of the loss's gradient at the output: its norm times the square root
        of the batch, over sqrt(2). A mean cross-entropy (or binary cross-entropy) gives at
        most 1 whatever its logits (each example's `p - y` has norm sqrt(2) at most); a
        mean squared error gives 2 x the residuals' RMS / sqrt(2 x outputs), a sum over
        the batch as many times more as it holds examples. Gradients through the network
        scale with it: where it is large, under an optimizer blind to their scale, large
        gradients are the loss's doing, not an explosion (`_probe_rules._loss_made`)."""
        if self._output_error is None:
            grad = dense(grad).detach().float()
            norm = torch.linalg.vector_norm(grad)
            self._output_error = norm * math.sqrt(batch / 2)
            self._output_offset = offset_share(grad, batch)
            self._target_level = target_level(grad, batch, output)
            self._class_weights = class_weights_read(grad, output, self.weight_forms)

    def _record_beyond(self, grad: torch.Tensor, output: torch.Tensor) -> None:
        """Keep the loss's gradient at the outputs an activation bounds: where a mean squared
        error's targets lie is read from it at the step (`before_step`)."""
        if self._bounded is None:
            self._bounded = (output, dense(grad).detach())

    def _record_other_error(self, grad: torch.Tensor, batch: int) -> None:
        """The error signal at another output, as `_record_error` reads it (the largest of
        them): a mixture density network's means get gradients 1 / variance times their
        residuals, beside the bounded ones of its weights' logits, and under Adam such a
        loss's large gradients are no explosion wherever in the outputs they enter."""
        error = torch.linalg.vector_norm(dense(grad).detach().float()) * math.sqrt(batch / 2)
        if self._other_error is not None:
            error = torch.maximum(error, self._other_error)
        self._other_error = error

    def discard(self) -> None:
        """Forget the probe taken before a step that did not happen (a mixed-precision step
        the gradient scaler skipped because its gradients overflowed)."""
        self._pending = None

    @property
    def armed(self) -> bool:
        """Whether the next forward runs with the probe's hooks."""
        return bool(self._hooks)

    def disarm(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()

    def _hook(self, index: int, kind: str, axis: int) -> Callable[..., None]:
        def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if index not in self._output_ptrs and plain(output):  # the first forward only
                self._activation_stats[index] = unit_stat(output.detach(), kind, axis)
                self._output_ptrs[index] = output.data_ptr()
                squashing = kind in ("sigmoid", "tanh")
                if self.gates is None and squashing and output.grad_fn is not None:
                    self._gate_outputs[index] = output.grad_fn

        return record

    def has_gradients(self) -> bool:
        """Whether some probed weight holds a gradient (a loop may call the doctor after
        zeroing them: there is then nothing to read, and nothing has vanished)."""
        return any(w.grad is not None for _, w in self._layers)

    def before_step(
        self,
        step: int,
        epoch: int,
        loss: torch.Tensor,
        grad_scale: float = 1.0,
        loss_scale: float = 1.0,
    ) -> None:
        """Gradients are complete: read them, and keep the weights to measure the update.
        `grad_scale`: what a mixed-precision loop's gradient scaler still multiplies them by;
        `loss_scale`: what it multiplied the loss by for the backward pass (unscaled since
        or not, the output's gradient was taken at that scale)."""
        self.disarm()
        if self.gates is None and self._gate_outputs and loss.grad_fn is not None:
            self.gates, self._gate_outputs = gates(loss, self._gate_outputs), {}
        params = [w for _, w in self._layers]
        grads = [dense(w.grad) if w.grad is not None else torch.zeros_like(w) for w in params]
        idle = sorted({i for i, w in enumerate(params) if w.grad is None} | self.outside)
        weights = [w.detach() for w in params]
        norms = list(torch._foreach_norm(grads + weights))
        if grad_scale != 1.0:
            norms[: len(grads)] = torch._foreach_div(norms[: len(grads)], grad_scale)
        missing = torch.full((), float("nan"), device=loss.device)
        activations = [
            missing if self.gates and i in self.gates else self._activation_stats.get(i, missing)
            for i in range(len(self._activations))
        ]
        biases = [
            b.detach().float().mean() if isinstance(b, torch.Tensor) else missing
            for b in self._biases
        ]
        scale = self._input_rms if self._input_rms is not None else missing
        error = self._output_error if self._output_error is not None else missing
        if loss_scale != 1.0:
            error = error / loss_scale
        level = self._output_level if self._output_level is not None else missing
        offset = self._output_offset if self._output_offset is not None else missing
        target = self._target_level if self._target_level is not None else missing
        other = self._other_error if self._other_error is not None else missing
        if loss_scale != 1.0:
            other = other / loss_scale
        top, top_id = self._top_class if self._top_class is not None else (missing, missing)
        beyond = missing
        if self._bounded is not None:  # the gradient as the loss had it: unscaled
            output, grad = self._bounded
            beyond = beyond_share(output, grad / loss_scale, self.history.output_bound, loss)
        parts = [
            loss.detach().float().reshape(1),
            torch.stack(
                [
                    *norms,
                    *activations,
                    *biases,
                    scale.to(loss.device),
                    error.to(loss.device),
                    level.to(loss.device),
                    offset.to(loss.device),
                    target.to(loss.device),
                    other.to(loss.device),
                    top.to(loss.device),
                    top_id.to(loss.device),
                    beyond.to(loss.device),
                ]
            ).float(),
        ]
        # under DDP: one statistic for the global batch, the same on every rank, so every
        # rank's doctor takes the same decision (weights and gradients agree already)
        stats = mean_over_ranks(torch.cat(parts))
        if not self._before:  # kept from probe to probe: no allocation each time
            self._before = [torch.empty_like(w) for w in weights]
        torch._foreach_copy_(self._before, weights)
        self._pending = (step, epoch, stats, self._before, idle, self._class_weights)

    def after_step(self) -> None:
        """The optimizer has stepped: measure the update and move the probe to the host."""
        if self._pending is None:
            return
        step, epoch, stats, before, idle, classes = self._pending
        self._pending = None
        weights = [w.detach() for _, w in self._layers]
        n = len(weights)
        torch._foreach_sub_(before, weights)  # the buffers now hold -update
        updates = torch.stack(torch._foreach_norm(before))
        ratio = updates.float() / stats[1 + n : 1 + 2 * n].clamp_min(1e-12)
        # no weight moved at all: no optimizer step came between (a hand-written loop's
        # doctor.step at each micro-batch of an accumulated step), the update is unmeasured
        ratio = torch.where(updates.amax() > 0, ratio, float("nan"))
        read = [] if classes is None else [classes[0].reshape(-1).to(stats.device)]
        values = torch.cat([stats, *read, ratio]).cpu().numpy().astype(np.float64)  # one transfer
        n_acts = len(self._activations)
        acts = values[1 + 2 * n : 1 + 2 * n + n_acts]
        history = self.history
        history.steps.append(step)
        history.epochs.append(epoch)
        history.loss.append(float(values[0]))
        history.grad_norm.append(values[1 : 1 + n])
        history.weight_norm.append(values[1 + n : 1 + 2 * n])
        history.update_ratio.append(values[-n:])
        history.dead.append(np.where(self._is_relu, acts, np.nan))
        history.saturated.append(np.where(self._is_relu, np.nan, acts))
        history.bias_mean.append(values[1 + 2 * n + n_acts : 1 + 3 * n + n_acts])
        history.input_rms.append(float(values[1 + 3 * n + n_acts]))
        history.output_error.append(float(values[2 + 3 * n + n_acts]))
        history.output_level.append(float(values[3 + 3 * n + n_acts]))
        history.output_offset.append(float(values[4 + 3 * n + n_acts]))
        history.target_level.append(float(values[5 + 3 * n + n_acts]))
        history.other_error.append(float(values[6 + 3 * n + n_acts]))
        history.top_class.append(float(values[7 + 3 * n + n_acts]))
        history.top_class_id.append(float(values[8 + 3 * n + n_acts]))
        history.beyond_bound.append(float(values[9 + 3 * n + n_acts]))
        history.idle = idle
        weighed = None if classes is None else weights_of(values[len(stats) : -n], classes[1])
        if weighed is not None:  # (between the stats and the update ratios)
            history.class_weights.append(weighed[0])
            history.class_weights_binary = weighed[1]
