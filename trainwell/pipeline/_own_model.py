"""Your own nn.Module, tried on two training rows before anything is written: a module that
cannot train on the data is one line naming why, not a torch error from inside the first
step of a run directory left behind."""

from __future__ import annotations

import torch
from torch import nn

from ..config import RunConfig
from ..data import Dataset
from ..errors import InputError


def check_own_model(model: nn.Module, data: Dataset) -> None:
    """Run `model` on two training rows, in training mode (the step's) and in eval mode
    (validation's: Inception-style modules return auxiliary outputs in training only),
    and refuse an output the training step cannot take: not a tensor, a width other than
    the classes', a regression's `(batch, 1)` against its `(batch,)` targets (the squared
    error would broadcast to a batch x batch matrix and fit every row to the mean). The
    module is left as it was: its buffers (batch-norm statistics) and the random stream
    (dropout) are put back; lazy modules take their shapes, as the first step would. A
    module with nothing to train (every parameter frozen) is refused after that run."""
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    x = torch.as_tensor(data.train.X[:2], dtype=torch.float32, device=device)
    was_training = model.training
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            for training in (True, False):
                _check_output(_forward(model.train(training), x), data, len(x))
    finally:
        model.train(was_training)
        with torch.no_grad():
            for name, b in model.named_buffers():
                if name in buffers and b.shape == buffers[name].shape:
                    b.copy_(buffers[name])
    if not any(p.requires_grad for p in model.parameters()):
        raise InputError(
            "your model has no trainable parameter (every one has requires_grad=False): "
            "unfreeze what should learn, a head at least"
        )


def check_embedding_inputs(model: nn.Module, cfg: RunConfig) -> None:
    """A module that starts with an embedding reads integer ids: standardised, the ids of
    an NPZ of token sequences became fractions that `.long()` maps to 0 and 1, and the run
    sat at chance while the doctor advised a higher rate. Refused in one line where the
    inputs are to be standardised."""
    first = next((m for m in model.modules() if any(True for _ in m.parameters(False))), None)
    standardised = cfg.data.standardize or "standardize" in cfg.data.remedies
    if isinstance(first, nn.Embedding | nn.EmbeddingBag) and standardised:
        raise InputError(
            f"your model starts with nn.{type(first).__name__}, which reads integer ids, but "
            "the inputs are to be standardised (data.standardize is on by default), which "
            "turns ids into fractions: set data.standardize: false"
        )


def _forward(model: nn.Module, x: torch.Tensor) -> object:
    try:
        return model(x)
    except Exception as exc:  # any error of the user's forward: named in one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"your model cannot run on this data's rows (inputs of shape {list(x.shape)}, "
            f"float32): {type(exc).__name__}: {first}"
        ) from None


def _check_output(out: object, data: Dataset, batch: int) -> None:
    info = data.info
    if not isinstance(out, torch.Tensor):
        raise InputError(
            f"your model returns a {type(out).__name__}; it must return one tensor "
            "(logits for classification, values for regression)"
        )
    shape = list(out.shape)
    if info.task == "classification":
        wanted = [batch, len(info.classes)]
        fix = f"its last layer must have {len(info.classes)} outputs, one per class"
    else:
        wanted = [batch]
        fix = (
            "end forward with .squeeze(-1) (or nn.Flatten(0))"
            if shape == [batch, 1]
            else ("one value per row")
        )
    if shape != wanted:
        raise InputError(
            f"your model returns outputs of shape {shape} for {batch} rows; this "
            f"{info.task} needs {wanted}: {fix}"
        )
    if not out.is_floating_point() or out.dtype == torch.float64:
        raise InputError(
            f"your model returns {out.dtype} outputs; train it in float32 (model.float())"
        )
