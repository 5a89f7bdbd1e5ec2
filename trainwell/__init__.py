"""trainwell: train PyTorch networks that stay healthy.

The public face: `fit`, `resume`, `audit`, `load_run`, `tune`, `lr_find`, `explain`, the
`Trainer` and its `Callback` for your own models and loops, and the shared vocabulary
(`RunConfig`, `Finding`).
"""

from ._api import audit, explain, fit, resume, tune
from .config import RunConfig, load_config
from .errors import ConfigError, DataError, InputError
from .explain import Explanation
from .findings import Finding
from .pipeline import Audit, Run, load_run
from .train import Callback, EarlyStopping, FitResult, TensorBatches, Trainer
from .tune import LrFindResult, TuneResult, lr_find

__version__ = "0.1.0"

__all__ = [
    "Audit",
    "Callback",
    "ConfigError",
    "DataError",
    "EarlyStopping",
    "Explanation",
    "Finding",
    "FitResult",
    "InputError",
    "LrFindResult",
    "Run",
    "RunConfig",
    "TensorBatches",
    "Trainer",
    "TuneResult",
    "audit",
    "explain",
    "fit",
    "load_config",
    "load_run",
    "lr_find",
    "resume",
    "tune",
]
