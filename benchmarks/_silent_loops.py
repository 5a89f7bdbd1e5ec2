"""The loops of the silent-bug benchmark (`silent_bugs.py`): the models, their data, a
plain hand-written loop with one bug planted or none, and loops written otherwise."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import torch
from torch import nn

import trainwell

BUGS = {
    "stale_gradients": ("stale_gradients", "no optimizer.zero_grad()"),
    "frozen_parameters": ("frozen_parameters", "optimizer built without the head"),
    "frozen_requires_grad": ("frozen_parameters", "first layer requires_grad=False"),
    "eval_mode_training": ("eval_mode_training", "model.eval() to validate, no model.train()"),
    "probabilities_as_logits": ("probabilities_as_logits", "softmax before cross_entropy"),
    "unused_parameters": ("unused_parameters", "a branch forward() never calls"),
    "layers_in_a_list": ("frozen_parameters", "the body held in a plain Python list"),
    "broadcast_loss": ("broadcast_loss", "regression: (n, 1) output, (n,) targets, MSE"),
    "zero_grad_before_step": ("frozen_parameters", "optimizer.zero_grad() after backward()"),
    "loss_rebuilt": ("unused_parameters", "torch.tensor(loss.item(), requires_grad=True)"),
    "softmax_over_batch": ("softmax_over_batch", "nll_loss(out.log_softmax(dim=0), y)"),
    "zero_init": ("symmetric_units", "every weight and bias initialised to zero"),
    "oversized_head": ("high_initial_loss", "the output layer's weights drawn 100x too large"),
    "first_batch": ("repeated_batch", "next(iter(loader)) at each step, no shuffle"),
    "uphill": ("gradient_ascent", "SGD written out as p.add_(lr * p.grad)"),
    "weights_by_counts": ("inverted_class_weights", "imbalanced classes, weight=counts"),
    "clip_after_step": ("clip_after_step", "clip_grad_norm_(params, 0.1) after optimizer.step()"),
    "batch_first_missing": ("batch_mixing", "GRU / encoder without batch_first=True"),
}
REGRESSION_BUGS = {"broadcast_loss"}  # planted in a regression loop (its clean twin too)
# loops of their own (the clean twin's too): one batch for ever is told once two checks of
# one epoch saw it: epochs of 32 steps, not 16, which hold one check (at every 24th step)
# a clip after the step is read at the busy step after a probe's: two readings take more
# steps than 3 epochs of 16 hold
LOOPS = {
    "first_batch": {"batch": 16},
    "weights_by_counts": {"imbalanced": True},
    "clip_after_step": {"epochs": 6},
}


class MLP(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 32)
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(32, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class CNN(nn.Module):
    def __init__(self, classes: int = 4) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(8 * 4 * 4, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class WithBranch(nn.Module):
    """The model with an auxiliary branch that forward() never calls."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.aux = net, nn.Linear(64, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Listed(nn.Module):
    """The model with its body held in a plain list, where nn.ModuleList was meant:
    model.parameters() leaves it out."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.parts, self.head = [net.body], net.head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.parts[0](x))


class RowsGRU(nn.Module):
    """A GRU reading an 8x8 image's rows as 8 steps, (batch, time, features)."""

    def __init__(self, classes: int = 4, batch_first: bool = True) -> None:
        super().__init__()
        self.gru = nn.GRU(8, 32, batch_first=batch_first)
        self.head = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps, _ = self.gru(x[:, 0])
        return self.head(steps[:, -1])


class RowsEncoder(nn.Module):
    """A transformer encoder layer over an 8x8 image's rows, their mean classified."""

    def __init__(self, classes: int = 4, batch_first: bool = True) -> None:
        super().__init__()
        self.embed = nn.Linear(8, 32)
        self.encoder = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.1, batch_first=batch_first)
        self.head = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(self.embed(x[:, 0])).mean(1))


ARCHS: dict[str, Callable[..., nn.Module]] = {"mlp": MLP, "cnn": CNN}
# the bugs planted in other networks than ARCHS': sequence models, for a layer's batch_first
BUG_ARCHS: dict[str, dict[str, Callable[..., nn.Module]]] = {
    "batch_first_missing": {"gru": RowsGRU, "encoder": RowsEncoder}
}
ALL_ARCHS = ARCHS | {name: build for archs in BUG_ARCHS.values() for name, build in archs.items()}


class Uphill(torch.optim.SGD):
    """SGD written out, its step's sign flipped: each step climbs the gradient."""

    @torch.no_grad()
    def step(self, closure=None) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad, alpha=group["lr"])


def make_data(
    rows: int = 512, seed: int = 0, imbalanced: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """8x8 images whose class is the brightest quadrant; `imbalanced`: of 1,024 images,
    all of class 0's kept, half of class 1's, a quarter of 2's, an eighth of 3's."""
    if imbalanced:
        X, y = make_data(1024, seed)
        keep = torch.rand(len(y), generator=torch.Generator().manual_seed(seed)) < 0.5**y
        return X[keep], y[keep]
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(rows, 1, 8, 8, generator=g)
    quadrants = torch.stack(
        [X[:, 0, :4, :4], X[:, 0, :4, 4:], X[:, 0, 4:, :4], X[:, 0, 4:, 4:]], 1
    ).mean((2, 3))
    return X, quadrants.argmax(1)


def train(
    arch: str,
    bug: str | None,
    *,
    epochs: int = 3,
    batch: int = 32,
    every: int = 24,
    doctor: bool = True,
    mode: str = "detect",
    data: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    regression: bool = False,
    imbalanced: bool = False,
) -> tuple[trainwell.Doctor | None, float]:
    """One hand-written loop with `bug` planted (None: the clean twin); returns the doctor
    and the last epoch's mean training loss. `regression`: the loop fits the brightest
    quadrant's index as a number with an MSE loss (the `broadcast_loss` bug's loop)."""
    torch.manual_seed(seed)
    X, y = make_data(imbalanced=True) if imbalanced else data if data is not None else make_data()
    weight = torch.bincount(y).float() if bug == "weights_by_counts" else None
    regression = regression or bug in REGRESSION_BUGS
    build = ALL_ARCHS[arch]
    if bug == "batch_first_missing":  # fed (batch, time, ...), built to take time first
        build = functools.partial(build, batch_first=False)
    model = build(classes=1) if regression else build()
    if bug == "unused_parameters":
        model = WithBranch(model)
    if bug == "layers_in_a_list":
        model = Listed(model)
    net = model.net if isinstance(model, WithBranch) else model
    params = list(model.parameters())
    if bug == "frozen_parameters":
        params = list(net.body.parameters())  # forgot the head
    if bug == "frozen_requires_grad":
        next(net.body.parameters()).requires_grad_(False)
    if bug == "zero_init":
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
    if bug == "oversized_head":  # as a tied embedding's N(0, 1) draw sets the logits
        with torch.no_grad():
            net.head[-1].weight.mul_(100)
    # squared errors of targets 0..3 give steps ~10x a cross entropy's: a tenth of its rate
    kind = Uphill if bug == "uphill" else torch.optim.SGD
    optimizer = kind(params, lr=0.005 if regression else 0.05, momentum=0.9)
    dr = None
    if doctor:
        dr = trainwell.Doctor(model, optimizer, every=every, epochs=epochs, mode=mode)
    mean = float("nan")
    for _ in range(epochs):
        if bug != "eval_mode_training":
            model.train()
        total = torch.zeros(())
        for start in range(0, len(y), batch):
            i = 0 if bug == "first_batch" else start  # its first batch, at every step
            if bug != "stale_gradients":
                optimizer.zero_grad()
            out = model(X[i : i + batch])
            if bug == "probabilities_as_logits":
                out = out.softmax(dim=1)
            if regression:  # the bug keeps the (n, 1) output; squeezed, it is correct
                out = out if bug == "broadcast_loss" else out[:, 0]
                loss = _mse(out, y[i : i + batch].float())
            elif bug == "softmax_over_batch":  # normalised over the rows, not the classes
                loss = nn.functional.nll_loss(out.log_softmax(dim=0), y[i : i + batch])
            else:
                loss = nn.functional.cross_entropy(out, y[i : i + batch], weight=weight)
            if bug == "loss_rebuilt":  # cut from the graph: backward reaches nothing
                loss = torch.tensor(loss.item(), requires_grad=True)
            loss.backward()
            if bug == "zero_grad_before_step":  # set_to_none: the step finds no gradient
                optimizer.zero_grad()
            if dr is not None:
                dr.step(loss)
            optimizer.step()
            if bug == "clip_after_step":  # clips what the step applied already
                nn.utils.clip_grad_norm_(params, 0.1)
            total += loss.detach()
        mean = float(total) / -(-len(y) // batch)
        model.eval()  # validate
        with torch.no_grad():
            scores = model(X[:128])
            val = (
                float(_mse(scores[:, 0], y[:128].float()))
                if regression
                else float(nn.functional.cross_entropy(scores, y[:128]))
            )
        if dr is not None:
            dr.epoch_end(mean, val)
    return dr, mean


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MSE without torch's warning of a broadcast: the doctor, not the warning, finds it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nn.functional.mse_loss(out, y)


# Loops written otherwise, as people write them: (the code their bug raises, or None for a
# loop that is correct however it looks, and how it is written)
OTHERWISE = {
    "accumulation": ("stale_gradients", "4 micro-batches a step, doctor.step at each; "
                     "bug: no zero_grad()"),
    "two_optimizers": ("stale_gradients", "body and head optimizers; bug: only the head's zeroed"),
    "mixed_precision": (None, "GradScaler, doctor.step(loss) before unscale_, scaler given"),
    "frozen_backbone": (None, "backbone frozen, model.eval() then head.train()"),
    "alternate_branch": (None, "an auxiliary head trained every other step"),
    "distillation": ("teacher_trained", "KL to a trained teacher's softened outputs; bug: "
                     "the teacher in the optimizer, its outputs outside no_grad"),
    "distillation_probabilities": ("probabilities_as_logits", "the same; bug: kl_div given "
                                   "the student's softmax, not its log_softmax"),
    "quantile_heads": ("broadcast_loss", "a head per quantile (0.1, 0.5, 0.9), pinball loss "
                       "written out; bug: targets kept (n, 1) against each head's (n,) column"),
}  # fmt: skip


def written_otherwise(
    arch: str, loop: str, buggy: bool, *, every: int = 24, epochs: int = 3, seed: int = 0
) -> trainwell.Doctor:
    """One loop of `OTHERWISE`, with its bug or without; returns the doctor."""
    if loop.startswith("distillation"):
        bug = "probabilities" if loop == "distillation_probabilities" else "teacher"
        return _distillation(arch, bug if buggy else "", every=every, epochs=epochs, seed=seed)
    if loop == "quantile_heads":
        return _quantile_heads(arch, buggy, every=every, epochs=epochs, seed=seed)
    torch.manual_seed(seed)
    X, y = make_data()
    model = WithBranch(ARCHS[arch]()) if loop == "alternate_branch" else ARCHS[arch]()
    net = getattr(model, "net", model)
    if loop == "frozen_backbone":
        net.body.requires_grad_(False)
    in_body = {id(p) for p in net.body.parameters()}
    body = torch.optim.Adam(net.body.parameters(), 1e-3)
    head = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad and id(p) not in in_body], 0.05, 0.9
    )
    optimizers = [head] if loop == "frozen_backbone" else [body, head]
    zeroed = optimizers  # the bug: no zero_grad at all, or only the head's
    if buggy:
        zeroed = [] if loop == "accumulation" else [head]
    scaler = torch.amp.GradScaler("cpu") if loop == "mixed_precision" else None
    doctor = trainwell.Doctor(model, head, every=every, epochs=epochs, scaler=scaler)
    micro = 4 if loop == "accumulation" else 1
    for _ in range(epochs):
        model.train()
        if loop == "frozen_backbone":
            model.eval()
            net.head.train()
        for k, i in enumerate(range(0, len(y), 32)):
            x, target = X[i : i + 32], y[i : i + 32]
            loss = nn.functional.cross_entropy(model(x), target) / micro
            if loop == "alternate_branch" and k % 2 == 0:
                loss = loss + nn.functional.cross_entropy(model.aux(x.flatten(1)), target)
            (scaler.scale(loss) if scaler else loss).backward()
            doctor.step(loss)
            if (k + 1) % micro:
                continue
            for optimizer in optimizers:
                if scaler:
                    scaler.step(optimizer)
                else:
                    optimizer.step()
            if scaler:
                scaler.update()
            for optimizer in zeroed:
                optimizer.zero_grad()
        doctor.epoch_end(loss.item() * micro)
    return doctor


def _distillation(arch: str, bug: str, *, every: int, epochs: int, seed: int) -> trainwell.Doctor:
    """A student fit to the labels and to a trained teacher's outputs softened at
    temperature 2 (Hinton's loss); the bug ("" for none): "teacher", one optimizer built
    over both networks, the teacher's outputs computed with gradients, so the teacher is
    trained too; "probabilities", the KL given the student's probabilities."""
    torch.manual_seed(seed)
    X, y = make_data()
    teacher, student = ARCHS[arch](), ARCHS[arch]()
    train_teacher = torch.optim.SGD(teacher.parameters(), 0.05, momentum=0.9)
    for _ in range(2):
        for i in range(0, len(y), 32):
            train_teacher.zero_grad()
            nn.functional.cross_entropy(teacher(X[i : i + 32]), y[i : i + 32]).backward()
            train_teacher.step()
    teacher.eval()
    buggy = bug == "teacher"
    params = [*student.parameters(), *teacher.parameters()] if buggy else student.parameters()
    optimizer = torch.optim.SGD(params, 0.05, momentum=0.9)
    doctor = trainwell.Doctor(student, optimizer, every=every, epochs=epochs)
    for _ in range(epochs):
        student.train()
        for i in range(0, len(y), 32):
            x, target = X[i : i + 32], y[i : i + 32]
            optimizer.zero_grad()
            with torch.set_grad_enabled(buggy):
                soft = (teacher(x) / 2).softmax(dim=1)
            logits = student(x)
            squash = torch.softmax if bug == "probabilities" else torch.log_softmax
            kl = nn.functional.kl_div(squash(logits / 2, dim=1), soft, reduction="batchmean")
            loss = 0.5 * nn.functional.cross_entropy(logits, target) + 0.5 * 4 * kl
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    return doctor


QUANTILES = (0.1, 0.5, 0.9)


def _quantile_heads(
    arch: str, buggy: bool, *, every: int, epochs: int, seed: int
) -> trainwell.Doctor:
    """Quantile regression of the brightest quadrant's index, one output column per
    quantile, the pinball loss written out per head; the bug: the targets kept as a column,
    `(n, 1)`, against each head's `(n,)` column: the residual is `(n, n)`, and every head
    fits the batch's quantile, whatever its input."""
    torch.manual_seed(seed)
    X, y = make_data()
    model = ARCHS[arch](classes=len(QUANTILES))
    optimizer = torch.optim.SGD(model.parameters(), 0.005, momentum=0.9)
    doctor = trainwell.Doctor(model, optimizer, every=every, epochs=epochs)
    for _ in range(epochs):
        model.train()
        for i in range(0, len(y), 32):
            out, target = model(X[i : i + 32]), y[i : i + 32].float()
            target = target[:, None] if buggy else target
            optimizer.zero_grad()
            loss = sum(
                torch.maximum(q * (target - out[:, j]), (q - 1) * (target - out[:, j])).mean()
                for j, q in enumerate(QUANTILES)
            ) / len(QUANTILES)
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end(loss.item())
    return doctor
