"""Retraining: a challenger on old plus new labelled rows, judged against the champion on
the same held-out rows, promoted only when it earns it; the decision goes into the
registry's event log."""

from ._retrain import MARGIN, Retraining, retrain

__all__ = ["MARGIN", "Retraining", "retrain"]
