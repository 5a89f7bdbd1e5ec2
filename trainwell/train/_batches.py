"""Mini-batches straight from in-memory tensors: no DataLoader, no worker, no collate.

For data that fits in memory (every built-in source) this is the fastest way to feed a
model; the Trainer also accepts any iterable of `(x, y)` batches, such as a DataLoader.
`AugmentedBatches` augments each batch of them (the `augment` remedy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from ..data import augment_images, augment_table
from ..errors import InputError


def check_reiterable(batches: Any, name: str, epochs: int) -> None:
    """Refuse, in one line, batches that one pass uses up (a generator, an iterator) when
    more than one epoch is to iterate them: the next epoch would find nothing."""
    if epochs > 1 and isinstance(batches, Iterator):
        raise InputError(
            f"the {name} batches are an iterator ({type(batches).__name__}) that one pass uses "
            f"up, but {epochs} epochs are to read them: pass something each epoch can iterate "
            f"again (a DataLoader, a list of (x, y) batches, trainwell.train.TensorBatches)"
        )


def pair(batch: Any) -> tuple[Any, Any]:
    """(inputs, targets) of a batch that is not a tuple of two already (a DataLoader gives a
    list); anything else is refused in one line that says what it is."""
    if isinstance(batch, list | tuple) and len(batch) == 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        what = f"a dict with keys {sorted(map(str, batch))[:6]}"
    elif isinstance(batch, list | tuple):
        what = f"a {type(batch).__name__} of {len(batch)} items"
    else:
        what = f"a {type(batch).__name__}"
    raise InputError(
        f"each batch must be an (inputs, targets) pair; got {what}: have the dataset yield "
        f"(x, y) (per-row weights or masks belong in the loss function)"
    )


def batch_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """(start, stop) of each batch of `size` of `n` rows. A last batch of one row joins the
    one before: batch norm cannot train on one row (it has no variance), and a remedy may
    add batch norm to a network whose batch size was chosen without it."""
    bounds = [(start, min(start + size, n)) for start in range(0, n, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


class TensorBatches:
    """Shuffled (seeded, resumable) or ordered batches of `(X, y)` held on `device`."""

    def __init__(
        self,
        X: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> None:
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        self.X = X.to(device) if device is not None else X
        self.y = y.to(device) if device is not None else y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(batch_bounds(len(self.y), self.batch_size))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        bounds = batch_bounds(len(self.y), self.batch_size)  # a new size: at the next pass
        if not self.shuffle:
            for start, stop in bounds:
                yield self.X[start:stop], self.y[start:stop]
            return
        order = torch.randperm(len(self.y), generator=self.generator).to(self.X.device)
        for start, stop in bounds:
            index = order[start:stop]
            yield self.X[index], self.y[index]

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])


class AugmentedBatches:
    """Wraps in-memory batches, augmenting each one (see `trainwell.data._augment`) with
    draws from their own generator, so that a resumed run draws the same."""

    def __init__(self, batches: TensorBatches, n_classes: int) -> None:
        self.batches, self.n_classes = batches, n_classes
        X = batches.X.float()
        axes = (0, 2, 3) if X.ndim == 4 else 0
        self.std = X.std(dim=axes).clamp(min=1e-8).cpu()

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        g = self.batches.generator
        for x, y in self.batches:
            if x.ndim == 4:
                yield augment_images(x, self.std, g), y
            else:
                yield augment_table(x, y, self.std, self.n_classes, g)

    def state_dict(self) -> dict[str, Any]:
        return self.batches.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batches.load_state_dict(state)


def unwrap(batches: Any, has: Callable[[Any], bool]) -> Any:
    """`batches`, or the batches it wraps (`.batches`: augmentation, adversarial rows), for
    which `has` holds; None when none does (a DataLoader)."""
    while batches is not None and not has(batches):
        batches = getattr(batches, "batches", None)
    return batches
