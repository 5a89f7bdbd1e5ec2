"""Tuning on Optuna: hyperparameter and architecture search, the LR range test."""

from ._lr_find import LrFindResult, Suggestion, lr_find, suggest_lr
from ._report import TrialRow, TuneResult
from ._space import Space, default_space, parse_space
from ._study import PRUNERS, SAMPLERS, tune

__all__ = [
    "PRUNERS",
    "SAMPLERS",
    "LrFindResult",
    "Space",
    "Suggestion",
    "TrialRow",
    "TuneResult",
    "default_space",
    "lr_find",
    "parse_space",
    "suggest_lr",
    "tune",
]
