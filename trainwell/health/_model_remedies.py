"""Remedies that change the network: its initialisation, activations, normalisation and
width (a rebuild, started afresh at a rate measured for it), and its regularisation (the
weights kept)."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from torch import nn

from ..config import Init
from ..train import Trainer, by_position
from ._evidence import (
    DROPOUTS,
    STRONG_DROPOUT,
    collapsed,
    decay_limit,
    dropout,
    strong_decay,
    strong_l1,
)
from ._history import data_loss
from ._rebuild import NotApplicable, Rebuild, module_activation
from ._silent import few_names
from ._symmetry import alike_named, draw_afresh
from ._watched import trained_parameters


def he_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """He initialisation, biases at 0: a config's network rebuilt; your own module, which
    the doctor does not rebuild, initialised again in place."""
    init = Init(weights="he", bias=0.0)
    if rebuild.own_model:
        return rebuild.initialise_in_place(trainer, init)
    return rebuild.new_model(trainer, init=init, **_normalised(rebuild))


def xavier_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """Unit gain for tanh and sigmoid units pinned at their asymptotes, the layers kept as
    they were: with batch norm added, tanh CNNs fitted their training rows and ended 0.1
    lower (held-out-12). Tried after ReLU (`ORDERS`), and wherever the weights are measured
    far from any initialisation (`matched_init`). Your own module: in place."""
    init = Init(weights="xavier", bias=0.0)
    if rebuild.own_model:
        return rebuild.initialise_in_place(trainer, init)
    return rebuild.new_model(trainer, init=init)


def relu_activation(trainer: Trainer, rebuild: Rebuild) -> str:
    return rebuild.new_model(
        trainer, activation="relu", init=Init(weights="he", bias=0.0), **_normalised(rebuild)
    )


def leaky_relu(trainer: Trainer, rebuild: Rebuild) -> str:
    """Swap ReLUs for LeakyReLUs in place: dead units get a gradient again and the weights
    learned so far are kept (activations hold no parameters). The modules swapped are
    recorded (`swapped`): the user's own module, built again to load or resume the run, is
    swapped alike (a config's network is built with the repaired activation)."""
    swapped = swap_relus(trainer.model)
    if not swapped:
        raise NotApplicable("no ReLU module to swap (LeakyReLU already, or a functional relu)")
    rebuild.recorded["swapped"] = swapped
    before = rebuild.config.model.activation
    rebuild.config.model = rebuild.config.model.model_copy(update={"activation": "leaky_relu"})
    return f"model.activation: {before} -> leaky_relu ({len(swapped)} layers, weights kept)"


def swap_relus(model: nn.Module, paths: Collection[str] | None = None) -> list[str]:
    """Replace the `nn.ReLU` modules of `model` at `paths` (every one, by default) with
    `nn.LeakyReLU()`, in place; returns the paths replaced."""
    swapped = []
    for parent, module in model.named_modules():
        for name, child in module.named_children():
            path = f"{parent}.{name}" if parent else name
            if type(child) is nn.ReLU and (paths is None or path in paths):
                setattr(module, name, nn.LeakyReLU())
                swapped.append(path)
    return swapped


def swapped_relus(repairs: list[dict[str, Any]]) -> list[str]:
    """The module paths the repairs of a run swapped to LeakyReLU in place."""
    return [path for record in repairs for path in record.get("swapped", [])]


def batchnorm(trainer: Trainer, rebuild: Rebuild) -> str:
    if rebuild.config.model.normalised:  # a ResNet's is built in, whatever the config says
        raise NotApplicable("the network has batch norm already")
    return rebuild.new_model(trainer, batchnorm=True, init=Init(weights="he", bias=0.0))


def input_norm(trainer: Trainer, rebuild: Rebuild) -> str:
    """Standardise the inputs inside the network: unscaled features stop saturating and
    exploding."""
    if rebuild.config.model.input_norm:
        raise NotApplicable("the inputs are standardised in the network already")
    return rebuild.new_model(trainer, input_norm=True)


def input_norm_and_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """Batch-normalise the inputs and start from the initialisation made for the activation.
    Where the inputs are unscaled and the weights far larger than any sane initialisation
    gives, each cause alone saturates or blows up the units: a rebuild that cured one would
    keep the other."""
    if rebuild.config.model.input_norm:
        raise NotApplicable("the inputs are standardised in the network already")
    return rebuild.new_model(
        trainer, input_norm=True, init=_init_for(rebuild.config.model.activation)
    )


def matched_init(trainer: Trainer, rebuild: Rebuild) -> str:
    """Start from the initialisation made for the activation: weights far smaller or larger
    than it shrink or blow up the signal at every layer, both ways. Your own module: in
    place, for the activation it holds."""
    if rebuild.own_model:
        init = _init_for(module_activation(trainer.model))
        return rebuild.initialise_in_place(trainer, init)
    return rebuild.new_model(
        trainer, init=_init_for(rebuild.config.model.activation), **_normalised(rebuild)
    )


def redraw_alike(trainer: Trainer, rebuild: Rebuild) -> str:
    """Units all alike (`symmetric_units`): only a random start tells them apart. A network
    built from the config is built again with the initialisation made for its activation,
    at the same rate; your own module has only the tensors whose units are all alike drawn
    afresh in place (a pretrained part beside them keeps its weights)."""
    if not rebuild.own_model:
        init = _init_for(rebuild.config.model.activation)
        return rebuild.new_model(trainer, init=init, fresh=False)
    named = dict(trained_parameters(trainer.model))
    names, _ = alike_named(list(named.items()))
    if not names:
        raise NotApplicable("no trained tensor of your module has its units all alike")
    draw_afresh([named[n] for n in names], trainer.optimizer)
    trainer.best.forget()  # another network's
    return f"{few_names(names)} drawn afresh in place (as nn.Linear draws)"


def _normalised(rebuild: Rebuild) -> dict[str, bool]:
    """Batch norm for a network started over because its signal or gradients ran out of
    scale: it keeps every layer's pre-activations at unit scale whatever the weights
    become, where a good initialisation only starts them so (Ioffe & Szegedy 2015). Not on
    batches under 16 rows, whose statistics are too noisy to normalise by; not in a ResNet,
    which has it by design, nor in a network fine-tuned from pretrained weights, which new
    layers would no longer fit."""
    spec = rebuild.config.model
    wanted = not spec.normalised and spec.init_from is None
    return {"batchnorm": True} if wanted and rebuild.config.train.batch_size >= 16 else {}


def _init_for(activation: str) -> Init:
    """Xavier for tanh and sigmoid (unit gain), He for the ReLU family and the rest."""
    return Init(weights="xavier" if activation in ("tanh", "sigmoid") else "he", bias=0.0)


# a CNN's last feature map may be this many cells on a side; a larger one gets a block
MAX_MAP_SIDE = 4
# images this many pixels a side or more: an MLP that underfits them is given convolutions
CONV_SIDE = 16


def widen(trainer: Trainer, rebuild: Rebuild) -> str:
    """Four times the width of every layer (at least 64 units, 16 channels). A CNN whose
    last feature map is still wider than MAX_MAP_SIDE cells also gets conv blocks (twice
    the channels each) until it is not: after one block of 3x3 filters a 32-pixel image is
    a 16x16 map of 4-pixel patches, and a dense layer over it learns where pixels are,
    not what shapes they make; width alone lets it memorise them (held-out-14
    underfitting-2). Small CNNs for 20-32 pixel images have three blocks, down to a map of
    4x4 cells or fewer: stopping at 8x8 (two blocks) left the widened network of six
    rounds' bottlenecked CNNs 1-10 points below three (dev-2 underfitting-1 among them).
    An MLP on images of CONV_SIDE pixels a side or more is given conv blocks the same way
    (16 channels, then twice the last's): an object anywhere in the frame at any angle
    matches no template of pixel weights, however many there are (a linear model on 36x36
    cutlery frames: 0.39 widened to a dense layer of 128, 0.77 as a CNN; 8x8 digits, which
    an MLP fits, are only widened)."""
    spec = rebuild.config.model
    changes: dict[str, Any] = {"hidden": [max(4 * width, 64) for width in spec.hidden] or [128]}
    side = _image_side(rebuild.input_shape)
    if spec.arch == "mlp" and side >= CONV_SIDE:  # the map is side // 2 after the first block
        changes |= {"arch": "cnn", "channels": _down_to_small_map([16], side // 2)}
    elif spec.convolutional:
        channels = [max(4 * width, 16) for width in spec.channels]
        if spec.arch == "cnn":  # a ResNet pools its map to 1x1 whatever its size
            channels = _down_to_small_map(channels, _map_side(trainer.model, spec.channels[-1]))
        changes["channels"] = channels
    return rebuild.new_model(trainer, **changes)


def deepen(trainer: Trainer, rebuild: Rebuild) -> str:
    """For a CNN that overfits: conv blocks (twice the channels each) until its last feature
    map is MAX_MAP_SIDE cells or fewer. A dense layer over a wide map has a weight for every
    cell of every channel, and learns where each training image's pixels are (one block on
    28x28 images into 1,024 units: 6.4M weights for a few hundred images); pooled blocks
    share their filters across positions. Started afresh; not for a ResNet, whose map is
    pooled to 1x1, nor a map small already."""
    spec = rebuild.config.model
    if spec.arch != "cnn":
        raise NotApplicable("not a CNN with a dense head over its feature map")
    side = _map_side(trainer.model, spec.channels[-1])
    if side <= MAX_MAP_SIDE:
        raise NotApplicable(f"the last feature map is {side}x{side} already")
    return rebuild.new_model(trainer, channels=_down_to_small_map(spec.channels, side))


def _down_to_small_map(channels: list[int], side: int) -> list[int]:
    """`channels` with blocks of twice the last one's added until a map of `side` cells is
    pooled to MAX_MAP_SIDE or fewer."""
    channels = list(channels)
    while side > MAX_MAP_SIDE:
        channels.append(2 * channels[-1])
        side //= 2
    return channels


def _image_side(shape: tuple[int, ...]) -> int:
    """The smaller side of an image input (channels x height x width); 0 for others."""
    return min(shape[1:]) if len(shape) == 3 else 0


def _map_side(model: nn.Module, channels: int) -> int:
    """The side of a CNN's last feature map, read off the first dense layer, which takes
    that map flattened: `channels` x side x side inputs."""
    dense = next(m for m in model.modules() if isinstance(m, nn.Linear))
    return math.isqrt(dense.in_features // channels)


def regularize(trainer: Trainer, rebuild: Rebuild) -> str:
    """More dropout and weight decay, keeping the weights in place (the doctor has put back
    the best ones): dropout holds no parameters, so the rebuilt model takes them as they are.
    It computes at evaluation what they computed, so when they are the best weights they
    stay the best: if the cure fails, stopping early goes back to them, not to the best
    epoch of the regularised network. The weight decay is 10x the run's, at least a
    hundredth of one that keeps a network from fitting (`decay_limit`): 5e-4 where it is an
    L2 penalty (SGD, Adam), 5e-3 where it is decoupled from the gradient (AdamW, whose own
    default is 1e-2)."""
    spec, train = rebuild.config.model, rebuild.config.train
    dropout = min(round(spec.dropout + 0.3, 2), 0.5)
    decay = max(10 * train.weight_decay, decay_limit(trainer.optimizer) / 100)
    rebuild.can_rebuild(f"dropout {dropout:g}, weight decay {decay:g}")
    weights = trainer.model.state_dict()
    in_place = trainer.kept_epoch is not None and trainer.kept_epoch == trainer.best.epoch
    train.weight_decay = decay
    changed = rebuild.new_model(trainer, keep_best=in_place, fresh=False, dropout=dropout)
    trainer.model.load_state_dict(by_position(trainer.model, weights))
    return f"{changed}, train.weight_decay: {train.weight_decay:g} (weights kept)"


USUAL_L1 = 1e-4  # the top of the usual range of an L1 penalty's factor (1e-5..1e-4)


def less_regularisation(trainer: Trainer, rebuild: Rebuild) -> str:
    """Weaken the weight decay (100x), L1 penalty (100x, to the usual 1e-4 at most) and
    dropout (to 0.1) that keep the network from fitting its training data, in the live
    optimizer, trainer and model: the weights are kept. Only what the evidence calls strong
    is changed. The optimizer's moments are cleared with a penalty: they hold its gradient,
    and Adam's would scale the data's gradient down for thousands of steps. Weights the
    penalty has already pulled to zero are started again: there every unit computes the
    same nothing, and a weaker pull leaves them there; one collapsed layer is enough, the
    signal dies there. They start as the config started them: the penalty, not the
    initialisation, was at fault, and He init (larger than PyTorch's default) left ReLU
    MLPs behind a fresh run (dev-2 underfitting-4: 0.74/0.70/0.59 against 0.83/0.75/0.67)."""
    changed = []
    loss = data_loss(trainer.history[-1]) if trainer.history else None
    gain = collapsed(trainer.model)
    l1, decay = strong_l1(trainer.model, trainer.l1, loss), strong_decay(trainer.optimizer)
    if l1:
        before, trainer.l1 = trainer.l1, min(trainer.l1 / 100, USUAL_L1)
        rebuild.config.train.l1 = trainer.l1
        changed.append(f"train.l1: {before:g} -> {trainer.l1:g}")
    if decay:
        for group in trainer.optimizer.param_groups:
            group["weight_decay"] = group.get("weight_decay", 0.0) / 100
        before = rebuild.config.train.weight_decay
        rebuild.config.train.weight_decay = before / 100
        changed.append(f"train.weight_decay: {before:g} -> {before / 100:g}")
    if (before := dropout(trainer.model)) >= STRONG_DROPOUT:  # measured, not the config's
        for module in trainer.model.modules():  # (your own module's is not in it)
            if isinstance(module, DROPOUTS):
                module.p = min(module.p, 0.1)
        rebuild.config.model = rebuild.config.model.model_copy(update={"dropout": 0.1})
        changed.append(f"model.dropout: {before:g} -> 0.1 (weights kept)")
    if not changed:
        raise NotApplicable("neither weight decay, L1 nor dropout is strong")
    if l1 or decay:
        trainer.optimizer.state.clear()  # each parameter's state starts again at its next step
    if gain is not None and rebuild.own_model:
        changed.append(f"a layer's weights had collapsed (gain {gain:.2g}): initialise them again")
    elif gain is not None:
        # the config's own initialisation: the rebuild names only a rate it measured, if any
        measured = rebuild.new_model(trainer)
        changed.append(f"weights started again (a layer's had collapsed: gain {gain:.2g})")
        if measured:
            changed.append(measured)
    return ", ".join(changed)
