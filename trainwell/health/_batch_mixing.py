"""Rows of a batch that mix: a recurrent or attention layer built without `batch_first=True`
(torch's default for `nn.GRU`, `nn.LSTM`, `nn.TransformerEncoderLayer` and
`nn.MultiheadAttention`) fed `(batch, time, features)` takes the batch for time: each row's
prediction is read from the rows before it in the batch (a GRU's) or from all of them (an
encoder's attention), and its own sequence's steps are read as separate examples. Nothing
fails, the shapes agree, the loss falls. A `view` where a `permute` was meant mixes rows
alike.

The doctor measures it once, at the first forward in train mode after its first look: the
model's input (a float one of 3 dimensions or more, a table's rows where a part of the
model runs time first, or an embedding's output for token ids) is made to carry a
gradient, and two backward passes of the output, from the rows other than the first and
from the first alone (random weights, `retain_graph`: the loop's own backward then runs as
always), give what the first row's input moves of the others' outputs against what it
moves of its own. Where rows are independent, as every batched
model's should be, the first is exactly zero. Where a part runs time first, an output that
reads no input at all is told too: a class token read as `h[:, 0]` along the batch's axis
(stress 29). Not measured: a batch norm that normalises
by the batch (in train mode, or without running statistics), which mixes rows on purpose;
an output whose rows are not the input's (a time-first model fed time first ends with
`(batch, k)` rows of the input's second dimension), nor `(rows, rows)` similarities;
sequence outputs of a model with a time-first part (fed time first, its rows are time
steps, which are meant to mix); a model whose probe is armed at that forward (the doctor's
own hooks would read these backward passes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..findings import Finding
from ._graph_walk import GRAPH_NODES, nodes_below
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding
from ._tensors import eager, output_tensors, plain
from ._watched import BATCHNORM, time_first_parts

MIXED = 0.01  # the first row's pull on the other rows' outputs, over its pull on its own
VIEWED = 0.1  # ... where no part runs time first
SET = ", unless each batch is one set attended over on purpose (a graph's nodes)"
TRIES = 8  # forwards the measure waits for one it can read (train mode, gradients on)


@dataclass(frozen=True)
class MixedRows:
    """What the measure saw: the first row's input moved the other rows' outputs."""

    share: float  # |d (other rows' outputs) / d row 0| over |d (row 0's output) / d row 0|
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    time_first: tuple[str, ...]  # the model's parts built without batch_first=True
    sequences: bool = True  # the input holds sequences (or images), not a table's rows
    ignored: bool = False  # no output depends on the input at all


def normalises_by_batch(model: nn.Module) -> bool:
    """A batch norm that mixes rows as it is meant to: in train mode, or without running
    statistics."""
    return any(
        isinstance(m, BATCHNORM) and (m.training or not m.track_running_stats)
        for m in model.modules()
    )


class RowMixing:
    """Measures, once, whether the model's rows mix (`arm` before a forward; the result in
    `mixed`, `done` once measured or given up)."""

    def __init__(self, model: nn.Module, busy: Callable[[], bool]) -> None:
        self.model = model
        self._busy = busy  # whether the doctor's probe hooks the next forward
        self.mixed: MixedRows | None = None
        self.done = False
        self._tries = 0
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []
        self._measuring = False  # this forward is the one measured
        self._given: torch.Tensor | None = None  # the loop's own input at that forward
        self._version = 0  # ... and the version of its gradient-carrying copy
        self._input: torch.Tensor | None = None  # what the first row's pull is measured at
        self._embedded: torch.Tensor | None = None

    def arm(self) -> None:
        if self.done or self._hooks:
            return
        model = self.model
        self._hooks.append(model.register_forward_pre_hook(eager(self._before), with_kwargs=True))
        self._hooks.append(model.register_forward_hook(eager(self._after), with_kwargs=True))

    def disarm(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks.clear()
        self._input = self._embedded = None

    def _give_up(self) -> None:
        self.done = True
        self.disarm()

    def _before(self, module: nn.Module, args: tuple, kwargs: dict):
        try:
            return self._prepare(module, args, kwargs)
        except Exception:  # never the loop's failure: measured or not, it trains on
            self._give_up()
            return None

    def _prepare(self, module: nn.Module, args: tuple, kwargs: dict):
        self._measuring, self._input, self._embedded, self._given = False, None, None, None
        if self._busy():
            return None  # the probe's forward: the next one
        x = args[0] if args else None
        usable = isinstance(x, torch.Tensor) and plain(x) and x.dim() >= 2
        if not (module.training and torch.is_grad_enabled() and usable and x.shape[0] > 1):
            self._tries += 1  # (an evaluation, a batch of one row): the next forward
            if self._tries >= TRIES:
                self._give_up()
            return None
        if normalises_by_batch(module) or _backward_hooked(module):
            self._give_up()  # (rows mixed on purpose; hooks the passes would call)
            return None
        # a table's rows (2 dimensions) mix on purpose in a graph network (its nodes): read
        # only where a part of the model takes the batch for time
        if x.is_floating_point() and (x.dim() >= 3 or time_first_parts(module)):
            # a tensor that carries a gradient, with the input's values (not a leaf: a model
            # may write into its input in place, which `_after` copies back to the loop's)
            self._given = x
            self._input = x + torch.zeros((), dtype=x.dtype, device=x.device, requires_grad=True)
            self._version = self._input._version
            self._measuring = True
            return (self._input, *args[1:]), kwargs
        embedding = _first_embedding(module)
        if x.dim() == 2 and not x.is_floating_point() and embedding is not None:
            self._given = x
            self._hooks.append(embedding.register_forward_hook(eager(self._embeds)))
            self._measuring = True
            return None
        self._give_up()
        return None

    def _embeds(self, module: nn.Module, args: tuple, output: object) -> None:
        """The embedding of the model's token ids (`(*ids.shape, width)`), not another call
        of it (positions: `pos(arange(T))`)."""
        ids = self._given
        if self._embedded is not None or not isinstance(output, torch.Tensor) or ids is None:
            return
        if output.requires_grad and tuple(output.shape[:-1]) == tuple(ids.shape):
            self._embedded = output

    def _after(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        if self.done or not self._measuring:
            return
        at = self._input if self._input is not None else self._embedded
        x = args[0] if args else None
        tensors = output_tensors(output)
        try:
            if self._input is not None and self._input._version != self._version:
                with torch.no_grad():  # written into in place: as the loop's input would be
                    self._given.copy_(self._input)
            if at is not None and tensors and isinstance(x, torch.Tensor):
                self.mixed = _read(module, x, at, tensors[0])
        except Exception:  # never the loop's failure
            self.mixed = None
        self._give_up()


def _backward_hooked(model: nn.Module) -> bool:
    """Backward hooks on the model's modules, or global ones: the measure's passes would
    call them (per-sample gradients, gradient logging)."""
    hooked = any(m._backward_hooks or m._backward_pre_hooks for m in model.modules())
    modules = nn.modules.module
    return hooked or bool(modules._global_backward_hooks or modules._global_backward_pre_hooks)


def _custom_functions(out: torch.Tensor) -> bool:
    """Whether the graph below `out` holds a Python `autograd.Function` (a custom backward
    that may run only once, reentrant checkpointing): not walked twice more. A graph too
    large to walk whole is not read either."""
    walked = 0
    for node in nodes_below([out.grad_fn]):
        walked += 1
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            return True
    return walked >= GRAPH_NODES


def _first_embedding(model: nn.Module) -> nn.Embedding | None:
    return next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)


def _read(model: nn.Module, x: torch.Tensor, at: torch.Tensor, out: torch.Tensor):
    """The first row's pull on the other rows' outputs, over its pull on its own; None where
    not measured (the module's docstring)."""
    n = x.shape[0]
    if at.shape[0] != n or not out.requires_grad or not out.is_floating_point():
        return None
    if out.dim() == 0 or out.shape[0] != n or (out.dim() == 2 and out.shape[1] == n):
        return None
    time_first = time_first_parts(model)
    sequences = x.dim() >= 3 or not x.is_floating_point()  # (a table's rows: features)
    if (out.dim() > 2 and time_first) or (sequences and x.shape[1] == n):
        return None  # fed time first, its rows would be time steps: meant to mix
    if _custom_functions(out):
        return None
    # weights over the last axis only (a language model's logits: no copy of their size)
    generator = torch.Generator().manual_seed(0)
    weights = torch.randn(out.shape[-1] if out.dim() > 1 else 1, generator=generator)
    weights = weights.to(out.device, out.dtype)
    scores = out @ weights if out.dim() > 1 else out * weights
    # (a graph torch.autograd.grad cannot walk raises: not read)
    others = torch.autograd.grad(scores[1:].sum(), at, retain_graph=True)[0]
    itself = torch.autograd.grad(scores[:1].sum(), at, retain_graph=True)[0]
    pull = float(torch.linalg.vector_norm(itself[0].float()))
    shapes = (tuple(x.shape), tuple(out.shape), tuple(time_first), sequences)
    if pull == 0 and time_first and not others.any():
        # no output reads the input: a time-first part's output read along the wrong axis
        # (`h[:, 0]`, a class token, where `h[0]` was the first step of every row)
        return MixedRows(0.0, *shapes, ignored=True)
    if not pull > 0:
        return None
    share = float(torch.linalg.vector_norm(others[0].float())) / pull
    # without a time-first part to name, only a mix a view makes (shares of 1 and more),
    # not a statistic of the batch a model reads on purpose (a GAN critic's minibatch
    # standard deviation: 0.025)
    return MixedRows(share, *shapes) if share >= (MIXED if time_first else VIEWED) else None


def batch_mixing(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """The model's rows mix (`RowMixing`): an error where a part runs time first, the
    cause it names, fed sequences or images; else a warning, as a batch may be one set
    whose rows are meant to be read together."""
    mixed = r.mixed_rows
    if mixed is None:
        return None
    shapes = f"input {list(mixed.input_shape)}, output {list(mixed.output_shape)}"
    pull = (
        f"the first row's input moves the other rows' outputs by {mixed.share:.2g} of what "
        f"it moves its own ({shapes}), where rows of a batch are independent and it should "
        f"move them by exactly 0"
    )
    if mixed.ignored:
        pull = (
            f"no output depends on the input at all ({shapes}): the gradient of every "
            f"output at the first row's input is exactly 0, the model's time-first output "
            f"read along the wrong axis"
        )
    evidence = {
        "share": mixed.share,
        "input_shape": list(mixed.input_shape),
        "output_shape": list(mixed.output_shape),
        "input_ignored": mixed.ignored,
    }
    if mixed.time_first:
        # fed rows of a table, the model may attend over the batch as one set on purpose
        # (a graph's nodes, a point cloud): a warning there
        return loop_finding(
            "batch_mixing",
            "error" if mixed.sequences else "warning",
            f"{'The model ignores its input' if mixed.ignored else 'The rows of a batch mix'}: "
            f"{pull}. {few_names(list(mixed.time_first))} take "
            f"their sequences time first (batch_first=False, torch's default) and are fed "
            f"the batch first: they read the batch as time, each row's prediction made "
            f"from the other rows, and its own steps as separate examples"
            f"{'' if mixed.sequences else SET}.",
            r,
            r.step if r.mixed_rows_step is None else r.mixed_rows_step,
            time_first=list(mixed.time_first),
            **evidence,
        )
    return loop_finding(
        "batch_mixing",
        "warning",
        f"The rows of a batch mix: {pull}. A view or reshape of (batch, ...) values where a "
        f"permute or transpose was meant reads the rows into each other.",
        r,
        r.step if r.mixed_rows_step is None else r.mixed_rows_step,
        fix="keep the batch the first dimension through the model: permute / transpose "
        "(not view / reshape) to move the others, and batch_first=True on RNN and attention "
        "layers; unless each batch is one set whose rows are meant to be read together",
        **evidence,
    )
