"""Explain a trained run: which inputs drive the model (Captum attributions, permutation
importance), whether the explanation can be trusted (deletion curve against a random order,
weight randomisation), and who the model fails (per-group metrics, fairlearn).

Captum and fairlearn are the `explain` extra, imported on first use.
"""

from ._checks import Thresholds
from ._explain import Explanation, explain

__all__ = ["Explanation", "Thresholds", "explain"]
