"""Batch norm whose running statistics follow the last batches: torch's `momentum` is the
share each new batch's statistics take (0.1 by default), Keras' the share the old ones
keep (0.99). A model ported with momentum=0.99, or set to 1.0, evaluates with the
statistics of its last training batch or two, however few rows it held: nothing fails,
and the validation loss swings from epoch to epoch while the training loss falls (stress
25: momentum 1.0, a last batch of 3 rows, 0.787 accuracy; a lower rate made it 0.469).
"""

from __future__ import annotations

from torch import nn

from ..findings import Finding
from ._silent import LoopRecord, LoopThresholds, few_names, loop_finding
from ._watched import BATCHNORM

FAST = 0.5  # a momentum at or above this: each batch's statistics outweigh all before it
DEFAULT = 0.1  # torch's


def fast_norms(model: nn.Module) -> list[tuple[str, float]]:
    """The batch norm modules that keep running statistics with a momentum of `FAST` or
    more, with it (None, a cumulative average, is not this)."""
    return [
        (name, float(m.momentum))
        for name, m in model.named_modules()
        if isinstance(m, BATCHNORM) and m.track_running_stats and (m.momentum or 0) >= FAST
    ]


def batch_norm_momentum(r: LoopRecord, t: LoopThresholds) -> Finding | None:
    """Some batch norm's momentum is `FAST` or more, seen at the first check."""
    if not r.fast_norms or not r.checks:
        return None
    names = [name for name, _ in r.fast_norms]
    momenta = sorted({momentum for _, momentum in r.fast_norms})
    low = momenta[0]  # a port from Keras reads 0.9 to 0.999
    keras = f" (Keras' {1 - low:g} is torch's {low:g})" if 0.9 <= low < 1 else ""
    return loop_finding(
        "batch_norm_momentum",
        "warning",
        f"Batch norm ({few_names(names)}) keeps running statistics with momentum "
        f"{', '.join(f'{m:g}' for m in momenta)}: in torch that is the share each new batch "
        f"takes{keras}, so eval() normalises with the statistics of the last training batch "
        f"or two, however few rows they held, and the validation swings from epoch to epoch.",
        r,
        r.checks[0].step,
        modules=names,
        momentum=momenta,
    )


def default_momentum(model: nn.Module, names: list[str]) -> str:
    """Set the momentum of the batch norm modules named back to torch's default."""
    modules = dict(model.named_modules())
    for name in names:
        modules[name].momentum = DEFAULT
    return f"batch norm momentum -> {DEFAULT:g} ({few_names(names)})"
