"""The Trainer loop, its callback events, checkpoints and resume, precision."""

from ._batches import TensorBatches
from ._best import BestWeights, higher_is_better
from ._callbacks import Callback, CallbackList
from ._early_stopping import EarlyStopping
from ._evaluate import Evaluation, evaluate
from ._optim import make_optimizer, make_scheduler
from ._progress import ProgressBar
from ._threads import ThreadChoice, available_cpus, choose_threads
from ._trainer import FitResult, Trainer, resolve_device, save_atomic

__all__ = [
    "BestWeights",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "Evaluation",
    "FitResult",
    "ProgressBar",
    "TensorBatches",
    "ThreadChoice",
    "Trainer",
    "available_cpus",
    "choose_threads",
    "evaluate",
    "higher_is_better",
    "make_optimizer",
    "make_scheduler",
    "resolve_device",
    "save_atomic",
]
