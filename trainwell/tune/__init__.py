"""Tuning on Optuna: hyperparameter and architecture search, the LR range test."""

from ._report import TrialRow, TuneResult
from ._space import Space, default_space, parse_space
from ._study import PRUNERS, SAMPLERS, tune

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "Space",
    "TrialRow",
    "TuneResult",
    "default_space",
    "parse_space",
    "tune",
]
