"""Causes read from evidence (never from the config), and remedies whose change lasts."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import trainwell
from trainwell.config import RunConfig
from trainwell.findings import Finding
from trainwell.health import Evidence, Probe, ProbeHistory, Rebuild, gather_evidence
from trainwell.health._evidence import (
    COLLAPSED_GAIN,
    collapsed,
    hidden_gains,
    strong_l1,
    strong_penalty,
)
from trainwell.health._model_remedies import less_regularisation
from trainwell.health._optimizer_remedies import (
    lower_lr,
    lower_momentum,
    raise_lr,
    scale_lr,
    smaller_batches_and_adam,
)
from trainwell.health._rebuild import NotApplicable
from trainwell.health._remedy_order import remedy_order
from trainwell.train import ShardedBatches, TensorBatches, Trainer, make_optimizer, make_scheduler

HEALTH = Path(trainwell.__file__).parent / "health"


def test_nothing_in_the_doctor_reads_the_fault_injection():
    for source in HEALTH.glob("*.py"):
        assert "corrupt" not in source.read_text(), source.name


def _finding(code, **evidence):
    return Finding(code, "error", "training", "", evidence=evidence)


@pytest.mark.parametrize(
    ("code", "evidence", "first"),
    [
        ("exploding_gradient", Evidence(unscaled_inputs=True), "input_norm"),
        ("exploding_gradient", Evidence(), "he_init"),
        ("saturated_activation", Evidence(unscaled_inputs=True), "input_norm"),
        ("saturated_activation", Evidence(), "relu_activation"),
        ("dying_relu", Evidence(unscaled_inputs=True), "input_norm"),
        ("divergence", Evidence(unscaled_inputs=True), "input_norm"),
        ("divergence", Evidence(), "clip_and_adam"),
        ("dying_relu", Evidence(negative_bias=True), "he_init"),
        ("dying_relu", Evidence(large_steps=True), "lower_lr"),
        ("saturated_activation", Evidence(large_steps=True), "lower_lr"),  # SGD 0.2 x 0.98
        ("dying_relu", Evidence(), "leaky_relu"),
        ("underfitting", Evidence(strong_regularisation=True), "less_regularisation"),
        ("underfitting", Evidence(), "widen"),
        ("underfitting", Evidence(small_steps=True), "switch_to_adam"),
        ("underfitting", Evidence(small_steps=True, bottleneck=True), "widen"),
        ("slow_convergence", Evidence(strong_regularisation=True), "less_regularisation"),
        ("slow_convergence", Evidence(), "switch_to_adam"),
        ("underfitting", Evidence(oversized_weights=True), "matched_init"),
        ("slow_convergence", Evidence(oversized_weights=True), "matched_init"),
        # weights the steps blew up (a GRU under Adam at 0.3): the rate first
        ("underfitting", Evidence(oversized_weights=True, large_steps=True), "lower_lr"),
        ("slow_convergence", Evidence(undersized_weights=True), "matched_init"),
        (
            "underfitting",
            Evidence(undersized_weights=True, strong_regularisation=True),
            "less_regularisation",
        ),
        ("divergence", Evidence(oversized_weights=True), "clip_and_adam"),  # its effect
        (
            "saturated_activation",
            Evidence(unscaled_inputs=True, oversized_weights=True),
            "input_norm_and_init",
        ),
        (
            "exploding_gradient",
            Evidence(unscaled_inputs=True, oversized_weights=True),
            "input_norm_and_init",
        ),
        ("divergence", Evidence(unscaled_inputs=True, oversized_weights=True), "input_norm"),
        ("vanishing_gradient", Evidence(undersized_weights=True), "matched_init"),
        (
            "vanishing_gradient",
            Evidence(undersized_weights=True, slope_limited=True),
            "relu_activation",
        ),
        ("vanishing_gradient", Evidence(), "relu_activation"),
        ("underfitting", Evidence(bottleneck=True), "widen"),
        ("slow_convergence", Evidence(bottleneck=True), "widen"),
        ("dying_relu", Evidence(bottleneck=True, stalled=True), "widen"),
        ("divergence", Evidence(bottleneck=True), "clip_and_adam"),  # not a learning problem
    ],
)
def test_the_first_remedy_follows_the_measured_cause(code, evidence, first):
    assert remedy_order(_finding(code), evidence)[0] == first


@pytest.mark.parametrize("code", ["underfitting", "slow_convergence"])
@pytest.mark.parametrize("stalled", [True, False])
def test_a_network_behind_on_steps_too_large_gets_a_lower_rate_never_a_higher(code, stalled):
    """A transformer under AdamW at 0.05 whose steps move its weights 3.5% a step: neither
    a slow curve nor a plateau there is cured by a rate 10x higher. Steps of healthy size
    keep the higher rate among the remedies."""
    large = remedy_order(_finding(code), Evidence(large_steps=True, stalled=stalled))
    assert large[0] == "lower_lr" and "raise_lr" not in large, large
    healthy = remedy_order(_finding(code), Evidence(stalled=stalled))
    assert "raise_lr" in healthy and "lower_lr" not in healthy[:1], healthy
    # a measured cause keeps its place first (a penalty holding the weights at 0)
    held = Evidence(large_steps=True, stalled=stalled, strong_regularisation=True)
    assert remedy_order(_finding(code), held)[:2] == ("less_regularisation", "lower_lr")


def test_a_network_that_underfits_on_tiny_steps_gets_a_faster_rate_before_more_width():
    order = remedy_order(_finding("underfitting"), Evidence(small_steps=True))
    assert order == ("switch_to_adam", "raise_lr", "widen")  # each once


@pytest.mark.parametrize(
    ("optimizer", "lr", "ratio", "small"),
    [
        ("adam", 5e-5, 1e-3, True),  # Adam's step is its rate, whatever the ratio says
        ("adam", 1e-3, 1e-5, False),
        ("sgd", 1e-3, 1e-5, True),  # SGD's step is measured
        ("sgd", 1e-3, 1e-3, False),
    ],
)
def test_evidence_of_small_steps(optimizer, lr, ratio, small):
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    h.loss, h.update_ratio = [2.3, 2.2, 2.1], [np.array([ratio])] * 3
    make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    optimizer = make[optimizer](_mlp().parameters(), lr=lr)
    assert gather_evidence(h, prior_loss=2.3026, optimizer=optimizer).small_steps is small


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_steps_a_schedule_annealed_at_its_end_are_not_small_steps(optimizer):
    """One-cycle near its end has the rate far below its peak by design: a network that
    stalls there is not held back by a rate too low to fit. The same live rate without a
    schedule is too low."""
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    h.loss, h.update_ratio = [2.3, 2.2, 2.1], [np.array([1e-5])] * 3  # SGD's, at the end
    make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    annealed = make[optimizer](_mlp().parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(annealed, max_lr=3e-3, total_steps=100)
    for _ in range(95):
        annealed.step()
        schedule.step()
    live = annealed.param_groups[0]["lr"]
    assert live < 1e-4
    assert not gather_evidence(h, prior_loss=2.3026, optimizer=annealed).small_steps
    constant = make[optimizer](_mlp().parameters(), lr=live)
    assert gather_evidence(h, prior_loss=2.3026, optimizer=constant).small_steps


def test_nan_inputs_are_imputed_before_anything_else():
    finding = _finding("divergence", first_nonfinite_output="input")
    assert remedy_order(finding, Evidence())[0] == "impute_inputs"
    assert remedy_order(_finding("divergence"), Evidence())[0] != "impute_inputs"
    inf = Evidence(unscaled_inputs=True)  # inf inputs are unscaled too: imputed first
    assert remedy_order(finding, inf)[:2] == ("impute_inputs", "clip_and_adam")


def test_a_network_that_does_not_learn_gets_remedies_that_make_it_learn_first():
    learning = remedy_order(_finding("dying_relu"), Evidence(large_steps=True))
    assert learning[0] == "lower_lr"
    stalled = remedy_order(_finding("dying_relu"), Evidence(stalled=True))
    assert stalled.index("batchnorm") < stalled.index("lower_lr") == len(stalled) - 1
    assert {"switch_to_adam", "raise_lr"} <= set(stalled)
    # stalled by steps measured too large: the lower rate makes it learn, a higher one not
    thrashing = remedy_order(_finding("dying_relu"), Evidence(large_steps=True, stalled=True))
    assert thrashing[0] == "lower_lr" and "raise_lr" not in thrashing
    assert "batchnorm" in thrashing
    # units alive at the start that the steps killed, whatever the ratio measured (batch
    # norm lets the weights grow and the ratio shrink) or the bias the steps drove down
    killed = _finding("dying_relu", killed_in_training=True)
    for evidence in (Evidence(), Evidence(negative_bias=True), Evidence(stalled=True)):
        order = remedy_order(killed, evidence)
        assert order[0] == "lower_lr" and "raise_lr" not in order, (evidence, order)
    # killed units on unscaled inputs: the inputs' scale first, then the lower rate
    unscaled = remedy_order(killed, Evidence(unscaled_inputs=True))
    assert unscaled[:3] == ("input_norm", "lower_lr", "he_init"), unscaled
    # then drawn again, not made leaky: dead units do not come back at the lower rate
    for evidence in (Evidence(), Evidence(large_steps=True)):
        order = remedy_order(killed, evidence)
        assert order.index("he_init") == 1 < order.index("leaky_relu"), order
    # units dead from the start (not killed): the leaky slope before a new draw, as before
    dead = remedy_order(_finding("dying_relu"), Evidence())
    assert dead.index("leaky_relu") < dead.index("he_init"), dead
    # killed by the first steps of weights drawn far too large: the draw first, then the
    # rate; weights that large only now may be what the steps made of them: the rate first
    drawn = remedy_order(killed, Evidence(oversized_at_start=True, oversized_weights=True))
    assert drawn[:2] == ("he_init", "lower_lr"), drawn
    assert remedy_order(killed, Evidence(oversized_weights=True))[0] == "lower_lr"
    # a slow loss on steps every layer takes at a healthy size: no remedy raises the rate,
    # stalled or not; a slow loss told another cause, or none, keeps it
    for evidence in (Evidence(), Evidence(stalled=True)):
        moving = remedy_order(_finding("slow_convergence", every_layer_moves=0.012), evidence)
        assert "raise_lr" not in moving and moving, (evidence, moving)
        for told in ({"rate_advice": "raise"}, {"rate_advice": None}, {}):
            too_small = remedy_order(_finding("slow_convergence", **told), evidence)
            assert "raise_lr" in too_small, (evidence, told, too_small)
    # a narrow layer widened first, on steps measured too large: no higher rate after it
    narrow = remedy_order(_finding("underfitting"), Evidence(bottleneck=True, large_steps=True))
    assert narrow[0] == "widen" and "raise_lr" not in narrow, narrow
    # a stalled loss is what explosions cause: they keep their own order
    assert remedy_order(_finding("divergence"), Evidence(stalled=True)) == remedy_order(
        _finding("divergence"), Evidence()
    )


def _probed(model, x):
    probe = Probe(model)
    probe.arm()
    loss = model(x).logsumexp(1).mean()
    loss.backward()
    probe.before_step(0, 0, loss)
    probe.after_step()
    return probe.history


def _mlp(bias=None):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3))
    if bias is not None:
        nn.init.constant_(model[0].bias, bias)
    return model


def test_evidence_is_measured_from_the_batch_and_the_weights():
    x = torch.randn(64, 20)
    mlp = _mlp()
    healthy = gather_evidence(_probed(mlp, x), prior_loss=None, model=mlp)
    assert not (healthy.unscaled_inputs or healthy.negative_bias or healthy.large_steps)
    assert healthy.input_rms == pytest.approx(1.0, abs=0.3)
    raw = gather_evidence(_probed(_mlp(), x * 40 + 100), prior_loss=None)  # physical units
    assert raw.unscaled_inputs and raw.input_rms > 50
    biased = gather_evidence(_probed(_mlp(bias=-3.0), x), prior_loss=None)
    assert biased.negative_bias and biased.min_bias_mean == pytest.approx(-3.0)
    assert not healthy.bottleneck and healthy.narrowest is None
    assert not healthy.undersized_weights  # PyTorch's default: gain 0.58
    assert not healthy.slope_limited
    torch.manual_seed(0)
    sigmoid = nn.Sequential(nn.Linear(20, 32), nn.Sigmoid(), nn.Linear(32, 3))
    assert gather_evidence(_probed(sigmoid, x), prior_loss=None).slope_limited
    tiny = _mlp()
    torch.nn.init.normal_(tiny[0].weight, std=0.01)
    assert gather_evidence(_probed(tiny, x), prior_loss=None, model=tiny).undersized_weights
    torch.manual_seed(0)  # seven hidden layers of gain 0.32: each near a sane one, 3e-4 passes
    deep = nn.Sequential(*[nn.Sequential(nn.Linear(100, 100), nn.Tanh()) for _ in range(8)])
    for layer in deep.modules():
        if isinstance(layer, nn.Linear):
            torch.nn.init.normal_(layer.weight, std=0.032)
    x100 = torch.randn(64, 100)
    assert gather_evidence(_probed(deep, x100), prior_loss=None, model=deep).undersized_weights
    torch.manual_seed(0)  # the same depth at PyTorch's default: 0.58 a layer, 2e-2 passes
    sane = nn.Sequential(*[nn.Sequential(nn.Linear(100, 100), nn.Tanh()) for _ in range(8)])
    assert not gather_evidence(_probed(sane, x100), prior_loss=None, model=sane).undersized_weights
    torch.manual_seed(0)  # 16 layers at the default, 1e-4 passes, but batch norm rescales it
    normed = nn.Sequential(
        *[nn.Sequential(nn.Linear(100, 100), nn.BatchNorm1d(100), nn.ReLU()) for _ in range(16)]
    )
    probed = _probed(normed, x100)
    assert math.prod(hidden_gains(normed)) < 1e-3
    assert not gather_evidence(probed, prior_loss=None, model=normed).undersized_weights
    torch.manual_seed(0)
    narrow = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 1), nn.ReLU())
    narrow.append(nn.Linear(1, 3))
    probed = _probed(narrow, x)
    assert not gather_evidence(probed, prior_loss=None).bottleneck  # no classes: by design
    probed.prior_loss = math.log(3)  # a classifier's
    squeezed = gather_evidence(probed, prior_loss=None)
    assert squeezed.bottleneck and squeezed.narrowest == 1  # 3 classes need 2 directions


def test_evidence_of_a_stalled_loss_and_of_large_steps():
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    h.loss, h.update_ratio = [2.3, 2.29, 2.3], [np.array([0.2])] * 3
    stuck = gather_evidence(h, prior_loss=2.3026)
    assert stuck.stalled and stuck.large_steps
    h.loss, h.update_ratio = [2.3, 1.2, 0.6], [np.array([1e-3])] * 3
    learning = gather_evidence(h, prior_loss=2.3026)
    assert not learning.stalled and not learning.large_steps
    # an epoch's mean loss, when there is one, speaks over the probes'
    assert gather_evidence(h, prior_loss=2.3026, train_loss=2.25).stalled
    # 98% of the prior's loss: stalled by the default share (90%), not by a stricter one
    assert not gather_evidence(h, prior_loss=2.3026, prior_share=0.99, train_loss=2.25).stalled


@pytest.mark.parametrize(
    ("optimizer", "lr", "large"),
    [("adam", 0.03, True), ("adamw", 0.1, True), ("adam", 1e-3, False), ("sgd", 0.03, False)],
)
def test_an_adaptive_optimizer_s_rate_is_the_size_of_its_steps(optimizer, lr, large):
    """Adam at 0.03 moves every weight by ~0.03 a step, however small the ratio measured
    once its units have died and its moments decayed (held-out-10 dying_relu-2: 0.015);
    SGD's steps scale with the gradients, so only the measured ratio speaks for it."""
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    h.loss, h.update_ratio = [2.3, 2.29, 2.3], [np.array([0.015])] * 3
    model = _mlp()
    make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    evidence = gather_evidence(
        h, prior_loss=2.3026, optimizer=make[optimizer](model.parameters(), lr=lr)
    )
    assert evidence.large_steps is large
    assert evidence.adaptive_lr == (None if optimizer == "sgd" else lr)


def _trainer(schedule: str, epochs=6, steps=5):
    cfg = RunConfig.model_validate(
        {"train": {"optimizer": "sgd", "lr": 0.1, "schedule": schedule, "epochs": epochs}}
    )
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = make_scheduler(cfg.train, optimizer, steps)
    return Trainer(model, optimizer, scheduler=scheduler, epochs=epochs), cfg


def _advance(trainer, n):
    for _ in range(n):
        trainer.optimizer.step()
        trainer.scheduler.step()
    return trainer.lr


@pytest.mark.parametrize(("schedule", "per_step"), [("onecycle", 5), ("cosine", 1), ("step", 1)])
def test_a_lower_learning_rate_lasts_under_a_schedule(schedule, per_step):
    """The schedule's own peak and base are scaled: it does not undo the remedy."""
    treated, cfg = _trainer(schedule)
    untreated, _ = _trainer(schedule)
    _advance(treated, 2 * per_step), _advance(untreated, 2 * per_step)
    rebuild = Rebuild(cfg, model=None, optimizer=None, scheduler=None)
    live = treated.lr
    changed = lower_lr(treated, rebuild)
    assert rebuild.config.train.lr == pytest.approx(0.01)
    # named as the repaired config has it, and the live rate where the schedule moved it
    assert changed.startswith("train.lr: 0.1 -> 0.01")
    assert (f"{live:g} -> {treated.lr:g}" in changed) is (live != pytest.approx(0.1))
    for _ in range(3):
        assert _advance(treated, per_step) == pytest.approx(0.1 * _advance(untreated, per_step))


@pytest.mark.parametrize("schedule", ["onecycle", "cosine"])
def test_a_rebuilt_optimizer_anneals_over_the_epochs_left(schedule):
    """An optimizer the doctor replaces at epoch 4 of 6 ends its schedule with the run."""
    trainer, cfg = _trainer(schedule)
    trainer.epoch = 4
    rebuild = Rebuild(cfg, None, make_optimizer, lambda spec, opt: make_scheduler(spec, opt, 5))
    rebuild.new_optimizer(trainer)
    assert trainer.optimizer is not None and trainer.scheduler.optimizer is trainer.optimizer
    steps = 2 * 5 - 1 if schedule == "onecycle" else 2  # to the run's last step, or its end
    assert _advance(trainer, steps) < 0.01 * cfg.train.lr  # the rate annealed
    assert cfg.train.epochs == 6  # the run's own length stands


def test_a_higher_rate_at_the_end_of_a_cosine_schedule_is_judged_on_its_base():
    """Where cosine decay ends, the live rate is 0: raising it scales the schedule's base
    (0.1 -> 1, capped there), not 1 / 0."""
    trainer, cfg = _trainer("cosine")
    assert _advance(trainer, 6) == pytest.approx(0.0, abs=1e-12)
    rebuild = Rebuild(cfg, model=None, optimizer=None, scheduler=None)
    raise_lr(trainer, rebuild)
    assert rebuild.config.train.lr == pytest.approx(1.0)
    assert trainer.scheduler.base_lrs == [pytest.approx(1.0)]
    with pytest.raises(NotApplicable, match="learning rate is 1"):
        raise_lr(trainer, rebuild)


@pytest.mark.parametrize(
    ("make", "read"),
    [
        (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.99), 0.99),
        (lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5), 0.5),
        (lambda p: torch.optim.Adam(p, lr=0.01), None),
    ],
)
def test_the_momentum_is_read_from_the_live_optimizer(make, read):
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    optimizer = make(_mlp().parameters())
    assert gather_evidence(h, prior_loss=2.3026, optimizer=optimizer).momentum == read


@pytest.mark.parametrize("schedule", ["none", "onecycle"])
def test_lower_momentum_damps_heavy_momentum_and_keeps_the_rate(schedule):
    """0.99 -> 0.9 in the optimizer and the config, the rate untouched; under OneCycle,
    which sets the momentum at every step from its own top, the top comes down too."""
    trainer, cfg = _trainer(schedule)
    for group in trainer.optimizer.param_groups:
        group["momentum"] = 0.99
        if "max_momentum" in group:
            group["max_momentum"] = 0.99
    cfg.train.momentum = 0.99
    rebuild = Rebuild(cfg, model=None, optimizer=None, scheduler=None)
    lr = trainer.lr
    assert lower_momentum(trainer, rebuild) == "train.momentum: 0.99 -> 0.9"
    assert trainer.lr == lr and cfg.train.momentum == 0.9
    for _ in range(6):
        trainer.optimizer.step()
        if trainer.scheduler is not None:
            trainer.scheduler.step()
        assert all(g["momentum"] <= 0.9 for g in trainer.optimizer.param_groups)
    with pytest.raises(NotApplicable, match="not heavy"):  # the usual one: a lower rate next
        lower_momentum(trainer, rebuild)


def test_scaling_the_rate_without_a_schedule():
    trainer, _ = _trainer("none")
    scale_lr(trainer, 0.5)
    assert trainer.lr == pytest.approx(0.05)


def _regularised(dropout: float, optimizer: str, decay: float):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 3))
    make = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    return model, make[optimizer](model.parameters(), lr=0.01, weight_decay=decay)


@pytest.mark.parametrize(
    ("dropout", "optimizer", "decay", "strong"),
    [
        (0.0, "sgd", 0.3, True),  # weight decay added to the gradient, 100x the usual
        (0.0, "adam", 0.05, True),
        (0.85, "adam", 0.0, True),  # most of the signal dropped
        (0.0, "adamw", 0.1, False),  # decoupled decay: 0.1 is a common setting
        (0.0, "adamw", 1.0, True),
        (0.5, "sgd", 5e-4, False),  # the classic dropout and decay of a healthy network
        (0.0, "adam", 0.0, False),
    ],
)
def test_strong_regularisation_is_read_from_the_live_model_and_optimizer(
    dropout, optimizer, decay, strong
):
    model, opt = _regularised(dropout, optimizer, decay)
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    evidence = gather_evidence(h, prior_loss=None, model=model, optimizer=opt)
    assert evidence.strong_regularisation is strong
    assert evidence.weight_decay == pytest.approx(decay) and evidence.dropout == dropout
    penalty = strong_penalty(model, opt)  # what the curve rules read
    assert bool(penalty) is strong
    assert penalty.shrinks_weights is (strong and decay > 0)
    assert ("dropout 0.85" in str(penalty)) is (dropout == 0.85)
    assert (f"weight decay {decay:g}" in str(penalty)) is (strong and decay > 0)


def test_less_regularisation_weakens_what_is_strong_in_place():
    model, opt = _regularised(0.85, "sgd", 0.3)
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = RunConfig.model_validate(
        {"model": {"dropout": 0.85}, "train": {"optimizer": "sgd", "weight_decay": 0.3}}
    )
    trainer = Trainer(model, opt, epochs=2)
    rebuild = Rebuild(cfg, model=None, optimizer=None, scheduler=None)
    changed = less_regularisation(trainer, rebuild)
    assert "weight_decay" in changed and "dropout" in changed
    assert opt.param_groups[0]["weight_decay"] == pytest.approx(0.003)
    assert model[2].p == pytest.approx(0.1)
    assert rebuild.config.train.weight_decay == pytest.approx(0.003)
    assert rebuild.config.model.dropout == pytest.approx(0.1)
    assert trainer.model is model and trainer.optimizer is opt  # nothing rebuilt
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    # a healthy twin has nothing to weaken
    healthy, healthy_opt = _regularised(0.2, "sgd", 5e-4)
    with pytest.raises(NotApplicable):
        less_regularisation(Trainer(healthy, healthy_opt, epochs=2), rebuild)


@pytest.mark.parametrize("configured", [0.0, 0.85])
def test_less_regularisation_says_the_dropout_it_measured(configured):
    """Your own module's dropout is not in the config (0 there): the record names the 0.85
    the module has, as it does for a config that says so."""
    model, opt = _regularised(0.85, "sgd", 5e-4)
    cfg = RunConfig.model_validate({"model": {"dropout": configured}})
    rebuild = Rebuild(cfg, model=None, optimizer=None, scheduler=None)
    changed = less_regularisation(Trainer(model, opt, epochs=2), rebuild)
    assert "model.dropout: 0.85 -> 0.1" in changed, changed


def _l1_trainer(scale: float, l1: float, loss: float):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(scale)
    trainer = Trainer(model, torch.optim.Adam(model.parameters()), epochs=2, l1=l1)
    trainer.history.append({"train_loss": loss})
    return trainer


@pytest.mark.parametrize(
    ("scale", "l1", "loss", "strong"),
    [
        (1.0, 0.05, 1.0, True),  # the penalty is several times the loss
        (1e-3, 0.05, 1.6, True),  # the weights pulled to zero: a small penalty, still strong
        (1.0, 1e-5, 1.0, False),  # a usual L1
        (1e-3, 0.0, 1.6, False),  # small weights without L1: not this cause
    ],
)
def test_a_strong_l1_penalty_is_read_from_the_weights_and_the_loss(scale, l1, loss, strong):
    trainer = _l1_trainer(scale, l1, loss)
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    evidence = gather_evidence(
        h,
        prior_loss=None,
        train_loss=loss,
        model=trainer.model,
        l1=trainer.l1,
        optimizer=trainer.optimizer,
    )
    assert evidence.strong_regularisation is strong


def _l1_rebuild(l1: float) -> Rebuild:
    def model(spec):
        torch.manual_seed(1)
        return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))

    cfg = RunConfig.model_validate({"train": {"l1": l1}})
    return Rebuild(cfg, model, lambda spec, net: torch.optim.Adam(net.parameters()), _no_schedule)


def _no_schedule(spec, optimizer):
    return None


def _one_step(trainer):
    model = trainer.model
    (model(torch.randn(4, 8)).sum() + trainer.l1 * model[0].weight.abs().sum()).backward()
    trainer.optimizer.step()


def test_less_regularisation_weakens_a_strong_l1_in_the_trainer():
    trainer = _l1_trainer(0.3, 0.05, 0.1)  # the penalty is most of the loss, weights intact
    rebuild = _l1_rebuild(0.05)
    model = trainer.model
    _one_step(trainer)
    assert trainer.optimizer.state  # Adam's moments, shaped by the penalty's gradient
    assert less_regularisation(trainer, rebuild) == "train.l1: 0.05 -> 0.0001"
    assert not trainer.optimizer.state  # cleared: the next step starts them again
    assert trainer.l1 == pytest.approx(1e-4) and rebuild.config.train.l1 == pytest.approx(1e-4)
    assert trainer.model is model  # weights kept
    with pytest.raises(NotApplicable):  # a usual L1 is left alone
        less_regularisation(_l1_trainer(1.0, 1e-5, 1.0), rebuild)


def test_weights_an_l1_penalty_pulled_to_zero_are_started_again_as_the_config_starts_them():
    trainer = _l1_trainer(1e-3, 0.05, 1.6)
    collapsed, rebuild = trainer.model, _l1_rebuild(0.05)
    init = rebuild.config.model.init
    changed = less_regularisation(trainer, rebuild)
    assert changed.startswith("train.l1: 0.05 -> 0.0001, weights started again (a layer's")
    assert "model.init" not in changed  # the penalty was at fault, not the initialisation
    assert trainer.model is not collapsed and trainer.l1 == pytest.approx(1e-4)
    assert max(hidden_gains(trainer.model)) > 0.3  # a sane initialisation's
    assert rebuild.config.model.init == init


def _deep_l1_trainer(second_gain: float | None, loss: float) -> Trainer:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )
    if second_gain is not None:
        weight = model[2].weight
        with torch.no_grad():
            weight.mul_(second_gain / float(weight.norm() / weight.shape[0] ** 0.5))
    trainer = Trainer(model, torch.optim.Adam(model.parameters()), epochs=2, l1=0.05)
    trainer.history.append({"train_loss": loss})
    return trainer


def test_one_layer_pulled_to_zero_is_collapse_enough():
    """L1 on digits left the first layer at gain 0.11 and the second at 0.005: the signal
    dies in the second whatever the first does, so the weights start again; the same net
    with every layer intact keeps its weights."""
    trainer = _deep_l1_trainer(0.005, 1.6)
    assert max(hidden_gains(trainer.model)) > COLLAPSED_GAIN  # the largest gain hides it
    assert collapsed(trainer.model) == pytest.approx(0.005, rel=1e-3)
    changed = less_regularisation(trainer, _l1_rebuild(0.05))
    assert "collapsed: gain 0.005" in changed and max(hidden_gains(trainer.model)) > 0.3
    intact = _deep_l1_trainer(None, 0.1)  # the same penalty, most of the loss, weights intact
    assert collapsed(intact.model) is None
    assert "collapsed" not in less_regularisation(intact, _l1_rebuild(0.05))


def test_a_penalty_is_weakened_on_the_weights_the_evidence_read():
    """less_regularisation changes the penalty first: it reads the live weights, which the
    L1 penalty pulled to zero, not those of the last healthy snapshot, which it had not yet
    shrunk (there the penalty reads as moderate)."""
    from trainwell.health._repair import Repairer

    trainer = _l1_trainer(0.3, 0.05, 1.6)
    assert not strong_l1(trainer.model, trainer.l1, 1.6)  # the snapshot's weights
    rebuild = _l1_rebuild(0.05)
    repairer = Repairer(trainer, rebuild, prior_loss=1.6)
    with torch.no_grad():
        for p in trainer.model.parameters():
            p.mul_(1e-3 / 0.3)
    changed = repairer._apply("less_regularisation", "underfitting")
    assert changed.startswith("train.l1: 0.05 -> 0.0001")


def test_oversized_weights_are_measured_by_each_hidden_layers_gain():
    h = ProbeHistory(layers=["a"], activations=[], activation_kinds=[])
    default = _mlp()  # PyTorch's default init: gain ~0.58
    assert not gather_evidence(h, prior_loss=None, model=default).oversized_weights
    big = _mlp()
    nn.init.normal_(big[0].weight, std=1.0)  # fan-in 20: gain ~4.5
    assert gather_evidence(h, prior_loss=None, model=big).max_gain > 4
    assert gather_evidence(h, prior_loss=None, model=big).oversized_weights
    head = _mlp()
    nn.init.normal_(head[2].weight, std=3.0)  # the output layer grows with confidence
    assert not gather_evidence(h, prior_loss=None, model=head).oversized_weights


def test_weights_drawn_oversized_are_told_from_weights_the_steps_blew_up():
    """The gain at the history's first look, the run's step 0, is the initialisation's; the
    live model's cannot tell it from weights large steps blew up since. Read only where
    that look was the run's first step (a history restarted after a remedy starts later),
    from the widths the history recorded with the norms."""
    big, drawn_big = _mlp(), _mlp()
    nn.init.normal_(big[0].weight, std=1.0)  # fan-in 20: gain ~4.5, as the steps left it

    def history(model, first_step):
        h = ProbeHistory(layers=["0", "2"], activations=[], activation_kinds=[], rows=[32, 3])
        h.steps.append(first_step)
        h.weight_norm.append(
            np.array([float(w.detach().norm()) for w in (model[0].weight, model[2].weight)])
        )
        return h

    nn.init.normal_(drawn_big[0].weight, std=1.0)
    at_start = history(drawn_big, 0)
    assert gather_evidence(at_start, prior_loss=None, model=drawn_big).oversized_at_start
    grown = gather_evidence(history(_mlp(), 0), prior_loss=None, model=big)
    assert grown.oversized_weights and not grown.oversized_at_start
    later = gather_evidence(history(drawn_big, 480), prior_loss=None, model=drawn_big)
    assert later.oversized_weights and not later.oversized_at_start
    unknown = history(drawn_big, 0)
    unknown.rows = []  # the widths not recorded: no gain read
    assert not gather_evidence(unknown, prior_loss=None, model=drawn_big).oversized_at_start


@pytest.mark.parametrize("kind", ["sigmoid", "tanh"])
def test_saturation_counts_activations_pinned_on_most_examples_or_on_half(kind):
    """Pre-activations of std 8 pin about 56% of the activations, though a unit is rarely
    pinned on 75% of a batch: counted as activations, the layer is found saturated."""
    from trainwell.health._probe_stats import unit_stat

    torch.manual_seed(0)
    squash = torch.sigmoid if kind == "sigmoid" else torch.tanh
    std = 8.0 if kind == "sigmoid" else 4.0  # tanh(z) = 2 sigmoid(2z) - 1
    wide = squash(torch.randn(256, 64) * std)
    assert 0.5 < float(unit_stat(wide, kind)) < 0.7
    healthy = squash(torch.randn(256, 64))  # standardised pre-activations
    assert float(unit_stat(healthy, kind)) < 0.05


def _fed(batch_size: int, batches=None, optimizer="sgd"):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    cfg = RunConfig.model_validate(
        {"train": {"batch_size": batch_size, "optimizer": optimizer, "lr": 0.01}}
    )
    trainer = Trainer(model, make_optimizer(cfg.train, model), epochs=1)
    X, y = torch.randn(600, 8), torch.randint(0, 3, (600,))
    trainer.fit(batches if batches is not None else TensorBatches(X, y, batch_size))
    return trainer, Rebuild(cfg, None, make_optimizer, _no_schedule)


def test_few_steps_an_epoch_get_smaller_batches_and_adam_first():
    few = gather_evidence(_probed(_mlp(), torch.randn(64, 20)), prior_loss=None, steps_per_epoch=2)
    many = gather_evidence(
        _probed(_mlp(), torch.randn(64, 20)), prior_loss=None, steps_per_epoch=40
    )
    assert few.few_steps and not many.few_steps
    assert remedy_order(_finding("slow_convergence"), few)[0] == "smaller_batches_and_adam"
    assert remedy_order(_finding("slow_convergence"), many)[0] == "switch_to_adam"
    assert "smaller_batches_and_adam" not in remedy_order(_finding("underfitting"), few)


def test_smaller_batches_and_adam_take_more_steps_from_the_same_data():
    trainer, rebuild = _fed(300)
    assert trainer.steps_per_epoch == 2
    model = trainer.model
    assert smaller_batches_and_adam(trainer, rebuild) == (
        "train.batch_size: 300 -> 64 (10 steps an epoch), "
        "train.optimizer: sgd lr 0.01 -> adam lr 0.001"
    )
    assert trainer.steps_per_epoch == 10 and rebuild.config.train.batch_size == 64
    assert trainer.model is model and isinstance(trainer.optimizer, torch.optim.Adam)
    trainer, rebuild = _fed(300, optimizer="adam")  # adaptive at its default already
    optimizer = trainer.optimizer
    assert "optimizer" not in smaller_batches_and_adam(trainer, rebuild)
    assert trainer.optimizer is optimizer
    with pytest.raises(NotApplicable, match="not large"):  # the healthy twin
        smaller_batches_and_adam(*_fed(32))
    own = [(torch.randn(300, 8), torch.randint(0, 3, (300,)))] * 2  # a user's own loader
    with pytest.raises(NotApplicable, match="DataLoader"):
        smaller_batches_and_adam(*_fed(300, own))
    shared = ShardedBatches(
        TensorBatches(torch.randn(600, 8), torch.randint(0, 3, (600,)), 300), 0, 2
    )
    with pytest.raises(NotApplicable, match="ranks"):  # global batches of 300 rows, per rank 150
        smaller_batches_and_adam(*_fed(300, shared))
    trainer, rebuild = _fed(300)
    rebuild.config.train.schedule = "onecycle"
    with pytest.raises(NotApplicable, match="one-cycle"):
        smaller_batches_and_adam(trainer, rebuild)


def test_a_new_batch_size_takes_effect_at_the_next_pass():
    batches = TensorBatches(torch.arange(10.0)[:, None], torch.arange(10), 4, shuffle=False)
    seen = []
    for i, (_, y) in enumerate(batches):
        batches.batch_size = 3 if i == 0 else batches.batch_size
        seen.append(len(y))
    assert seen == [4, 4, 2] and [len(y) for _, y in batches] == [3, 3, 4]
