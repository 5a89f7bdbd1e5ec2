"""Monitoring a deployed model: calibrated drift tests on inputs and predictions, and
accuracy estimated without labels (measured with them), against the reference statistics
fit stored in the run (`reference.npz`)."""

from ._monitor import Monitoring, monitor
from ._stats import holm

__all__ = ["Monitoring", "holm", "monitor"]
