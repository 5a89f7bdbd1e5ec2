"""The Trainer loop, its callback events, checkpoints and resume, precision, adversarial
training, data-parallel training (DDP)."""

from ._adversarial import NORMS, AdversarialBatches, AdversarialTraining, Box, Norm, perturb
from ._batches import AugmentedBatches, TensorBatches, batch_bounds
from ._best import BestWeights, by_position, clone_state, higher_is_better
from ._callbacks import Callback, CallbackList, FitResult
from ._checkpoint import save_atomic
from ._distributed import (
    Ranks,
    ShardedBatches,
    eval_batches,
    first_found,
    from_writer,
    init_from_env,
    is_writer,
    mean_over_ranks,
    rank_device,
    ranks,
    resolve_device,
)
from ._early_stopping import EarlyStopping
from ._evaluate import Evaluation, evaluate
from ._finetune import Finetune, frozen_names, layer_groups, param_groups
from ._optim import make_optimizer, make_scheduler
from ._progress import ProgressBar
from ._range_test import Suggestion, Sweep, range_test, suggest_lr
from ._threads import ThreadChoice, available_cpus, choose_threads, use_threads
from ._trainer import Trainer

__all__ = [
    "NORMS",
    "AdversarialBatches",
    "AdversarialTraining",
    "AugmentedBatches",
    "BestWeights",
    "Box",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "Evaluation",
    "Finetune",
    "FitResult",
    "Norm",
    "ProgressBar",
    "Ranks",
    "ShardedBatches",
    "Suggestion",
    "Sweep",
    "TensorBatches",
    "ThreadChoice",
    "Trainer",
    "available_cpus",
    "batch_bounds",
    "by_position",
    "choose_threads",
    "clone_state",
    "eval_batches",
    "evaluate",
    "first_found",
    "from_writer",
    "frozen_names",
    "higher_is_better",
    "init_from_env",
    "is_writer",
    "layer_groups",
    "make_optimizer",
    "make_scheduler",
    "mean_over_ranks",
    "param_groups",
    "perturb",
    "range_test",
    "rank_device",
    "ranks",
    "resolve_device",
    "save_atomic",
    "suggest_lr",
    "use_threads",
]
