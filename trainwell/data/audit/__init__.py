"""The data audit: one small check per data finding code, `(data, thresholds) -> [Finding]`.

Checks look at the training split in source units (after `corrupt`, before standardising)
and name rows by their source index, as `corruption.json` does.
"""

from ._audit import CHECKS, AuditResult, audit_dataset
from ._confident import confident_joint, estimate_joint, find_label_issues
from ._labels import (
    holdout_accuracy,
    out_of_sample_predictions,
    out_of_sample_probabilities,
    reference_models,
    weighed_by_the_network,
)
from ._thresholds import Thresholds
from ._view import AuditData

__all__ = [
    "CHECKS",
    "AuditData",
    "AuditResult",
    "Thresholds",
    "audit_dataset",
    "confident_joint",
    "estimate_joint",
    "find_label_issues",
    "holdout_accuracy",
    "out_of_sample_predictions",
    "out_of_sample_probabilities",
    "reference_models",
    "weighed_by_the_network",
]
