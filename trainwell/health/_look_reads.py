"""What the loop doctor reads of the loss's autograd graph at a look (`read_look`): the loss's
form for the rules that judge the probes' history (its floor, its kind, a bound on the
outputs, its chance level and, at the first look, the loss at init), and the silent bugs
the graph shows for the loop watch's record (a softmax before a logits loss, or over the
batch or another dimension than the classes, outputs broadcast against targets of another
shape, a teacher the optimizer trains). Read where the checks look, not at every step:
each walks the graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ._batch_softmax import softmax_off_classes, softmax_over_rows
from ._bounded_output import bounded_regression
from ._broadcast import broadcast_outputs
from ._class_weights import loss_forms
from ._history import ProbeHistory
from ._initial_loss import read_initial
from ._loss_graph import (
    binary_cross_entropy,
    capped_error,
    chance_loss,
    labels_only,
    nll_of_scores,
    summed_loss,
    term_chance,
    zero_floor,
)
from ._moving_keys import scored_against_keys
from ._silent import LoopRecord
from ._squashed_inputs import squashed_logits
from ._teacher import taught_by
from ._watched import optimized_outside, time_first_parts

if TYPE_CHECKING:
    from ._loop import Doctor


def read_look(doctor: Doctor, loss: torch.Tensor, step: int) -> bool:
    """All the loop doctor reads of the loss's graph at a look; True where a bug or the
    loss at init was read now (the checks then run)."""
    history, probe, record = doctor.examiner.history, doctor.examiner.probe, doctor.watch.record
    read_form(history, loss)
    doctor._players.read_loss(loss)
    probe.weight_forms = loss_forms(loss)
    changed = False
    if history.chance_loss is None or not doctor._looked:
        changed = _read_chance(doctor, loss, step)
    # (read until a softmax over the batch is found)
    time_first = record.batch_softmax is None and bool(time_first_parts(doctor.model))
    changed = read_bugs(record, loss, step, probe.output_shapes, time_first) or changed
    outside = {id(p): n for n, p in optimized_outside(doctor.model, doctor.optimizer)}
    return read_teacher(record, loss, step, outside) or changed


def _read_chance(doctor: Doctor, loss: torch.Tensor, step: int) -> bool:
    """The loss's chance level (a sum's: its terms' times, batches alike; or its cross
    entropy term's, where it adds others), and at the first look the loss at init against
    it, per term (`high_initial_loss`: a classifier's starts near chance's); True when
    that was read."""
    history = doctor.examiner.history
    terms = max(history.summed, 1)
    width = doctor.examiner.probe.output_width
    chance = chance_loss(loss, width)
    if chance is None and history.term_chance is None:  # a cross entropy beside others
        history.term_chance = term_chance(loss, width) or 0.0
    if history.chance_loss is None and chance:
        history.chance_loss = chance * terms
    first, doctor._looked = not doctor._looked, True
    if not (first and chance):
        return False
    value = float(loss.detach()) / terms  # once a run: the one sync it costs
    doctor.watch.record.initial = read_initial(doctor.model, value, chance, step)
    return True


def read_form(history: ProbeHistory, loss: torch.Tensor) -> None:
    """The loss's form, as the history's rules read it: a hand-written loop's, its data not
    at hand."""
    history.floor_known, history.data_at_hand = zero_floor(loss), False
    history.capped_error, history.summed = capped_error(loss), summed_loss(loss)
    history.nll_of_scores = nll_of_scores(loss)
    history.binary_cross_entropy = binary_cross_entropy(loss)
    history.output_bound = bounded_regression(loss)
    history.scored_against_keys = scored_against_keys(loss)
    history.labels_only = labels_only(loss)
    history.every_loss_read = loss.is_cpu  # (every step's loss is read: `_ran_away`)


# the record's fields the graph fills, each with `<field>_step`, and how each is read
# (each from the loss, the shapes of the model's outputs, whether it runs time first)
GRAPH_BUGS = (
    ("loss_chain", lambda loss, outputs, time_first: squashed_logits(loss)),
    ("batch_softmax", softmax_over_rows),
    ("off_classes", lambda loss, outputs, time_first: softmax_off_classes(loss)),
    ("broadcast", lambda loss, outputs, time_first: broadcast_outputs(loss, outputs)),
)


def read_bugs(
    record: LoopRecord,
    loss: torch.Tensor,
    step: int,
    outputs: Sequence[tuple[int, ...]] = (),
    time_first: bool = False,
) -> bool:
    """Look for a softmax/sigmoid fed to a logits loss, a softmax over another dimension
    than the classes, and for `outputs` (the shapes of the tensors the model returned) a
    softmax over the batch (`time_first`: of a model whose dimension 0 may be time, the
    loss's only) or the loss broadcast against targets of another shape, each until
    found; True when one was found now."""
    found = False
    for field, read in GRAPH_BUGS:
        seen = None if getattr(record, field) is not None else read(loss, outputs, time_first)
        if seen is not None:
            setattr(record, field, seen)
            setattr(record, f"{field}_step", step)
            found = True
    return found


def read_teacher(
    record: LoopRecord, loss: torch.Tensor, step: int, outside: dict[int, str]
) -> bool:
    """Whether a KL divergence's targets carry gradient to tensors the optimizer steps
    outside the model (`_teacher`), first seen now."""
    if record.teacher:
        return False
    record.teacher = taught_by(loss, outside)
    record.teacher_step = step if record.teacher else None
    return bool(record.teacher)
