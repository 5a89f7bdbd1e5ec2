"""The checks of what the probes read at the outputs (the targets, the loss's form) and of
what an epoch's validation reports, judged at an epoch's end alike in hand-written loops and
the Trainer: each is `(history, epoch, step) -> Finding | None`, reported once a run."""

from ._bounded_output import bounded_output
from ._class_weights import inverted_weights
from ._drowned_output import drowned_output
from ._loss_accuracy import loss_accuracy_mismatch

EPOCH_CHECKS = (bounded_output, inverted_weights, drowned_output, loss_accuracy_mismatch)
