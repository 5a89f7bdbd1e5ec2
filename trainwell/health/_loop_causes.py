"""What the loop doctor's repairs start from: the silent bug every training finding beside
it follows from, and the epochs sound enough to roll back to."""

from __future__ import annotations

import math

from ..findings import TRAINING_CODES, Finding
from ._divergence_rules import flown_off
from ._history import ProbeHistory
from ._rules import Thresholds
from ._silent import few_names
from ._unit_rules import units_lost


def root_cause(finding: Finding) -> str | None:
    """What a silent bug that every training finding beside it follows from says as their
    cause: units all alike (`symmetric_units`), a loss that reaches no parameter
    (`unused_parameters` as an error), gradients summed over the steps in the whole model
    (`stale_gradients`), a model the loop never moves (`frozen_parameters` as an error,
    of every parameter), outputs blown up
    at the start (`high_initial_loss`: the gradients they send explode), or outputs a loss
    broadcast against targets of another shape (`broadcast_loss`: each is fitted to every
    row's target, and the loss stalls at their spread), or one batch trained on for ever
    (`repeated_batch`: what overfits is that batch), or an optimizer that climbs the
    gradient (`gradient_ascent`: no rate is low enough), or another network's optimizer
    that steps on gradients it did not clear (`stale_gradients` of `network: other`), or a loss
    that sees the answers (`loss_accuracy_mismatch`: its gradients vanish with it, and a
    decoder fed the tokens it predicts was told to use ReLU, stress 26), or layers that
    take time first fed the batch first (`batch_mixing` naming them: a transformer's class
    token read along the batch's axis starved it of its input, stress 29). Their own
    remedies (a lower rate for dead units or a swinging loss, a higher one or Adam for a
    stalled loss) cannot help: a stale-gradient loop was told both to lower the rate and to
    raise it, a step taken before backward() to raise it. None for the other findings."""
    if finding.evidence.get("network") == "other":  # (`_other_stale`)
        return (
            f"the other network's optimizer ({finding.evidence['carried_by']}) steps on "
            f"gradients it did not clear (stale_gradients); call its zero_grad() right before "
            f"its own backward first"
        )
    if finding.severity == "error" and finding.code in _ROOT_FIXES and _whole(finding):
        return _ROOT_FIXES[finding.code]
    if finding.code == "loss_accuracy_mismatch":
        return (
            "the validation loss and accuracy cannot come from the same predictions "
            "(loss_accuracy_mismatch): the loss sees the answers, or the accuracy reads "
            "other outputs; fix that first"
        )
    if finding.code == "high_initial_loss":
        return (
            "the outputs start blown up by weights drawn too large (high_initial_loss); "
            "draw them small first"
        )
    if finding.code == "symmetric_units":
        names = few_names(finding.evidence["parameters"])
        return (
            f"the units of {names} are all alike (symmetric_units); initialise them randomly first"
        )
    told = finding.severity == "error" or finding.evidence.get("input_ignored")
    if finding.code == "batch_mixing" and finding.evidence.get("time_first") and told:
        return (
            "layers that take time first read the batch as time (batch_mixing); build them "
            "with batch_first=True first"
        )
    if finding.code == "broadcast_loss":
        return (
            "the loss broadcast the outputs against targets of another shape "
            "(broadcast_loss); give it outputs and targets of one shape first"
        )
    if finding.code == "teacher_trained":
        return (
            "the optimizer trains the teacher whose outputs are the targets "
            "(teacher_trained); compute them under torch.no_grad() first"
        )
    if finding.code == "gradient_ascent":
        return (
            "the optimizer steps up the gradient (gradient_ascent); make its update "
            "subtract the step first"
        )
    if finding.code == "repeated_batch":
        return (
            "every step trains on the same batch (repeated_batch); draw a new batch at "
            "each step first"
        )
    if finding.code == "unused_parameters" and finding.severity == "error":
        return (
            "the loss backward() is called on reaches none of the parameters "
            "(unused_parameters); call it on the loss computed from the model's outputs first"
        )
    return None


def _whole(finding: Finding) -> bool:
    """Whether a stale-gradient or frozen-parameter finding is the whole model's: one
    parameter left out of the optimizer does not explain a swinging loss."""
    if finding.code == "stale_gradients":
        return "parameters" not in finding.evidence  # (`_stale_in_part` names them)
    return bool(finding.evidence.get("whole_model"))


_ROOT_FIXES = {
    "stale_gradients": "gradients accumulate across steps (stale_gradients); call "
    "optimizer.zero_grad() at every step first",
    "frozen_parameters": "parameters the loop is to train never change (frozen_parameters); "
    "make the optimizer step them first",
}


def explain(finding: Finding, root: Finding | None) -> None:
    """Name `root` (a silent bug `root_cause` speaks for, not treated nor withdrawn) as the
    cause of a training finding (`evidence.explained_by`): it is not treated itself."""
    cause = None if root is None or root.severity == "info" else root_cause(root)
    if (
        cause is None
        or finding.code not in TRAINING_CODES
        or finding.severity == "info"
        or "explained_by" in finding.evidence
        or (root.code == "high_initial_loss" and (finding.epoch or 0) > (root.epoch or 0))
    ):
        return  # (a start blown up explains what its first epoch shows, not a later rate)
    finding.evidence["explained_by"] = root.code
    finding.message += f" Cause: {cause}."


def explained_by(finding: Finding, root: Finding) -> bool:
    """Whether `explain` named `root` the cause of `finding`."""
    return finding.evidence.get("explained_by") == root.code


def resolve_explained(findings: list[Finding], root: Finding) -> None:
    """`root` was treated: the findings it explained are marked resolved (found again,
    where the cause was not all, they are judged afresh)."""
    for explained in findings:
        if explained_by(explained, root):
            explained.resolved = True
            explained.message += " Resolved: its cause was treated."


def sound(
    history: ProbeHistory,
    t: Thresholds,
    untrained: float,
    train_loss: float,
    val_loss: float | None,
) -> bool:
    """Whether an epoch's end is a state a rollback may return to: its losses finite, its
    training loss below the loop's chance level (`untrained`; 0 where unknown), no layer's
    weights flown off, no layer's units dead or saturated at the last probe. (A validation
    loss may sit above chance's: an overconfident classifier's, accurate all the same.) An
    LSTM at SGD 2 ended epoch 0 at a training loss of 1.98 against chance's 1.39, its
    head's weights 17x their start: the remedies rolled back to it, twice, and ended below
    the run left alone."""
    finite = math.isfinite(train_loss) and (val_loss is None or math.isfinite(val_loss))
    if not finite or (untrained > 0 and not train_loss < untrained):
        return False
    return not (flown_off(history, t) or units_lost(history, t))
