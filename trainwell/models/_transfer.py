"""`model.init_from`: start from the weights of another run (transfer learning).

Tensors are matched by name and shape. When the classes differ, the head is rebuilt for the
new classes: the rows of classes both runs know (by name) are kept, the others fresh. One
line says what was and was not loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import InputError


@dataclass
class Transfer:
    """What `init_from` loaded into a model, by state-dict entry."""

    source: str
    loaded: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # entry -> why it was not loaded

    def line(self) -> str:
        """One line for people: how much was loaded, and which layers were not, and why."""
        total = len(self.loaded) + len(self.skipped)
        text = f"init_from {self.source}: loaded {len(self.loaded)} of {total} tensors"
        if self.skipped:
            layers: dict[str, str] = {}
            for name, why in self.skipped.items():
                layers.setdefault(name.rsplit(".", 1)[0], why)
            shown = "; ".join(f"{layer} ({why})" for layer, why in list(layers.items())[:4])
            more = f"; ... ({len(layers) - 4} more layers)" if len(layers) > 4 else ""
            text += f"; not loaded: {shown}{more}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "loaded": self.loaded, "skipped": self.skipped}


def read_weights(source: str | Path) -> tuple[dict[str, torch.Tensor], list[str] | None]:
    """The state dict of a run directory (its `model.pt`) or of a state-dict file, and the
    classes it was trained on when known."""
    path = Path(source)
    file = path / "model.pt" if path.is_dir() else path
    if path.is_dir() and not file.is_file():
        raise InputError(f"model.init_from: {path} holds no model.pt (not a finished run?)")
    if not file.is_file():
        raise InputError(f"model.init_from: no such file or directory: {path}")
    try:
        saved = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused, truncated or not a torch file at all
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise InputError(f"model.init_from: cannot load {file}: {reason}") from None
    classes = None
    if isinstance(saved, dict) and isinstance(saved.get("state_dict"), dict):
        data = saved.get("data")
        classes = list(data.get("classes") or []) or None if isinstance(data, dict) else None
        saved = saved["state_dict"]
    if not isinstance(saved, dict) or not all(isinstance(v, torch.Tensor) for v in saved.values()):
        raise InputError(f"model.init_from: {file} holds no state dict of tensors")
    return saved, classes


def head_names(model: nn.Module) -> list[str]:
    """The state-dict entries of the last Linear layer: the classifier head."""
    linear = [name for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linear:
        return []
    return [f"{linear[-1]}.{n}" for n, _ in model.get_submodule(linear[-1]).named_parameters()]


def init_from(model: nn.Module, source: str | Path, classes: list[str] | None = None) -> Transfer:
    """Load into `model` every tensor of `source` whose name and shape match; when `classes`
    differ from those the source was trained on, the head keeps only the rows of the classes
    both know (by name)."""
    state, source_classes = read_weights(source)
    new_classes = classes is not None and source_classes is not None and classes != source_classes
    head = set(head_names(model)) if new_classes else set()
    target = model.state_dict()
    loaded: dict[str, torch.Tensor] = {}
    skipped: dict[str, str] = {}
    for name, tensor in target.items():
        if name not in state:
            skipped[name] = "not in the source"
        elif name in head:
            rows = _head_rows(state[name], tensor, source_classes or [], classes or [])
            if rows is None:
                skipped[name] = f"new head for {len(classes or [])} classes"
            else:
                loaded[name], kept = rows
                if kept < len(classes or []):
                    skipped[name] = f"head rows of {kept} known classes kept, the rest new"
        elif tuple(state[name].shape) != tuple(tensor.shape):
            skipped[name] = f"shape {tuple(state[name].shape)} there, {tuple(tensor.shape)} here"
        else:
            loaded[name] = state[name]
    if not loaded:
        raise InputError(
            f"model.init_from: no tensor of {source} matches this model by name and shape "
            "(was it trained with another model.arch or channels?)"
        )
    model.load_state_dict({**target, **loaded})
    return Transfer(str(source), [n for n in loaded if n not in skipped], skipped)


def _head_rows(
    saved: torch.Tensor, fresh: torch.Tensor, before: list[str], now: list[str]
) -> tuple[torch.Tensor, int] | None:
    """The head's rows (one per class) of the classes both runs know, by name, and fresh rows
    for the new ones; None when no class is shared."""
    shared = [(now.index(c), before.index(c)) for c in now if c in before]
    if not shared or len(before) != saved.shape[0] or saved.shape[1:] != fresh.shape[1:]:
        return None
    rows = fresh.clone()
    for new, old in shared:
        rows[new] = saved[old]
    return rows, len(shared)
