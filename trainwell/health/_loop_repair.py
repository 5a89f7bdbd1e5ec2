"""Repair inside a hand-written loop: what the doctor can change without rebuilding.

`doctor.step(loss)` runs between `loss.backward()` and `optimizer.step()`, so the doctor can
still change the step about to be taken: roll model and optimizer back to the last healthy
state it keeps in memory, lower the learning rate, clip gradients (an optimizer pre-step
hook), clear gradients after every step (a post-step hook), put the model back in train
mode, hand forgotten parameters to the optimizer. Everything else needs a change to the
model or the loop, which is the user's to make: the finding names it (`evidence.recommended`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..findings import Finding
from ..train import BestWeights
from ._curve_base import loop_score
from ._history import LARGE_STEP
from ._loop_advice import recommend
from ._loop_hooks import all_finite, clear_grad
from ._loop_orders import RATE_CUTS, loop_order
from ._loop_remedies import LOOP_REMEDIES
from ._loop_restore import Kept, copies_outside, keep, put_back_model, put_back_tensors, roll_back
from ._probes import SCALE_FREE
from ._rebuild import SWUNG_CODES, NotApplicable
from ._rules import CURVE_CODES, LEARNING_CODES, Thresholds, killed_units
from ._silent import LOOP_FIX, few_names

ROLLBACK = {"divergence", "exploding_gradient", "dying_relu", "stale_gradients"}
# what the best epoch is chosen by where the loop reports no score (`loop_score`)
LOSSES_BY = ("val_loss", "train_loss")


@dataclass
class _Treatment:
    finding: Finding
    remaining: list[str]
    record: dict[str, Any] = field(default_factory=dict)
    applied_epoch: int = 0
    loss_at: float = math.nan  # the loss when the remedy was applied
    was_stalled: bool = False  # ... no lower than at the loop's start: it was not learning


class LoopRepairer:
    """Keeps the last healthy model + optimizer state and applies the loop remedies. A dying
    ReLU the steps killed rolls back to the last healthy state whose units were alive
    (`units_dying`), as the Trainer's repairer does."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        thresholds: Thresholds | None = None,
        cure_epochs: int = 1,
        keep_grads: bool = False,
        epochs: int = 0,
    ) -> None:
        """`keep_grads`: a rollback zeroes the gradients of the pending step rather than
        dropping them (a gradient scaler's `unscale_` and `step` need them to exist);
        `epochs`: the loop's budget (0: unknown)."""
        self.model, self.optimizer, self.cure_epochs = model, optimizer, cure_epochs
        self.epochs, self.epoch = epochs, 0  # the budget, and the epoch the loop is in
        self.thresholds = thresholds or Thresholds()
        self.keep_grads = keep_grads
        self.repairs: list[dict[str, Any]] = []
        self.clip: float | None = None
        self.loop_clip: float | None = None  # the norm the loop clips at itself, once seen
        # another network's optimizer that steps gradients never cleared (`_other_stale`)
        self.carried_by: torch.optim.Optimizer | None = None
        self.train_mode = False  # put the model back in train mode at every step
        # per rate cut, by its record's index: the optimizer and its rates before (`withdraw`)
        self.rate_cuts: dict[int, tuple[torch.optim.Optimizer, list[float]]] = {}
        self.hooks: dict[str, Any] = {}
        self.skipped = 0  # optimizer steps left out: their loss or gradients not finite
        self.treating: dict[str, _Treatment] = {}
        self._healthy = keep(model, optimizer)  # the state the doctor started from
        self._alive = self._healthy  # ... the last whose ReLU units were not dying
        self.best = BestWeights()  # by the best metric the loop reports (`keep_best`)
        self._best_outside: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._best_loss = math.nan  # the best epoch's training loss
        self._untrained = 0.0  # the loop's chance level (0: unknown), as `epoch_end` had it
        self._past_best = False  # the last rollback went to a state before the best epoch

    def put_back(self, tensors: list[torch.Tensor]) -> str:
        """Put `tensors` (of those the optimizer trains besides the model) back as the last
        healthy state kept them; returns where that was."""
        chosen = {id(t) for t in tensors}
        put_back_tensors([(live, old) for live, old in self._healthy.outside if id(live) in chosen])
        return self._healthy.where

    def keep_healthy(self, fresh_start: bool = False) -> None:
        """The state now is the one to roll back to: a remedy changed what an older one
        would bring back (biases set to 0, parameters handed to the optimizer). After weights
        drawn afresh (`fresh_start`) it is the start of another network: no epoch's."""
        where = "start" if fresh_start else self._healthy.where
        self._healthy = self._alive = keep(self.model, self.optimizer, where, self.epoch)

    def evidence_of(self, code: str) -> dict[str, Any]:
        """The evidence of the finding under treatment for `code`."""
        return self.treating[code].finding.evidence

    def treat(
        self,
        finding: Finding,
        epoch: int,
        fresh: list[torch.Tensor | None],
        params: list,
        losses: tuple[float, float] = (math.nan, math.nan),
    ) -> bool:
        """Apply the next remedy for `finding`; False when none is left (then the finding
        names the change it recommends). `fresh` is this step's own gradient, per param;
        `losses`: the loss now and at the loop's start (NaN: unknown)."""
        code = finding.code
        evidence = finding.evidence
        self.epoch = epoch
        # NaN a batch's forward or backward pass made: the steps that hold it are to be
        # skipped, and the weights are sound (no rollback) unless a step applied it already
        nonfinite = evidence.get("forward_nonfinite") or evidence.get("backward_nonfinite")
        weights_sound = bool(evidence.get("forward_nonfinite")) or bool(
            nonfinite and all_finite([p.detach() for p in self.model.parameters()])
        )
        if nonfinite and "skip_nonfinite" in self.hooks:
            # expected: such batches still make NaN, and are skipped; said once (no reset of
            # the history to report it again: nothing new was applied)
            finding.severity = "info"
            finding.message += " Such steps are skipped (skip_nonfinite), this one too."
            return False
        treatment = self.treating.get(code)
        if treatment is not None and treatment.record.get("remedy") == "skip_nonfinite":
            self.treating.pop(code)  # a runaway after NaN batches: the rate's, treated anew
            treatment = None
        if treatment is None:
            earlier = [r for r in self.repairs if r["finding"] == code]
            if earlier and earlier[-1]["cured"]:  # cured, and back some epochs later
                earlier[-1].setdefault("came_back", epoch)
            treatment = self.treating[code] = _Treatment(finding, self._order(finding))
            now, start = losses  # a problem that keeps a network from learning, an epoch in
            stalled = epoch > 0 and now >= (1 - self.thresholds.slow_drop) * start
            treatment.was_stalled = stalled and code in LEARNING_CODES
        elif treatment.record.get("cured") is None:  # it came back: the remedy did not cure
            treatment.record.update(cured=False, why_not="the problem came back")
        treatment.loss_at = losses[0]
        killed = killed_units(finding)
        self._past_best = False
        while treatment.remaining:
            name = treatment.remaining.pop(0)
            try:  # (a forward pass's NaN step was dropped: `drop_step`)
                rolled = None if weights_sound else self._start_from(code, params, fresh, killed)
                changed = LOOP_REMEDIES[name](self, params)
            except NotApplicable:
                continue
            treatment.record = {
                "step": finding.step,
                "epoch": epoch,
                "remedy": name,
                "finding": code,
                "changed": changed,
                "rolled_back_to": rolled,
                "cured": None,
            }
            treatment.applied_epoch = epoch
            if rolled is not None:
                # the state the remedy starts from, its change in place: a later rollback
                # comes back here, not to a state before it (held while under treatment)
                self._healthy = self._alive = keep(self.model, self.optimizer, rolled, epoch)
            self.repairs.append(treatment.record)
            finding.remedy = name
            finding.message += f" Repair: {changed}."
            return True
        self.treating.pop(code, None)
        recommend(finding, isinstance(self.optimizer, SCALE_FREE))
        return False

    def _order(self, finding: Finding) -> list[str]:
        """The remedies for a finding not under treatment, those tried before left out."""
        tried = {r["remedy"] for r in self.repairs if r["finding"] == finding.code}
        return loop_order(finding, tried)

    def cuts_the_rate(self, finding: Finding) -> bool:
        """Whether the next remedy for `finding` lowers the learning rate."""
        treatment = self.treating.get(finding.code)
        order = treatment.remaining if treatment is not None else self._order(finding)
        return bool(order) and order[0] in RATE_CUTS

    def before_step(self) -> None:
        """At every doctor.step: keep what the remedies hold in place."""
        if self.train_mode and not self.model.training:
            self.model.train()

    def keep_best(self, epoch: int, row: dict[str, float]) -> None:
        """Keep the weights of the epoch with the best score the loop reports (macro F1,
        accuracy, a return: `loop_score`), else validation loss, else training loss: an
        oscillation is treated from them."""
        if self.best.value is None:  # nothing kept yet: the best metric reported so far
            self.best.watch(loop_score(row) or next(m for m in LOSSES_BY if m in row))
        if self.best.update(epoch, row, self.model):
            self._best_outside = copies_outside(self.model, self.optimizer)
            self._best_loss = row.get("train_loss", math.nan)

    def epoch_end(
        self,
        epoch: int,
        healthy: bool,
        train_loss: float,
        probes: int,
        untrained: float = 0.0,
        step_size: float | None = None,
        dying: bool = False,
    ) -> list[Finding]:
        """Judge the cures that are due, as the Trainer's doctor does, on evidence that could
        still show the problem: a remedy whose problem stayed away for `cure_epochs` whole
        epochs after the one it was applied in, for as long as its rule needs to speak
        (`probes` since the remedy for a gradient or unit problem, `min_epochs` for a curve
        problem), has cured it — unless the network was not learning when it was treated
        and still is not (its loss no lower than then), or a training problem's remedy left
        its loss at `prior_share` of `untrained` or above (a network that knows nothing: the
        loop's chance level; 0 where unknown), as `stalled` reads it: 2.3020 against ln 10's
        2.3026 for 12 epochs is no lower. Those findings are returned: to be treated again,
        by no further rate cut where the network sits at knowing nothing, not above it, on
        steps not measured large (`step_size`, the largest layer's |dW| / |W|, under
        `LARGE_STEP`): a lower rate does not make it learn (an unrestored range test's
        weights, rolled back and cut once, were cut again to 1e-8). A loss above knowing
        nothing still overshoots: SGD at 1 with momentum 0.99, cut to 0.1, learns at 0.01.
        A healthy epoch with no problem but a curve's under treatment (whose cure takes
        epochs, as the Trainer's repairer reads it) becomes the state to roll back to, and
        the state to roll killed units back to unless ReLU units are `dying`."""
        t, again = self.thresholds, []
        self.epoch, self._untrained = epoch + 1, untrained
        for code, treatment in list(self.treating.items()):
            seen = epoch - treatment.applied_epoch
            if not treatment.record or seen < self.cure_epochs:
                continue
            if code in CURVE_CODES and seen < t.min_epochs:
                continue  # the curve's history restarted at the remedy: it cannot speak yet
            if code not in CURVE_CODES and code not in LOOP_FIX and probes < t.sustain:
                continue  # too few probes since the remedy for its rule to speak
            if treatment.record["remedy"] == "skip_nonfinite":  # judged by what it is for
                sound = all_finite([p.detach() for p in self.model.parameters()])
                treatment.record["cured"] = sound
                if not sound:
                    treatment.record["why_not"] = "the weights became non-finite all the same"
                del self.treating[code]
                continue
            stuck = None
            if treatment.was_stalled and not train_loss < (1 - t.plateau_drop) * treatment.loss_at:
                stuck = f"{treatment.loss_at:.3g} when treated"
            elif (
                code not in LOOP_FIX
                and untrained > 0
                and not train_loss < t.prior_share * untrained
            ):
                stuck = (
                    f"{t.prior_share:.0%} or more of what knowing nothing scores: {untrained:.3g}"
                )
            if stuck is not None:
                treatment.record["cured"] = False
                treatment.record["why_not"] = (
                    f"its rule is silent but the network still does not learn (train loss "
                    f"{train_loss:.3g}, {stuck})"
                )
                settled = step_size is not None and step_size < LARGE_STEP
                if untrained > 0 and train_loss <= untrained and settled:
                    treatment.remaining = [n for n in treatment.remaining if n not in RATE_CUTS]
                again.append(treatment.finding)
                continue
            treatment.record["cured"] = True
            del self.treating[code]
        if healthy and all(code in CURVE_CODES for code in self.treating):
            self._healthy = keep(self.model, self.optimizer, f"end of epoch {epoch}", epoch + 1)
            if not dying:
                self._alive = self._healthy
        return again

    # --- remedies ----------------------------------------------------------------------------

    def _rollback(
        self, params: list, fresh: list[torch.Tensor | None], code: str, kept: Kept
    ) -> str:
        """Back to the `kept` state, or to the best epoch's weights where `kept` lies further
        back than the budget has epochs left (`_too_far_back`); the pending step applies
        this batch's own gradient (stale gradients) or nothing (a problem the gradients
        caused; under a gradient scaler, zero gradients: its `step` asserts that it
        unscaled some)."""
        if self._too_far_back(kept):
            rolled = self._back_to_best()
        else:
            left = roll_back(self.model, self.optimizer, kept)  # (pruned since: fitted)
            rolled = kept.where + _but(left)
            self._past_best = self.best.epoch is not None and kept.epochs <= self.best.epoch
        for p, f in zip(params, fresh, strict=False):
            if code == "stale_gradients" and f is not None:
                # in the layout the loop left: SparseAdam takes no dense gradient
                sparse = p.grad is not None and p.grad.is_sparse
                p.grad = f.to_sparse(p.grad.sparse_dim()) if sparse else f.clone()
            else:
                clear_grad(p, self.keep_grads)
        return rolled

    def _too_far_back(self, kept: Kept) -> bool:
        """Whether rolling back to `kept` takes back more epochs than the loop has left, with
        a best epoch kept to go to instead that learned something (its training loss below
        the loop's chance level, where known): a loop cannot learn them again, and ends
        worse than left alone (a batch-norm CNN at SGD 3 whose units died in its last epoch
        of 12, rolled back to the start: 0.18 accuracy against 0.75). Unknown without the
        loop's `epochs`."""
        if not self.epochs or self.best.weights is None:
            return False
        if self._untrained and not self._best_loss < self._untrained:
            return False  # no better than the start: nothing to keep
        return self.epoch - kept.epochs > self.epochs - self.epoch

    def _start_from(
        self, code: str, params: list, fresh: list[torch.Tensor | None], killed: bool
    ) -> str | None:
        """Where a remedy for `code` starts: the last healthy state after a problem the
        gradients caused (units the steps `killed`: the last before they were dying), the
        best weights after an oscillation, else where the loop is. Returns what it rolled
        back to (None: nothing)."""
        if code in ROLLBACK:
            return self._rollback(params, fresh, code, self._alive if killed else self._healthy)
        if code in SWUNG_CODES:
            return self._back_to_best()
        return None

    def _back_to_best(self) -> str | None:
        """Back to the best weights, the optimizer's momentum cleared: an oscillating run's
        weights are wherever the last swing left them, and its momentum is the swing's.
        None (nothing rolled back) before any epoch was kept."""
        if self.best.weights is None:
            return None
        left = put_back_model(self.model, self.best.weights)
        put_back_tensors(self._best_outside)
        self.optimizer.state.clear()
        return f"best epoch {self.best.epoch} ({self.best.monitor})" + _but(left)

    def can_treat(self, finding: Finding) -> bool:
        """Whether a remedy is left for `finding`."""
        treatment = self.treating.get(finding.code)
        return bool(treatment.remaining) if treatment else bool(self._order(finding))

    def drop_step(self) -> None:
        """Drop the gradients of the step about to be taken (its loss was not finite): with
        none, the optimizer leaves the weights as they are. Under a gradient scaler they are
        zeroed instead (its `step` asserts that it unscaled some): it then sees no overflow
        and keeps its scale, which NaN batches halved each time, to nothing. Finite
        gradients are kept: the NaN is a term's that reaches no parameter (a KL divergence
        given log-probabilities as its target, `t log t` of the teacher's side), and
        dropping every step kept a distilled student at chance (0.10 against 0.84)."""
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        if all_finite([p.grad.detach() for p in params if p.grad is not None]):
            return
        self.skipped += 1
        for p in params:
            clear_grad(p, self.keep_grads)

    def adopt(self, optimizer: torch.optim.Optimizer, params: list) -> None:
        """The loop replaced its optimizer with `optimizer`: the remedies that hook the
        optimizer (clipping, zero_grad, skipping non-finite steps) move to it, the rates set
        on the old one stay with it (the new one's are the loop's choice), and the state to
        roll back to is taken afresh (the old optimizer's does not load into the new)."""
        held = [name for name in ("clip", "skip_nonfinite", "zero_grad") if name in self.hooks]
        self.close()
        self.optimizer, self.clip = optimizer, None
        for name in held:
            LOOP_REMEDIES["clip_gradients" if name == "clip" else name](self, params)
        self.keep_healthy()

    def end_on_best(self) -> int | None:
        """Put back the best epoch's weights (`keep_best`) where the loop's last remedy rolled
        it back past them, too late for its cure to be judged, and say so in its finding;
        returns that epoch, else None. A remedy late in a loop of unknown length may take
        it back to weights it has no epochs left to train (a batch-norm CNN at SGD 3 whose
        units died in epoch 11 of 12, rolled back to the start: 0.18 accuracy, 0.70 from
        its best epoch). A remedy that went on from the best epoch, or was judged since,
        is kept: its weights beat a best epoch a small validation set picks
        (`loop_repair.py`, breast_cancer: 0.982 against 0.947)."""
        last = self.repairs[-1] if self.repairs else {}
        if not (self._past_best and last.get("cured", False) is None):
            return None
        self._back_to_best()
        last["kept_epoch"] = epoch = self.best.epoch
        treated = self.treating.get(last["finding"])  # (not judged: still under treatment)
        if treated is not None:
            treated.finding.message += f" The loop ends on the weights of epoch {epoch}, its best."
        return epoch

    def close(self) -> None:
        for handle in self.hooks.values():
            handle.remove()
        self.hooks.clear()


def _but(left: list[str]) -> str:
    """What a rollback could not put back (the model changed since), pruning masks aside."""
    changed = [name for name in left if not name.endswith("_mask")]
    return f" (but {few_names(changed)}, changed since)" if changed else ""
