"""Repair mode on your own nn.Module (`fit(config, model=...)`): the doctor changes what it
can in place (rate, optimizer, clipping) and names the change to make in the module for
the remedies that rebuild a network; it does not throw the module away."""

import pytest
import torch
from torch import nn

import trainwell
from trainwell.health._rebuild import REBUILDS_MODEL


class DeepSigmoid(nn.Module):
    """Six sigmoid layers under plain SGD: gradients vanish (a textbook case)."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(64, 64), nn.Sigmoid()]
        for _ in range(5):
            layers += [nn.Linear(64, 64), nn.Sigmoid()]
        self.net = nn.Sequential(*layers, nn.Linear(64, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@pytest.mark.parametrize("own", [True, False])
def test_a_rebuild_remedy_leaves_your_own_module_and_names_the_change(out, own):
    """A rebuild remedy trained trainwell's own MLP from config.model in place of the module
    given: the run was then loadable neither without the module nor with it. The config's
    own network (the twin) is rebuilt, as before."""
    torch.manual_seed(0)
    config = {
        "data": {"source": "digits", "audit": False},
        "model": {"hidden": [64] * 6, "activation": "sigmoid"},
        "train": {"epochs": 4, "optimizer": "sgd", "lr": 0.01},
        "doctor": {"mode": "repair"},
    }
    run = trainwell.fit(config, model=DeepSigmoid() if own else None, out=out, report=False)
    remedies = [r["remedy"] for r in run.repairs]
    assert remedies, "the vanishing gradient was treated"
    if own:
        assert not set(remedies) & REBUILDS_MODEL
        skipped = " ".join(s for r in run.repairs for s in r.get("skipped", []))
        assert "your own nn.Module" in skipped and "activation: relu" in skipped
        loaded = trainwell.load_run(run.run_dir, DeepSigmoid())
        assert isinstance(loaded.model, DeepSigmoid)
    else:
        assert remedies[0] in REBUILDS_MODEL
