"""Hand-written loops of kinds the doctor was not tuned on: the healthy must raise nothing,
the faulty must be found, and repair mode must leave them better, never worse.

Eight healthy loops (a GRU reading digits row by row, clipped; a pre-norm transformer under
AdamW with OneCycle and label smoothing; a regression MLP on diabetes under Nesterov SGD;
bf16 autocast with gradient accumulation over LayerNorm and GELU; a binary cross entropy
with `pos_weight` under RMSprop; a batch-norm CNN under StepLR; a tanh autoencoder; an LSTM
on token ids) and nine faulty ones, each written as people write them: the last batch's
loss passed to `doctor.epoch_end` with the validation loss (and accuracy) beside it,
gradients zeroed in place after each step, `doctor.close()` at the end. A loop's score is
its validation accuracy (MSE for the regression and the autoencoder, lower is better) at
the end; "as written" is the loop under the doctor in detect mode, which changes nothing.

Run: python benchmarks/loop_zoo.py [--seeds 2] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from silent_bugs import problems
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from torch import nn

import trainwell

Data = tuple[torch.Tensor, torch.Tensor]


def _standardised(X) -> torch.Tensor:
    return torch.tensor((X - X.mean(0)) / (X.std(0) + 1e-8), dtype=torch.float32)


def digits() -> Data:
    X, y = load_digits(return_X_y=True)
    return _standardised(X), torch.tensor(y)


def diabetes() -> Data:
    X, y = load_diabetes(return_X_y=True)
    return _standardised(X), torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)


def breast_cancer() -> Data:
    X, y = load_breast_cancer(return_X_y=True)
    return _standardised(X), torch.tensor(y, dtype=torch.float32)


def tokens() -> Data:
    """Sequences of 20 token ids: is token 3 more frequent than token 7?"""
    ids = torch.randint(1, 12, (3000, 20), generator=torch.Generator().manual_seed(0))
    return ids, ((ids == 3).sum(1) > (ids == 7).sum(1)).long()


@dataclass
class Loop:
    """One hand-written loop: its data, model, optimizer and how it trains."""

    data: Callable[[], Data]
    model: Callable[[], nn.Module]
    optimizer: Callable[[list], torch.optim.Optimizer]
    epochs: int
    batch: int
    loss: Callable = F.cross_entropy
    expect: str = ""  # the fault's code; "" for a healthy loop
    schedule: Callable | None = None  # (optimizer, steps a run) -> a scheduler stepped per step
    accumulate: int = 1  # micro-batches an optimizer step
    bf16: bool = False
    zero_grad: bool = True
    eval_mode: bool = False  # trained in eval() mode by mistake
    clip: float | None = None  # clip_grad_norm_ before doctor.step


def train(loop: Loop, seed: int, mode: str) -> tuple[float, trainwell.Doctor]:
    """Train `loop` on the first 83% of its rows; its score on the rest, and its doctor."""
    torch.manual_seed(seed)
    X, y = loop.data()
    n = int(0.83 * len(y))
    model = loop.model()
    optimizer = loop.optimizer(list(model.parameters()))
    steps = loop.epochs * math.ceil(n / loop.batch) // loop.accumulate
    scheduler = loop.schedule(optimizer, steps) if loop.schedule else None
    doctor = trainwell.Doctor(model, optimizer, mode=mode, epochs=loop.epochs)
    for _ in range(loop.epochs):
        model.train(not loop.eval_mode)
        for k, rows in enumerate(torch.randperm(n).split(loop.batch)):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=loop.bf16):
                loss = loop.loss(model(X[rows]), y[rows]) / loop.accumulate
            loss.backward()
            if (k + 1) % loop.accumulate:
                continue
            if loop.clip:
                nn.utils.clip_grad_norm_(model.parameters(), loop.clip)
            doctor.step(loss)
            optimizer.step()
            if loop.zero_grad:
                optimizer.zero_grad(set_to_none=False)
            if scheduler is not None:
                scheduler.step()
        score, val_loss = evaluate(loop, model, X[n:], y[n:])
        scored = not y.is_floating_point() or loop.loss is _bce
        accuracy = {"val_accuracy": score} if scored else {}
        doctor.epoch_end(loss.item(), val_loss, **accuracy)
    doctor.close()
    return evaluate(loop, model, X[n:], y[n:])[0], doctor


def evaluate(loop: Loop, model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(score, validation loss): the accuracy over classes or a binary label, else the loss."""
    was = model.training
    model.eval()
    with torch.no_grad():
        out = model(X)
        loss = loop.loss(out, y).item()
    model.train(was)
    if not y.is_floating_point():
        return (out.argmax(1) == y).float().mean().item(), loss
    if loop.loss is _bce:
        return ((out.squeeze(-1) > 0).float() == y).float().mean().item(), loss
    return loss, loss


def _mse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out.squeeze(-1) if out.shape != y.shape else out, y)


def _bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(out.squeeze(-1), y, pos_weight=torch.tensor(0.6))


class Rows(nn.Module):
    """Digits read row by row by a GRU or LSTM, or a transformer over the 8 rows."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        if kind == "gru":
            self.body = nn.GRU(8, 64, batch_first=True)
        else:
            layer = nn.TransformerEncoderLayer(
                64, 4, 128, dropout=0.1, batch_first=True, norm_first=True
            )
            self.inp, self.pos = nn.Linear(8, 64), nn.Parameter(torch.zeros(1, 8, 64))
            self.body = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 8, 8)
        if self.kind == "gru":
            return self.head(self.body(x)[0][:, -1])
        return self.head(self.body(self.inp(x) + self.pos).mean(1))


class BiLSTM(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.lstm = nn.Embedding(12, 32), nn.LSTM(32, 64, batch_first=True)
        self.head = nn.Linear(64, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.lstm(self.embed(ids))[0].max(1).values)


class Images(nn.Module):
    """Digits as 1x8x8 images through a small CNN: with batch norm and global pooling, or
    without batch norm and a dense head."""

    def __init__(self, batchnorm: bool) -> None:
        super().__init__()
        convs = [nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)]
        layers: list[nn.Module] = []
        for conv in convs:
            norm = nn.BatchNorm2d(conv.out_channels) if batchnorm else nn.Identity()
            layers += [conv, norm, nn.ReLU()]
        head = (
            [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)]
            if batchnorm
            else [nn.Flatten(), nn.Linear(32 * 64, 64), nn.ReLU(), nn.Linear(64, 10)]
        )
        self.net = nn.Sequential(*layers, *head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.view(-1, 1, 8, 8))


def mlp(*widths: int, act: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """Linear layers of these widths, `act` between them."""
    hidden = [m for a, b in itertools.pairwise(widths[:-1]) for m in (nn.Linear(a, b), act())]
    return nn.Sequential(*hidden, nn.Linear(widths[-2], widths[-1]))


def _drawn_at(std: float) -> nn.Module:
    model = mlp(64, 128, 128, 128, 10, act=nn.Tanh)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
    return model


def _onecycle(optimizer: torch.optim.Optimizer, steps: int):
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=steps)


def _steplr(optimizer: torch.optim.Optimizer, steps: int):
    return torch.optim.lr_scheduler.StepLR(optimizer, steps // 2, 0.1)


def _autoencoder() -> nn.Module:
    """64 -> 8 -> 64 with tanh, trained to give back its input (the loss reads its own)."""
    return nn.Sequential(mlp(64, 32, 8, act=nn.Tanh), mlp(8, 32, 64, act=nn.Tanh))


def _itself(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(out, x)


def _inputs_as_targets() -> Data:
    X, _ = digits()
    return X, X


def sgd(lr: float, momentum: float = 0.0, **kw) -> Callable:
    return lambda params: torch.optim.SGD(params, lr, momentum=momentum, **kw)


def adam(lr: float, cls=torch.optim.Adam, **kw) -> Callable:
    return lambda params: cls(params, lr, **kw)


HEALTHY: dict[str, Loop] = {
    "GRU, digits by rows, clipped": Loop(digits, lambda: Rows("gru"), adam(3e-3), 12, 32, clip=1.0),
    "transformer, AdamW + OneCycle": Loop(
        digits,
        lambda: Rows("transformer"),
        adam(1e-3, torch.optim.AdamW, weight_decay=0.05),
        15,
        64,
        loss=lambda o, t: F.cross_entropy(o, t, label_smoothing=0.1),
        schedule=_onecycle,
    ),
    "regression MLP, Nesterov SGD": Loop(
        diabetes,
        lambda: mlp(10, 64, 64, 1, act=nn.SiLU),
        sgd(0.01, 0.9, nesterov=True, weight_decay=1e-4),
        40,
        32,
        loss=_mse,
    ),
    "bf16, accumulation, LayerNorm": Loop(
        digits,
        lambda: nn.Sequential(
            nn.Linear(64, 128), nn.LayerNorm(128), nn.GELU(), nn.Dropout(0.1), nn.Linear(128, 10)
        ),
        adam(1e-3),
        20,
        16,
        accumulate=4,
        bf16=True,
    ),
    "BCE with pos_weight, RMSprop": Loop(
        breast_cancer, lambda: mlp(30, 32, 1), adam(1e-3, torch.optim.RMSprop), 30, 32, _bce
    ),
    "batch-norm CNN, StepLR": Loop(
        digits,
        lambda: Images(True),
        sgd(0.05, 0.9, weight_decay=5e-4),
        20,
        64,
        schedule=_steplr,
    ),
    "tanh autoencoder": Loop(_inputs_as_targets, _autoencoder, adam(2e-3), 25, 64, _itself),
    "LSTM on token ids": Loop(tokens, BiLSTM, adam(2e-3), 10, 64),
}
FAULTY: dict[str, Loop] = {
    "transformer, SGD at 1e-4": Loop(
        digits, lambda: Rows("transformer"), sgd(1e-4), 10, 64, expect="slow_convergence"
    ),
    "6 sigmoid layers, SGD": Loop(
        digits,
        lambda: mlp(64, *[64] * 6, 10, act=nn.Sigmoid),
        sgd(0.05),
        12,
        32,
        expect="vanishing_gradient",
    ),
    "transformer, no zero_grad": Loop(
        digits,
        lambda: Rows("transformer"),
        adam(1e-3),
        4,
        64,
        zero_grad=False,
        expect="stale_gradients",
    ),
    "transformer trained in eval()": Loop(
        digits,
        lambda: Rows("transformer"),
        adam(1e-3),
        4,
        64,
        eval_mode=True,
        expect="eval_mode_training",
    ),
    "LSTM on token ids, Adam at 0.5": Loop(tokens, BiLSTM, adam(0.5), 8, 64, expect="divergence"),
    "CNN without batch norm, SGD 0.5": Loop(
        digits, lambda: Images(False), sgd(0.5, 0.9), 12, 64, expect="dying_relu"
    ),
    "MLP, Adam at 0.1": Loop(
        digits, lambda: mlp(64, 256, 256, 10), adam(0.1), 12, 64, expect="divergence"
    ),
    "MLP, SGD 0.1, momentum 0.99": Loop(
        digits, lambda: mlp(64, 256, 256, 10), sgd(0.1, 0.99), 12, 32, expect="divergence"
    ),
    "tanh MLP drawn at std 1": Loop(
        digits, lambda: _drawn_at(1.0), sgd(0.05, 0.9), 12, 32, expect="saturated_activation"
    ),
}


def codes(doctor: trainwell.Doctor) -> list[str]:
    """The warning and error codes found, in the order found."""
    return list(dict.fromkeys(f.code for f in problems(doctor)))


def run(seeds: int, progress: Progress) -> list[dict]:
    rows = []
    task = progress.add_task("loops", total=seeds * (len(HEALTHY) + 2 * len(FAULTY)))
    for name, loop in {**HEALTHY, **FAULTY}.items():
        row: dict = {"loop": name, "fault": loop.expect, "written": [], "codes": [], "first": []}
        row |= {"repaired": [], "remedies": []} if loop.expect else {}
        for seed in range(seeds):
            score, doctor = train(loop, seed, "detect")
            row["written"].append(score)
            row["codes"].append(codes(doctor))
            steps = [f.step for f in doctor.findings if f.code == loop.expect]
            row["first"].append(steps[0] if steps else None)
            progress.advance(task)
            if loop.expect:
                score, doctor = train(loop, seed, "repair")
                row["repaired"].append(score)
                row["remedies"].append([r["remedy"] for r in doctor.repairs])
                progress.advance(task)
        rows.append(row)
    return rows


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.3f}" if all(map(math.isfinite, values)) else "nan"


def tables(rows: list[dict], seeds: int) -> list[Table]:
    healthy = Table(title=f"healthy loops, {seeds} seeds: any warning or error is a false alarm")
    for column in ("loop", "score as written", "warnings/errors"):
        healthy.add_column(column)
    faulty = Table(title=f"faulty loops, {seeds} seeds: detect, then repair (score at the end)")
    for column in ("loop", "fault", "found", "first step", "as written", "repaired", "remedies"):
        faulty.add_column(column)
    for row in rows:
        alarms = sorted({c for found in row["codes"] for c in found})
        if not row["fault"]:
            healthy.add_row(row["loop"], _mean(row["written"]), ", ".join(alarms) or "none")
            continue
        found = sum(row["fault"] in c for c in row["codes"])
        first = [s for s in row["first"] if s is not None]
        remedies = sorted({r for done in row["remedies"] for r in done})
        faulty.add_row(
            row["loop"],
            row["fault"],
            f"{found}/{seeds}",
            str(min(first)) if first else "-" if not found else "epoch end",
            _mean(row["written"]),
            _mean(row["repaired"]),
            ", ".join(remedies) or "-",
        )
    return [healthy, faulty]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    console = Console(stderr=True)
    with Progress(console=console, disable=args.json or not console.is_terminal) as progress:
        rows = run(args.seeds, progress)
    if args.json:
        print(json.dumps(rows))
        return
    for table in tables(rows, args.seeds):
        Console(width=150).print(table)


if __name__ == "__main__":
    main()
