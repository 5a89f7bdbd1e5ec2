"""A validation loss and accuracy that cannot describe the same predictions. A mean cross
entropy of L puts a probability of 1/2 or more on the true class of all but L / ln 2 of
the examples (Markov's inequality on -log p), and such a class is the argmax: the accuracy
is at least 1 - L / ln 2, for any number of classes. A loop that reports a loss of 0.005
beside an accuracy of 0.03 computed them from different outputs: the loss where the model
saw the answers (a decoder fed the targets unshifted under teacher forcing, a language
model whose input holds the token it predicts; stress 26: 0.005 and 0.03-0.08), or the
accuracy of another model, split or dimension (an argmax over the batch).
"""

from __future__ import annotations

import math

from ..findings import Finding
from ._history import ProbeHistory
from ._silent import epoch_finding

CONFIDENT = 0.02  # a mean cross entropy this low: at most 2.9% of the examples below 1/2
UNLIKE = 0.3  # ... beside an accuracy below this, at 2 epochs in a row


def loss_accuracy_mismatch(h: ProbeHistory, epoch: int, step: int) -> Finding | None:
    """At the last 2 epochs, a validation cross entropy at most `CONFIDENT` beside a
    validation accuracy below `UNLIKE` (the module's docstring); where the training loss
    is a cross entropy over classes (its chance level known)."""
    if not h.untrained_loss():
        return None
    rows = [r for r in h.curves if "val_loss" in r and "val_accuracy" in r][-2:]
    if len(rows) < 2 or not all(_unlike(r["val_loss"], r["val_accuracy"]) for r in rows):
        return None
    loss, accuracy = rows[-1]["val_loss"], rows[-1]["val_accuracy"]
    floor = 1 - loss / math.log(2)
    return epoch_finding(
        "loss_accuracy_mismatch",
        "error",
        (
            f"The validation loss and accuracy cannot come from the same predictions: a mean "
            f"cross entropy of {loss:.3g} puts half or more of the probability on the true "
            f"class of at least {floor:.1%} of the examples, yet the accuracy is "
            f"{accuracy:.3g} (epochs {rows[0].get('epoch')} and {rows[-1].get('epoch')}). The "
            f"loss was computed where the model saw the answers (a decoder fed the targets "
            f"unshifted, an input that holds the token to predict), or the accuracy on other "
            f"outputs (another model, an argmax over the wrong dimension)."
        ),
        epoch=epoch,
        step=step,
        evidence={"val_loss": loss, "val_accuracy": accuracy, "accuracy_at_least": floor},
    )


def _unlike(loss: float, accuracy: float) -> bool:
    return math.isfinite(loss) and 0 <= loss <= CONFIDENT and 0 <= accuracy < UNLIKE
