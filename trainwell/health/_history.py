"""What the doctor records: a compact history of probes and epochs that rules read.

Probes are taken every few steps; each becomes one row of small arrays, moved to the host
in a single transfer. Rules read only this history, never the model.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

FEW_ROWS = 8  # batches this small give a loss too noisy to start a history's scale from
LARGE_STEP = 0.03  # |dW| / |W| per step; ~1e-3 is healthy (Karpathy's rule of thumb)

# the most validation rows whose losses the history keeps, each epoch (`val_rows`): the
# memory and the checkpoint grow with them; a larger validation set is judged on its mean
VAL_ROWS_KEPT = 2000


@dataclass(frozen=True)
class Penalty:
    """The regularisation strong enough to keep a network from fitting its training data,
    each part 0 where it is within the usual range: measured on the live model and optimizer
    (`_evidence.strong_penalty`) so that rules can name the cause of a network that does not
    fit, and tell a penalty that shrinks the weights from dropout, which does not."""

    weight_decay: float = 0.0
    l1: float = 0.0
    dropout: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.weight_decay or self.l1 or self.dropout)

    @property
    def shrinks_weights(self) -> bool:
        return bool(self.weight_decay or self.l1)

    def __str__(self) -> str:
        parts = (
            f"weight decay {self.weight_decay:g}" if self.weight_decay else "",
            f"an L1 penalty of {self.l1:g}" if self.l1 else "",
            f"dropout {self.dropout:g}" if self.dropout else "",
        )
        return " and ".join(part for part in parts if part)


@dataclass
class ProbeHistory:
    layers: list[str]  # layers with weights, from input to output
    activations: list[str]  # activation modules, from input to output
    activation_kinds: list[str]  # relu | leaky_relu | gelu | tanh | sigmoid
    total_epochs: int = 0  # the budget, for rules that wait for part of it
    grad_clip: float | None = None  # gradient clipping in force (bounds what explodes)
    # a hand-written loop's own clip, once seen: its norm, how many times it scales down
    loop_clip: tuple[float, float] | None = None
    l1: float = 0.0  # the L1 penalty's factor in the loss (its own gradient is no explosion)
    sizes: list[int] = field(default_factory=list)  # elements per layer's weight
    rows: list[int] = field(default_factory=list)  # its first dimension: output units
    dense: list[bool] = field(default_factory=list)  # per layer: a Linear's weight matrix
    # the layers are modules' weights, in the order the model holds them: a chain from input
    # to output; not a model's raw parameters, whose last need not lie near the output nor
    # be a weight the signal passes (a Bayesian layer's spread, `weighted_layers`)
    chained: bool = True
    prior_loss: float | None = None  # the loss of predicting the class prior, if known
    # a hand-written loop's cross entropy at uniform predictions (`_loss_graph.chance_loss`)
    chance_loss: float | None = None
    # ... of a cross entropy its loss adds other terms to (`_loss_graph.term_chance`; 0:
    # none, None: not read yet): what a validation cross entropy scores knowing nothing
    term_chance: float | None = None
    # reference models' loss on unseen rows (`_baselines`), measured when first read: `reference`
    reference_loss: float | None = None
    # images: a bar a network must beat, not what the data allows (`_baselines.image_bar_loss`,
    # a logistic regression on fixed random convolution features), measured when read: `bar`
    bar_loss: float | None = None
    # those of the two left to measure when first read (`measure_later`), by name
    _later: dict[str, Callable[[], float | None]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # 0 is within the loss's reach: the Trainer's losses on its data; a hand-written loop's
    # own loss only when it is a classification loss on labels (`_loss_graph.zero_floor`)
    floor_known: bool = True
    # the data is at hand (the Trainer's), so reference models can say what loss it allows
    # (`reference`); a hand-written loop's doctor sees its batches only
    data_at_hand: bool = True
    # the train loss measures what the val loss does: the Trainer's own criterion, on rows
    # not augmented, through no active dropout and with no penalty added (set each epoch
    # by its doctor); a loop's train loss may hold terms its val loss leaves out
    train_as_val: bool = False
    # the loss's gradient at the outputs is capped (an L1 or Huber loss, `_loss_graph`): its
    # value, not that gradient, says how far the targets are (`_target_scale.far_targets`)
    capped_error: bool = False
    # a hand-written loop's loss is nll_loss read straight from a layer's scores, no
    # log_softmax between (`_loss_graph.nll_of_scores`): below 0 it has run off
    nll_of_scores: bool = False
    # ... or a binary cross entropy, which targets in [0, 1] keep at 0 or above
    binary_cross_entropy: bool = False
    # a hand-written loop's cross entropy scores the outputs against keys the loss does not
    # train (`_moving_keys.scored_against_keys`: a contrastive loss's queue): they move
    scored_against_keys: bool = False
    # every term of a hand-written loop's loss is a cross entropy on class indices
    # (`_loss_graph.labels_only`): its targets have no scale to standardise
    labels_only: bool = False
    # the terms the loss sums (`reduction="sum"`, `_loss_graph.summed_loss`; 0: a mean): its
    # gradients are that many times a mean's, whatever the targets
    summed: int = 0
    penalty: Penalty = field(default_factory=Penalty)  # strong enough to keep it from fitting
    steps: list[int] = field(default_factory=list)
    epochs: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[np.ndarray] = field(default_factory=list)  # per probe: one per layer
    weight_norm: list[np.ndarray] = field(default_factory=list)
    update_ratio: list[np.ndarray] = field(default_factory=list)  # |dW| / |W| of that step
    dead: list[np.ndarray] = field(default_factory=list)  # per activation, NaN if n/a
    saturated: list[np.ndarray] = field(default_factory=list)
    bias_mean: list[np.ndarray] = field(default_factory=list)  # per layer, NaN if no bias
    input_rms: list[float] = field(default_factory=list)  # the inputs' scale (see Probe)
    # the loss's gradient at the model's output against the most a mean cross-entropy gives
    # (see `Probe`); NaN where not measured (an output squashed or not a tensor)
    output_error: list[float] = field(default_factory=list)
    # the model's outputs' RMS in the same units (a mean squared error's residuals' RMS is
    # the error's): outputs as large as the residuals are the network's, not the targets'
    output_level: list[float] = field(default_factory=list)
    # the share of that gradient the same for every row: a shared offset (see `Probe`)
    output_offset: list[float] = field(default_factory=list)
    # the targets' RMS in the same units, as a mean squared error reads them (see `Probe`)
    target_level: list[float] = field(default_factory=list)
    # the largest such signal at the model's other outputs of the batch (a mixture's means
    # beside its weights' logits, a head beside the features a second loss reads)
    other_error: list[float] = field(default_factory=list)
    # the share of the batch's rows whose output ranks the most-ranked column first: 1.0
    # where every row is predicted one class (NaN where the output is not (rows, classes))
    top_class: list[float] = field(default_factory=list)
    top_class_id: list[float] = field(default_factory=list)  # ... and that class
    # the activation that bounds the outputs a mean squared error reads (`_bounded_output`,
    # its autograd node's name), and per probe the share of the targets beyond its range
    output_bound: str | None = None
    beyond_bound: list[float] = field(default_factory=list)
    # per probe that read them, the classes' weights the loss gives (summed over their rows)
    # and their rows, read from its gradient at the outputs (`_class_weights`); a single
    # logit's (a binary cross entropy's: negatives, positives) or several classes'
    class_weights: list[np.ndarray] = field(default_factory=list)
    class_weights_binary: bool = False
    scale_free: bool = False  # the optimizer's steps do not grow with the gradient (Adam)
    # a hand-written loop's doctor read every step's loss (on a CPU): the first non-finite
    # one was probed at its own step, before the optimizer applied it
    every_loss_read: bool = False
    # its first group's rate before any schedule moved it (`initial_lr`, which schedulers set)
    start_lr: float | None = None
    # the largest `eps` of an optimizer that divides by sqrt(v) + eps (Adam's family,
    # RMSprop, Adagrad): where it dwarfs the gradients, its steps shrink with them
    eps: float = 0.0
    # ... and the dtype of the weights it steps rounds it to 0 (Adam's 1e-8 in float16)
    eps_underflows: bool = False
    batch_rows: int = 0  # rows of a probed batch (the output's first dimension; 0: unknown)
    # the loss the run started at, carried into the histories after a remedy: where what a
    # network that learned nothing scores is unknown (a loop's regression or TD loss), a
    # runaway must rise above it, and a loss far below it has nothing left to converge
    # (`nothing_learned_loss`)
    run_start: float = math.nan
    # the first loss of the history this one goes on from where layers were frozen or
    # unfrozen (the same network in the same run): a runaway is judged from it
    goes_on_from: float = math.nan
    curves: list[dict[str, float]] = field(default_factory=list)  # one row per epoch
    # beside each curve row, the loss of each validation row (empty where unknown: a loop's
    # validation, a loss of its own, more than `VAL_ROWS_KEPT` rows): how many rows a rise
    # of the validation loss is made of
    val_rows: list[np.ndarray] = field(default_factory=list)
    # layers no step moves at the last probe: their weight had no `.grad` (its norm reads 0:
    # a `.detach()`, `no_grad` or an unused branch cut them off, nothing vanished), or it is
    # in none of the optimizer's groups (a gradient never applied cannot explode)
    idle: list[int] = field(default_factory=list)
    # steps probed off the grid because their loss ran away (`Examiner.runaway_loss`): the
    # steps before them since the last probe were read, and did not
    runaway_steps: list[int] = field(default_factory=list)

    @property
    def n_probes(self) -> int:
        return len(self.steps)

    def last(self, name: str, k: int) -> np.ndarray:
        """The last `k` probes of `name` as a (k, n) array (fewer rows if fewer probes)."""
        rows = getattr(self, name)[-k:]
        return np.array(rows, dtype=np.float64) if rows else np.empty((0, 0))

    def loss_grads(self, probe: int = -1) -> list[float]:
        """A probe's gradient norms as steps apply them (0 for an `idle` layer), less what
        the L1 penalty adds to them: its gradient,
        `l1 * sign(W)`, has norm `l1 * sqrt(size)` at most, whatever the weights, so what is
        left is at most the data loss's own gradient. In plain Python: read at every probe."""
        grads = self.grad_norm[probe].tolist()
        for i in self.idle:
            grads[i] = 0.0
        if not self.l1 or len(self.sizes) != len(grads):
            return grads
        return [
            max(g - self.l1 * math.sqrt(n), 0.0) for g, n in zip(grads, self.sizes, strict=True)
        ]

    def error_excess(self, probe: int = -1) -> float:
        """How many times a bounded loss's error signal the loss sent into the network at a
        probe (at least 1): a regression on targets in the thousands, or a loss summed over
        the batch, sends gradients that large through healthy layers, and an optimizer whose
        steps are `scale_free` takes them in its stride, as does SGD at a rate scaled down
        to them (a summed loss at the rate over the batch size): its step at that probe
        was measured below `LARGE_STEP`. 1 where unmeasured, and under SGD whose step was
        large, or not measured: its steps grow with the gradient whatever made it large. A
        loss the graph shows summed (`summed`) sends the terms it sums times a mean's,
        whatever the steps: with gradient accumulation at a rate scaled to the sum, SGD's
        measured steps were large and a healthy run was read as exploding."""
        if self.summed > 1:  # read from the loss's graph: no step needs measuring (a rate
            return float(self.summed)  # too large for it shows in the loss running away)
        try:
            excess = self.output_error[probe]
        except IndexError:  # a history kept before it was measured
            return 1.0
        if len(self.other_error) == len(self.output_error):  # not in a history kept before
            measured = [v for v in (excess, self.other_error[probe]) if not math.isnan(v)]
            excess = max(measured, default=math.nan)
        if not excess > 1.0:  # NaN > 1 is False
            return 1.0
        return excess if self.scale_free or self.small_step(probe) else 1.0

    def sum_sized(self, probe: int = -1) -> bool:
        """Whether a loss the graph shows summed (`summed`) can be why gradients are large:
        under SGD whose step was not measured small (a rate not scaled down to the sum);
        an optimizer blind to the gradient's scale takes it in its stride."""
        return self.summed > 1 and not self.scale_free and not self.small_step(probe)

    def small_step(self, probe: int) -> bool:
        """Whether every layer's measured update at `probe` was below `LARGE_STEP`."""
        try:
            row = self.update_ratio[probe].tolist()
        except IndexError:
            return False
        return _measured(row) and _largest(row) < LARGE_STEP

    def default_norms(self) -> list[float]:
        """Per layer, the weight norm torch's default initialisation gives it: sqrt(rows / 3)
        (uniform weights of variance 1 / (3 x fan-in), whatever the fan-in)."""
        return [math.sqrt(rows / 3) for rows in self.rows]

    def typical_start(self) -> float:
        """The median of the first 3 probes' losses (NaN before any): what an epoch's mean is
        compared with, where the first batch may lack the few targets far off that most
        batches hold."""
        return statistics.median(self.loss[:3]) if self.loss else math.nan

    def first_loss(self) -> float:
        """The loss the history started at: its first probe's; for batches of under
        `FEW_ROWS` rows, whose losses swing by orders of magnitude from batch to batch (one
        row's squared error), the median of the first epoch's probes. NaN before any."""
        if math.isfinite(self.goes_on_from):
            return self.goes_on_from
        if not self.loss:
            return math.nan
        if not 0 < self.batch_rows < FEW_ROWS:
            return self.loss[0]
        start = [v for v, e in zip(self.loss, self.epochs, strict=True) if e == self.epochs[0]]
        return statistics.median(start)

    def nothing_learned_loss(self) -> float:
        """The loss of a network that learned nothing (`untrained_loss`), or where that is
        unknown (a loop's regression or TD loss), the loss the run started at (`run_start`:
        in a history after a remedy; 0 in the run's first). A history begun after a remedy
        starts from trained weights, at a loss its batches can be tens of times of: a DQN's
        TD loss at 1e-6, whose batches reach 5e-5, had its rate cut 1,000x as a divergence,
        then lowered again for an oscillation of 7e-6."""
        untrained = self.untrained_loss()
        return untrained or (self.run_start if self.run_start > 0 else 0.0)  # (NaN: 0)

    def untrained_loss(self) -> float:
        """The loss of a network that has learned nothing: the class prior's, or a loop's
        cross entropy at uniform predictions; 0 where neither is known."""
        return self.prior_loss or self.chance_loss or 0.0

    def step_size(self, k: int = 3) -> float | None:
        """How far the recent steps moved the weights: the median, over the last `k` probes
        with a measured update, of the largest |dW| / |W| of a layer in one step (NaN: a
        layer not measured); None before any. The evidence and the curve rules read it."""
        rows = [row.tolist() for row in self.update_ratio[-k:]]
        largest = [_largest(row) for row in rows if _measured(row)]
        return statistics.median(largest) if largest else None

    def measure_later(self, name: str, measure: Callable[[], float | None]) -> None:
        """Leave the loss `name` (`reference_loss`, `bar_loss`) to `measure` when a rule first
        reads it (`measured`): the reference models' fits take ~0.6 s (four models, 3 folds
        of 2,000 rows), as long as a short run itself, and only a run whose loss stalls high
        is ever judged against them."""
        setattr(self, name, None)
        self._later[name] = measure

    def measured(self, name: str) -> float | None:
        """The loss `name`, measured now if it was left for later."""
        measure = self._later.pop(name, None)
        if measure is not None:
            setattr(self, name, measure())
        return getattr(self, name)

    def reference(self) -> float | None:
        """The reference models' loss (`reference_loss`)."""
        return self.measured("reference_loss")

    def bar(self) -> float | None:
        """The images' bar (`bar_loss`)."""
        return self.measured("bar_loss")

    def inherit_baselines(self, other: ProbeHistory) -> None:
        """The losses a fresh history of the same run compares with: its data's, not its
        network's (after a remedy, or loaded from a checkpoint)."""
        self.prior_loss, self.chance_loss = other.prior_loss, other.chance_loss
        self.term_chance = other.term_chance
        self.capped_error, self.summed = other.capped_error, other.summed
        self.output_bound = other.output_bound
        self.class_weights_binary = other.class_weights_binary
        self.nll_of_scores = other.nll_of_scores
        self.binary_cross_entropy = other.binary_cross_entropy
        self.scored_against_keys = other.scored_against_keys
        self.labels_only = other.labels_only
        # whose data it is: a hand-written loop's history after a remedy was read as the
        # Trainer's until its next look
        self.floor_known, self.data_at_hand = other.floor_known, other.data_at_hand
        self.every_loss_read = other.every_loss_read
        self.run_start = other.run_start if other.run_start > 0 else other.first_loss()
        self.reference_loss, self.bar_loss = other.reference_loss, other.bar_loss
        self._later = dict(other._later)

    def curve(self, key: str) -> list[float]:
        """One value per epoch (NaN where missing), as a list: a few dozen floats, which the
        curve rules read faster in Python than through numpy's first call after a step."""
        return [float(row.get(key, math.nan)) for row in self.curves]

    def state_dict(self) -> dict[str, Any]:
        """Everything, as plain lists, and the validation rows' losses as float32 tensors
        (loadable with `torch.load(weights_only=True)`; a list of floats each would be
        ten times the size)."""
        state = {
            name: [row.tolist() if isinstance(row, np.ndarray) else row for row in value]
            if isinstance(value, list)
            else value
            for name, value in vars(self).items()
            if not name.startswith("_") and name != "val_rows"  # (a measurement left for
            # later is the run's, not data)
        }
        rows = [torch.from_numpy(np.asarray(r, dtype=np.float32)) for r in self.val_rows]
        return state | {"penalty": asdict(self.penalty), "val_rows": rows}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ProbeHistory:
        arrays = ("grad_norm", "weight_norm", "update_ratio", "dead", "saturated", "bias_mean")
        values = {
            k: [np.asarray(r, dtype=np.float64) for r in v] if k in arrays else v
            for k, v in state.items()
        }
        values["val_rows"] = [np.asarray(r, dtype=np.float32) for r in state.get("val_rows", [])]
        penalty = values.get("penalty")  # words before it was measured in parts: read again
        values["penalty"] = Penalty(**penalty) if isinstance(penalty, dict) else Penalty()
        return cls(**values)

    def to_record(self) -> dict[str, Any]:
        """The per-probe statistics as plain lists (4 significant digits, NaN as None), small
        enough to keep in the run directory for the report."""
        record: dict[str, Any] = {
            "layers": self.layers,
            "activations": self.activations,
            "activation_kinds": self.activation_kinds,
            "steps": self.steps,
            "epochs": self.epochs,
            "loss": _compact(self.loss),
        }
        for name in ("grad_norm", "update_ratio", "dead", "saturated"):
            record[name] = [_compact(row) for row in getattr(self, name)]
        return record


def data_loss(row: dict[str, float]) -> float:
    """An epoch's training loss as the data alone gives it: the Trainer's `train_loss` less
    the L1 penalty it added (`train_penalty`). What the rules and the repairer judge the fit
    on; NaN for an epoch rolled back to its start."""
    return row.get("train_loss", math.nan) - row.get("train_penalty", 0.0)


def _measured(row: list[float]) -> bool:
    return any(map(math.isfinite, row))


def _largest(row: list[float]) -> float:
    """A measured probe's largest update (NaN: a layer not measured)."""
    return max(x for x in row if not math.isnan(x))


def _compact(values: Any) -> list[float | None]:
    return [float(f"{v:.4g}") if math.isfinite(v) else None for v in map(float, values)]
