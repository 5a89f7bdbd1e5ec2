"""Transfer learning: init_from loads what matches and rebuilds the head; train.finetune
freezes, unfreezes, keeps frozen BatchNorm statistics and gives each layer group its rate;
the doctor's rollbacks, new optimizers and rebuilt models keep all of it."""

import pytest
import torch
from torch import nn

from trainwell import load_config
from trainwell.data import DataInfo
from trainwell.errors import ConfigError
from trainwell.health._model_remedies import he_init
from trainwell.health._optimizer_remedies import scale_lr, switch_to_adam
from trainwell.models import build_model, init_from
from trainwell.pipeline._fit import _rebuild
from trainwell.train import (
    Callback,
    Finetune,
    TensorBatches,
    Trainer,
    frozen_names,
    layer_groups,
    make_optimizer,
)

SHAPE = [1, 16, 16]


def _config(**overrides):
    base = {"model.arch": "resnet", "model.channels": [4, 8], "model.hidden": []}
    return load_config(None, {**base, **overrides})


def _resnet(outputs, **overrides):
    return build_model(_config(**overrides).model, SHAPE, outputs, regression=False)


def test_resnet_is_residual_with_batchnorm_and_global_pooling():
    model = _resnet(3, **{"model.channels": [4, 8, 16]})
    blocks = [m for m in model.modules() if type(m).__name__ == "ResidualBlock"]
    assert len(blocks) == 3
    assert any(isinstance(m, nn.AdaptiveAvgPool2d) for m in model.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model(torch.zeros(2, *SHAPE)).shape == (2, 3)
    groups = [name for name, _ in layer_groups(model)]
    assert groups == ["net.0", "net.1", "net.2", "net.3", "net.6"]


def test_init_from_loads_by_name_and_shape_and_rebuilds_the_head(tmp_path):
    torch.manual_seed(0)
    source = _resnet(5)
    torch.save(source.state_dict(), tmp_path / "weights.pt")
    target = _resnet(3)
    done = init_from(target, tmp_path / "weights.pt")
    assert set(done.skipped) == {"net.5.weight", "net.5.bias"}  # the head: 3 classes, not 5
    assert torch.equal(target.net[0][0].weight, source.net[0][0].weight)
    assert "loaded 36 of 38 tensors" in done.line() and "net.5" in done.line()
    # a run's model.pt knows its classes: same shape, other classes -> a new head
    saved = {"state_dict": _resnet(3).state_dict(), "data": {"classes": ["a", "b", "c"]}}
    torch.save(saved, tmp_path / "model.pt")
    fresh = _resnet(3)
    head = fresh.net[5].weight.clone()
    skipped = init_from(fresh, tmp_path, ["x", "y", "z"]).skipped
    assert set(skipped) == {"net.5.weight", "net.5.bias"}
    assert torch.equal(fresh.net[5].weight, head)
    assert init_from(fresh, tmp_path, ["a", "b", "c"]).skipped == {}
    head = saved["state_dict"]["net.5.weight"]
    assert torch.equal(fresh.net[5].weight, head)
    # shared classes keep their rows, by name, in the new order; a new class gets a new row
    bigger = _resnet(4)
    new_row = bigger.net[5].weight[3].clone()
    done = init_from(bigger, tmp_path, ["c", "a", "b", "new"])
    assert "3 known classes" in done.skipped["net.5.weight"]
    assert torch.equal(bigger.net[5].weight[:3], head[[2, 0, 1]])
    assert torch.equal(bigger.net[5].weight[3], new_row)


class _Watch(Callback):
    """Copies of the weights and BatchNorm statistics at each epoch end."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, epoch, metrics):
        self.states.append({k: v.clone() for k, v in self.trainer.model.state_dict().items()})


def _trainer(model, spec, callbacks):
    X = torch.randn(64, *SHAPE)
    y = (X.mean((1, 2, 3)) > 0).long()
    optimizer = make_optimizer(spec, model)
    trainer = Trainer(model, optimizer, epochs=3, device="cpu", callbacks=callbacks)
    return trainer, TensorBatches(X, y, 16, seed=0)


def test_frozen_until_unfreeze_at_with_batchnorm_statistics_kept():
    torch.manual_seed(0)
    cfg = _config(**{"train.finetune": {"freeze": ["backbone"], "unfreeze_at": 2}})
    model = _resnet(2)
    frozen = frozen_names(model, cfg.train.finetune)
    assert frozen and not any(n.startswith("net.5") for n in frozen)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    watch = _Watch()
    trainer, batches = _trainer(model, cfg.train, [Finetune(cfg.train.finetune, frozen), watch])
    trainer.fit(batches)
    stem, mean, head = "net.0.0.weight", "net.0.1.running_mean", "net.5.weight"
    for epoch in (0, 1):  # frozen: weights and BatchNorm statistics as they were
        assert torch.equal(watch.states[epoch][stem], before[stem])
        assert torch.equal(watch.states[epoch][mean], before[mean])
        assert not torch.equal(watch.states[epoch][head], before[head])
    assert not torch.equal(watch.states[2][stem], before[stem])  # unfrozen at epoch 2
    assert not torch.equal(watch.states[2][mean], before[mean])
    # the healthy twin: without finetune everything moves from the first epoch
    torch.manual_seed(0)
    model, watch = _resnet(2), _Watch()
    trainer, batches = _trainer(model, _config().train, [watch])
    trainer.fit(batches)
    assert not torch.equal(watch.states[0][stem], before[stem])


def test_layer_lr_decay_per_group_head_first_and_set_lr_keeps_ratios():
    cfg = _config(**{"train.finetune": {"layer_lr_decay": 0.5}, "train.lr": 0.01})
    optimizer = make_optimizer(cfg.train, _resnet(2))
    rates = [g["lr"] for g in optimizer.param_groups]
    assert [g["layer"] for g in optimizer.param_groups] == ["net.5", "net.2", "net.1", "net.0"]
    assert rates == pytest.approx([0.01, 0.005, 0.0025, 0.00125])
    trainer = Trainer(_resnet(2), optimizer, device="cpu")
    trainer.set_lr(0.1)
    assert trainer.lr == pytest.approx(0.1)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    scale_lr(trainer, 0.1)  # the doctor's lower_lr
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx(rates)
    assert len(make_optimizer(_config().train, _resnet(2)).param_groups) == 1  # healthy twin


def test_unknown_freeze_name_is_a_config_error():
    cfg = _config(**{"train.finetune": {"freeze": ["net.9"]}})
    with pytest.raises(ConfigError, match=r"train\.finetune\.freeze.*net\.9.*net\.0"):
        frozen_names(_resnet(2), cfg.train.finetune)


def test_doctor_rollback_new_optimizer_and_rebuilt_model_keep_finetuning(tmp_path):
    torch.manual_seed(0)
    torch.save({"state_dict": _resnet(2).state_dict()}, tmp_path / "model.pt")
    cfg = _config(
        **{
            "model.init_from": str(tmp_path),
            "train.optimizer": "sgd",
            "train.finetune": {"freeze": ["backbone"], "unfreeze_at": 5, "layer_lr_decay": 0.5},
        }
    )
    info = DataInfo("defects", "classification", SHAPE, ["a", "b"])
    model = _resnet(2)
    init_from(model, tmp_path)
    finetune = Finetune(cfg.train.finetune, frozen_names(model, cfg.train.finetune))
    trainer, batches = _trainer(model, cfg.train, [finetune])
    trainer.fit(batches)
    snapshot = trainer.snapshot()
    trainer.restore(snapshot)  # a rollback: same groups, same rates, still frozen
    assert len(trainer.optimizer.param_groups) == 4
    assert not trainer.model.net[0][0].weight.requires_grad
    rebuild = _rebuild(cfg, info, len(batches), finetune)
    switch_to_adam(trainer, rebuild)
    groups = trainer.optimizer.param_groups
    assert isinstance(trainer.optimizer, torch.optim.Adam) and len(groups) == 4
    assert [g["lr"] for g in groups] == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])
    he_init(trainer, rebuild)  # a rebuilt model starts from the pretrained weights, frozen
    pretrained = torch.load(tmp_path / "model.pt", weights_only=True)["state_dict"]
    assert torch.equal(trainer.model.net[1].conv1.weight, pretrained["net.1.conv1.weight"])
    assert not trainer.model.net[1].conv1.weight.requires_grad
    assert trainer.model.net[5].weight.requires_grad


@pytest.mark.parametrize("finetune_first", [True, False])
def test_the_doctor_probes_only_what_learns(finetune_first):
    """The pipeline puts Finetune before the doctor: it probes only the layers that learn.
    Built the other way round, it probes the frozen backbone too, whose missing gradients
    read as zeros were once a vanishing gradient: they are idle layers now, which the
    gradient rules leave out (`ProbeHistory.idle`)."""
    from trainwell.health import DoctorCallback

    torch.manual_seed(0)
    cfg = _config(**{"train.finetune": {"freeze": ["backbone"]}})
    model = _resnet(2)
    finetune = Finetune(cfg.train.finetune, frozen_names(model, cfg.train.finetune))
    doctor = DoctorCallback(mode="detect")
    callbacks = [finetune, doctor] if finetune_first else [doctor, finetune]
    X = torch.randn(256, *SHAPE)
    y = (X.mean((1, 2, 3)) > 0).long()
    trainer = Trainer(
        model, make_optimizer(cfg.train, model), epochs=3, device="cpu", callbacks=callbacks
    )
    trainer.fit(TensorBatches(X, y, 16, seed=0))
    assert not [f for f in doctor.findings if f.code == "vanishing_gradient"]
    history = doctor.examiner.history
    frozen = [i for i, name in enumerate(history.layers) if name.startswith("net.1.")]
    assert bool(frozen) is not finetune_first
    assert set(frozen) <= set(history.idle)


def test_ddp_wraps_the_model_again_only_when_what_learns_changes(tmp_path, monkeypatch):
    """DDP syncs the gradients of the parameters that required one when it wrapped the
    model: a fine-tuned run is wrapped frozen, then once more when it unfreezes, not at
    every call of `trainable_changed` (a stand-in wrapper counts, in one process)."""
    from trainwell.train import _trainer

    wrapped: list[tuple[bool, ...]] = []

    class Wrapper(nn.Module):
        def __init__(self, model: nn.Module) -> None:
            super().__init__()
            self.module = model
            wrapped.append(tuple(p.requires_grad for p in model.parameters()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.module(x)

    monkeypatch.setattr(_trainer, "wrap", lambda model, device: Wrapper(model))
    import trainwell

    config = {
        "data": {"source": "defects", "audit": False,
                 "defects": {"count": 80, "size": 16, "rate": 0.5}},
        "model": {"arch": "resnet", "channels": [4, 8], "hidden": []},
        "train": {"epochs": 3, "batch_size": 16,
                  "finetune": {"freeze": ["backbone"], "unfreeze_at": 2}},
    }  # fmt: skip
    trainwell.fit(config, out=tmp_path, report=False)
    assert len(wrapped) == 2  # frozen at the start, all learning from epoch 2
    assert not all(wrapped[0]) and all(wrapped[1])
