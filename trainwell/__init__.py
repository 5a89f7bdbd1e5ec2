"""trainwell: train PyTorch networks that stay healthy.

The public face: `fit`, `resume`, `audit`, `load_run`, `tune`, `lr_find`, `attack`,
`compress` (and `OnnxModel` to predict from its ONNX files), the `Trainer` and its `Callback`
for your own models and loops, the `Doctor` for a hand-written loop, and the shared
vocabulary (`RunConfig`, `Finding`).
"""

from ._api import attack, audit, compress, fit, resume, tune
from .compress import Compression, OnnxModel
from .config import RunConfig, load_config
from .errors import ConfigError, DataError, InputError
from .findings import Finding
from .health import Doctor
from .pipeline import Audit, Run, load_run
from .robust import Robustness
from .train import Callback, EarlyStopping, FitResult, TensorBatches, Trainer
from .tune import LrFindResult, TuneResult, lr_find

__version__ = "0.1.0"

__all__ = [
    "Audit",
    "Callback",
    "Compression",
    "ConfigError",
    "DataError",
    "Doctor",
    "EarlyStopping",
    "Finding",
    "FitResult",
    "InputError",
    "LrFindResult",
    "OnnxModel",
    "Robustness",
    "Run",
    "RunConfig",
    "TensorBatches",
    "Trainer",
    "TuneResult",
    "attack",
    "audit",
    "compress",
    "fit",
    "load_config",
    "load_run",
    "lr_find",
    "resume",
    "tune",
]
