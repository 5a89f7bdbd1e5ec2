"""The one vocabulary of trainwell: every check yields Findings, every report lists them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "error"]
Source = Literal["data", "training", "evaluation", "deployment"]

DATA_CODES = (
    "class_imbalance",
    "label_issues",
    "labels_not_judged",
    "duplicates",
    "train_test_leakage",
    "outliers",
    "target_outliers",
    "missing_values",
    "unscaled_features",
    "constant_features",
    "identifier_columns",
    "many_categories",
    "category_variants",
    "small_dataset",
)
TRAINING_CODES = (
    "vanishing_gradient",
    "exploding_gradient",
    "dying_relu",
    "saturated_activation",
    "divergence",
    "oscillating_loss",
    "slow_convergence",
    "overfitting",
    "underfitting",
)
SILENT_BUG_CODES = (  # training too: silent bugs of hand-written loops (trainwell.Doctor)
    "stale_gradients",
    "frozen_parameters",
    "eval_mode_training",
    "probabilities_as_logits",
    "unused_parameters",
    "broadcast_loss",
    "bounded_output",
    "softmax_over_batch",
    "softmax_wrong_dim",
    "batch_mixing",
    "high_initial_loss",
    "symmetric_units",
    "batch_norm_one_row",
    "batch_norm_momentum",
    "repeated_batch",
    "gradient_ascent",
    "inverted_class_weights",
    "drowned_output",
    "clip_after_step",
    "loss_accuracy_mismatch",
    "teacher_trained",
)
# what `trainwell explain` and `trainwell attack` check of a trained model
EVALUATION_CODES = (
    "ignored_class",  # a rare class the trained network never predicts (`trainwell fit`)
    "unfaithful_explanation",
    "group_performance_gap",
    "adversarial_vulnerability",
    "unreliable_robustness_evaluation",
)
COMPRESSION_CODES = ("unfaithful_export", "compression_accuracy_loss")
DEPLOYMENT_CODES = ("data_drift", "prediction_drift", "performance_drop")
CODES = frozenset(
    DATA_CODES
    + TRAINING_CODES
    + SILENT_BUG_CODES
    + EVALUATION_CODES
    + COMPRESSION_CODES
    + DEPLOYMENT_CODES
)
SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "blue"}  # rich styles


@dataclass
class Finding:
    """One thing a check noticed, with the evidence and what was done about it."""

    code: str
    severity: Severity
    source: Source
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    epoch: int | None = None
    step: int | None = None
    layer: str | None = None
    remedy: str | None = None
    resolved: bool = False

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown finding code {self.code!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


def passed(finding: dict[str, Any]) -> bool:
    """Whether a finding (as its dict) was resolved with no remedy: the problem went away by
    itself (an overfitting the val loss recovered from), not repaired."""
    return bool(finding.get("resolved")) and not finding.get("remedy")
