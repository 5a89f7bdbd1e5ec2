from ._adversarial import NORMS, AdversarialBatches, AdversarialTraining, Box, Norm, perturb
from ._batches import AugmentedBatches, TensorBatches, batch_bounds
from ._best import BestWeights, by_position, clone_state, default_monitor, higher_is_better
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
