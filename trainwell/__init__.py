"""trainwell: train PyTorch networks that stay healthy.

The public face: `fit`, `resume`, `audit`, `load_run`, `tune`, `lr_find`, `explain`, `attack`,
`compress` (and `OnnxModel` to predict from its ONNX files), the model `registry`, `serve`,
`monitor` and `retrain`, the `Trainer` and its `Callback` for your own models and loops, the
`Doctor` for a hand-written loop, generated inspection images (`generate_defects`,
`write_defects`), and the shared vocabulary (`RunConfig`, `Finding`).

Only the vocabulary is imported with the package; the rest (torch, scikit-learn...) on first
use, so the command line answers `--help` and a bad config at once.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

from .config import RunConfig, load_config
from .errors import ConfigError, DataError, InputError
from .findings import Finding

if TYPE_CHECKING:
    from . import registry
    from ._api import attack, audit, compress, explain, fit, monitor, resume, retrain, tune
    from .compress import Compression, OnnxModel
    from .data import generate_defects, write_defects
    from .deploy.monitor import Monitoring
    from .deploy.retrain import Retraining
    from .deploy.serve import serve
    from .explain import Explanation
    from .health import Doctor
    from .pipeline import Audit, Run, load_run
    from .robust import Robustness
    from .train import Callback, EarlyStopping, FitResult, TensorBatches, Trainer
    from .tune import LrFindResult, TuneResult, lr_find

__version__ = "0.1.0"

_LAZY = {  # public name -> the module that defines it
    "attack": "._api",
    "audit": "._api",
    "compress": "._api",
    "explain": "._api",
    "Explanation": ".explain",
    "fit": "._api",
    "monitor": "._api",
    "Monitoring": ".deploy.monitor",
    "retrain": "._api",
    "Retraining": ".deploy.retrain",
    "resume": "._api",
    "tune": "._api",
    "Compression": ".compress",
    "OnnxModel": ".compress",
    "Doctor": ".health",
    "generate_defects": ".data",
    "write_defects": ".data",
    "Audit": ".pipeline",
    "Run": ".pipeline",
    "load_run": ".pipeline",
    "Robustness": ".robust",
    "Callback": ".train",
    "EarlyStopping": ".train",
    "FitResult": ".train",
    "TensorBatches": ".train",
    "Trainer": ".train",
    "LrFindResult": ".tune",
    "TuneResult": ".tune",
    "lr_find": ".tune",
    "registry": ".registry",  # a module: trainwell.registry.add(...)
    "serve": ".deploy.serve",
}

__all__ = [
    "Audit",
    "Callback",
    "Compression",
    "ConfigError",
    "DataError",
    "Doctor",
    "EarlyStopping",
    "Explanation",
    "Finding",
    "FitResult",
    "InputError",
    "LrFindResult",
    "Monitoring",
    "OnnxModel",
    "Retraining",
    "Robustness",
    "Run",
    "RunConfig",
    "TensorBatches",
    "Trainer",
    "TuneResult",
    "attack",
    "audit",
    "compress",
    "explain",
    "fit",
    "generate_defects",
    "load_config",
    "load_run",
    "lr_find",
    "monitor",
    "registry",
    "resume",
    "retrain",
    "serve",
    "tune",
    "write_defects",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name], __name__)
    value = module if _LAZY[name] == f".{name}" else getattr(module, name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


class _Package(types.ModuleType):
    """Importing a subpackage sets it as an attribute of this package; where a public verb
    has the subpackage's name (`tune`, `compress`), the verb must stay what the name means."""

    def __setattr__(self, name: str, value: Any) -> None:
        if not (isinstance(value, types.ModuleType) and _LAZY.get(name) == "._api"):
            super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
