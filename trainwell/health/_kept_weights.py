"""Which weights a repaired run ends on: its best epoch's, or the best of a network a remedy
replaced where no network after it beat it.

A repaired run is no longer the one the config asked for (a new network, optimizer or rate,
weights that were memorising): which of its epochs to keep is the doctor's choice, made on
the validation data, as early stopping would make it. A remedy that did not hold, or a
network that trained past its best, must not leave the last epoch's network behind.

Nor must a rebuild. A remedy that rebuilds the network from scratch trades one that has
trained for one that starts afresh, on the evidence of one finding; the new network can
fall short in the epochs it has left (rebuilt late in the run, or for a finding that was
wrong), and the Trainer's best weights are the new network's alone (`BestWeights`: another
network's weights do not fit it). So the replaced network's best epoch is kept here
(`EarlierNetwork`), with the config that built and trained it, and the run ends on it where
no network after it beat it: a repair must not leave a worse model than the one it found.
A network replaced for a runaway (divergence, exploding gradients) is not kept: its weights
were flying off, and its best epoch may be no model at all (the class prior's loss). Nor is
your own nn.Module: the doctor does not rebuild it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from ..config import RunConfig
from ..train import BestWeights, Trainer
from ._rebuild import Rebuild


class Kept(NamedTuple):
    """The epoch a repaired run ends on, and the words for the finding its remedy treated."""

    epoch: int
    code: str
    words: str


@dataclass
class EarlierNetwork:
    config: RunConfig  # the run's config when the network was replaced: what built it
    best: dict[str, Any]  # its best epoch (`BestWeights.state_dict()`)
    record: int  # the index, among the repairs, of the remedy that replaced it

    def state_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "best": self.best, "record": self.record}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> EarlierNetwork:
        return cls(RunConfig.model_validate(state["config"]), state["best"], state["record"])


def outgoing(trainer: Trainer, rebuild: Rebuild, record: int) -> EarlierNetwork | None:
    """The network `trainer` trains now, to keep if a remedy replaces it: None where it has
    no best epoch yet, or is your own module."""
    if trainer.best.weights is None or rebuild.own_model:
        return None
    return EarlierNetwork(rebuild.config.model_copy(deep=True), trainer.best.state_dict(), record)


def better(kept: EarlierNetwork | None, new: EarlierNetwork, trainer: Trainer) -> EarlierNetwork:
    """The better of two replaced networks by their best epochs, judged as the run's best
    weights are (the same metric; on a tie, the one kept already)."""
    if kept is None:
        return new
    record = BestWeights(trainer.best.monitor, trainer.best.min_delta)
    record.load_state_dict(kept.best)
    return new if record.beaten_by(new.best) else kept


def keep_the_best(
    trainer: Trainer,
    rebuild: Rebuild,
    repairs: list[dict[str, Any]],
    earlier: EarlierNetwork | None,
    last_epoch: float | None,
) -> Kept | None:
    """Put back the weights a repaired run ends on (see the module's text), and say so in
    the record of the remedy they follow; None where the live ones are kept."""
    if not repairs:
        return None  # not repaired: the run ends as the config asked
    if earlier is not None and trainer.best.beaten_by(earlier.best):
        return _return_to(earlier, trainer, rebuild, repairs[earlier.record])
    if trainer.kept_epoch is not None:
        return None  # stop_early put the best weights back already
    if trainer.best.epoch in (None, last_epoch):
        return None  # none kept, or the last epoch is the best
    repairs[-1]["kept_epoch"] = kept = trainer.restore_best()
    assert kept is not None  # a best epoch has its weights
    return Kept(
        kept, repairs[-1]["finding"], f"The run ends on the weights of epoch {kept}, its best."
    )


def _return_to(
    earlier: EarlierNetwork, trainer: Trainer, rebuild: Rebuild, record: dict[str, Any]
) -> Kept:
    """End on `earlier`'s best weights, its config the run's repaired config."""
    after = trainer.best.value
    model = rebuild.model(earlier.config.model)
    trainer.replace_model(model, rebuild.optimizer(earlier.config.train, model))
    trainer.best.load_state_dict(earlier.best)
    rebuild.config = earlier.config
    kept = trainer.restore_best()
    assert kept is not None  # an earlier network is kept only with its best weights
    scores = (
        f"its {monitored(trainer)} {earlier.best['value']:.3g} at epoch {kept}, the best after "
        f"it {'none' if after is None else format(after, '.3g')}"
    )
    record["kept_epoch"] = kept
    record["kept_network"] = f"the network it replaced: {scores}"
    words = (
        f"No network after {record['remedy']} beat the one it replaced ({scores}): the run "
        "ends on that network, and the repaired config is the one that built it."
    )
    return Kept(kept, record["finding"], words)


def monitored(trainer: Trainer) -> str:
    """The best weights' metric in words: "validation loss", "validation accuracy"."""
    return trainer.best.monitor.replace("val_", "validation ").replace("_", " ")
