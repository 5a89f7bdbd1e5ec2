"""Each rule on a synthetic history that has its problem, and on healthy ones that must not."""

import math

import numpy as np
import pytest

from trainwell.health import CURVE_RULES, PROBE_RULES, ProbeHistory, Thresholds
from trainwell.health import _probe_rules as probe_rules
from trainwell.health import _rules as rules
from trainwell.health._curve_rules import _knocked_back
from trainwell.health._history import Penalty
from trainwell.health._jump_rules import _jumps

T = Thresholds()
VANISHED_SIGNAL = rules.VANISHED_SIGNAL
LAYERS = ["net.1", "net.3", "net.5"]


def _history(
    probes=4,
    grad=(0.5, 0.4, 0.3),
    dead=(0.05, 0.1),
    saturated=(np.nan, np.nan),
    loss=None,
    kinds=("relu", "relu"),
) -> ProbeHistory:
    h = ProbeHistory(
        layers=list(LAYERS),
        activations=["net.2", "net.4"],
        activation_kinds=list(kinds),
        total_epochs=10,
    )
    for i in range(probes):
        h.steps.append(i * 8)
        h.epochs.append(0)
        h.loss.append(2.3 - 0.1 * i if loss is None else loss[i])
        h.grad_norm.append(np.array(grad, dtype=float))
        h.weight_norm.append(np.ones(3))
        h.update_ratio.append(np.full(3, 1e-3))
        h.dead.append(np.array(dead, dtype=float))
        h.saturated.append(np.array(saturated, dtype=float))
    return h


def _curves(h: ProbeHistory, train, val=None) -> ProbeHistory:
    for epoch, loss in enumerate(train):
        row = {"epoch": epoch, "train_loss": loss}
        if val is not None:
            row["val_loss"] = val[epoch]
        h.curves.append(row)
    return h


HEALTHY_TRAIN = [2.0, 1.0, 0.6, 0.4, 0.3, 0.25, 0.22, 0.2, 0.19, 0.18]
HEALTHY_VAL = [1.9, 1.1, 0.7, 0.5, 0.42, 0.4, 0.39, 0.39, 0.4, 0.4]


def test_healthy_histories_trigger_nothing():
    h = _curves(_history(probes=6), HEALTHY_TRAIN, HEALTHY_VAL)
    for rule in PROBE_RULES + CURVE_RULES:
        assert rule(h, T) is None, rule.__name__
    tanh = _history(probes=6, dead=(np.nan, np.nan), saturated=(0.1, 0.2), kinds=("tanh",) * 2)
    for rule in PROBE_RULES:
        assert rule(tanh, T) is None, rule.__name__


def test_vanishing_gradient():
    h = _history(grad=(1e-7, 1e-5, 0.3))
    finding = rules.vanishing_gradient(h, T)
    assert finding.code == "vanishing_gradient" and finding.severity == "error"
    # one layer, named the same in the chip (layer) and in the message: the starved first one
    assert finding.layer == "net.1" and "layer net.1 receives" in finding.message
    assert finding.evidence["vanished_through"] == "net.3"  # how deep the starvation reaches
    assert "net.3" in finding.message
    assert finding.evidence["ratio_first_to_last"] < 1e-3
    assert finding.step == 24 and finding.epoch == 0
    assert rules.vanishing_gradient(_history(probes=1, grad=(1e-7, 1e-5, 0.3)), T) is None


def test_gradients_vanishing_behind_a_layer_a_penalty_pulled_to_zero_name_the_penalty():
    """Weight decay 0.3 shrinks the first layer to gain 0.01: its gradient vanishes, but
    "use ReLU, He init or batch norm" would not help. The rule leaves it to `penalised`,
    which names the penalty and the collapsed layer. The same gradients without such a
    penalty, under dropout alone, or with the layer at a normal size, are vanishing."""

    def history(penalty: Penalty, first_norm: float) -> ProbeHistory:
        h = _curves(_history(grad=(1e-7, 1e-5, 0.3)), [2.30, 2.29, 2.29, 2.28, 2.28])
        h.rows, h.penalty = [16, 16, 4], penalty
        for norms in h.weight_norm:
            norms[0] = first_norm  # gain = norm / sqrt(16)
        return h

    collapsed = history(Penalty(weight_decay=0.3), 0.04)
    assert probe_rules.collapsed_by_penalty(collapsed) == "net.1"
    assert rules.vanishing_gradient(collapsed, T) is None
    finding = rules.penalised(collapsed, T)
    assert (
        finding.code == "underfitting" and "pulled layer net.1's weights to zero" in finding.message
    )
    for penalty, norm in (
        (Penalty(), 0.04),
        (Penalty(dropout=0.9), 0.04),
        (Penalty(weight_decay=0.3), 4.0),
    ):
        assert probe_rules.collapsed_by_penalty(history(penalty, norm)) is None
        assert rules.vanishing_gradient(history(penalty, norm), T).code == "vanishing_gradient"
    assert "pulled" not in rules.penalised(history(Penalty(weight_decay=0.3), 4.0), T).message


@pytest.mark.parametrize(
    ("bias", "weight_norm", "cause"),
    [
        (-3.0, 8.0, "Hidden biases far below 0"),  # dead ReLUs, weights at a usual size
        (0.0, 0.5, "Tiny initial weights"),  # gain 0.5 / sqrt(16) ~ 0.13: far below any init
        (0.0, 8.0, "Units that output nothing"),  # neither measured: both named
    ],
)
def test_a_starved_network_is_told_the_cause_its_probes_measured(bias, weight_norm, cause):
    """Every layer starved at the prior's loss: biases far below 0 leave the units dead
    whatever the weights; only weights far below any initialisation are 'tiny'."""
    starved = _history(grad=(1e-6, 1e-6, 2e-6), loss=[2.3] * 4)
    starved.prior_loss, starved.rows = 2.3, [16, 16, 4]
    starved.weight_norm = [np.full(3, weight_norm)] * 4
    starved.bias_mean = [np.array([bias, bias, 0.0])] * 4
    message = rules.vanishing_gradient(starved, T).message
    assert cause in message, message
    assert ("Tiny" in message) == (cause == "Tiny initial weights"), message


@pytest.mark.parametrize(("first", "rate_named"), [(0.0, True), (-3.0, False)])
def test_biases_the_steps_drove_below_0_name_the_rate(first, rate_named):
    """Biases at 0 at the first probe and at -3 later: the steps pushed them there (a rate
    too large), which setting them to 0 once would not stop. Biases at -3 from the start are
    the initialisation's."""
    starved = _history(grad=(1e-6, 1e-6, 2e-6), loss=[2.3] * 4)
    starved.prior_loss, starved.rows = 2.3, [16, 16, 4]
    starved.weight_norm = [np.full(3, 8.0)] * 4
    starved.bias_mean = [np.array([first, first, 0.0])] + [np.array([-3.0, -3.0, 0.0])] * 3
    message = rules.vanishing_gradient(starved, T).message
    assert ("learning rate is probably too large" in message) == rate_named, message
    assert "far below 0" in message


def test_a_network_starved_alike_in_every_layer_has_vanishing_gradients():
    """Tiny initial weights shrink every layer's gradient alike (no first/last ratio to
    see): 1e-6 of the weights while the loss is the class prior's is vanishing. The same
    gradients in a network that has learned (a converged fit) are not, and nor are the
    healthy gradients of a network at its first steps."""
    starved = _history(grad=(1e-6, 1e-6, 2e-6), loss=[2.3] * 4)
    starved.prior_loss = 2.3
    finding = rules.vanishing_gradient(starved, T)
    assert finding is not None and finding.layer == "net.1"
    assert finding.evidence["grad_to_weight"] < T.starved_scale
    converged = _history(grad=(1e-6, 1e-6, 2e-6), loss=[0.05] * 4)
    converged.prior_loss = 2.3
    assert rules.vanishing_gradient(converged, T) is None
    first_steps = _history(loss=[2.3] * 4)
    first_steps.prior_loss = 2.3
    assert rules.vanishing_gradient(first_steps, T) is None
    unknown_prior = _history(grad=(1e-6, 1e-6, 2e-6), loss=[2.3] * 4)  # a hand-written loop
    assert rules.vanishing_gradient(unknown_prior, T) is None
    # five tanh layers from N(0, 0.01): the first gets 2.7e-5 of its weights, 100x less
    # than the last (no 1e-3 ratio either); networks at the prior's loss with a sane init
    # (SGD at a tiny rate, a first step) show 1e-2
    tanh = _history(grad=(2.7e-5, 2e-5, 2e-3), loss=[2.08] * 4)
    tanh.prior_loss = 2.079
    assert rules.vanishing_gradient(tanh, T).evidence["grad_to_weight"] == pytest.approx(2.7e-5)
    slow = _history(grad=(1.5e-2, 5e-2, 0.1), loss=[2.3] * 4)
    slow.prior_loss = 2.3
    assert rules.vanishing_gradient(slow, T) is None


def test_gains_that_multiply_to_silence_starve_the_network_at_a_larger_gradient():
    """Hidden gains near a sane one (0.3 and 0.25, widths 16) multiply to 5e-4 over six
    layers: at the prior's loss, a first gradient 5e-4 of the weights is starved (the tanh
    CNN of held-out-34, drawn at std 0.02, read 1e-4 to 3e-4). The same gradient through
    six layers of 0.58 (PyTorch's default, 0.04 of the signal passes) is a slow start."""

    def stack(gain):
        h = _history(grad=(5e-4, 5e-4, 5e-3), loss=[2.3] * 4)
        h.layers = [f"net.{i}" for i in range(7)]
        h.prior_loss, h.rows = 2.3, [16] * 6 + [4]
        h.weight_norm = [np.array([gain * 4.0] * 6 + [1.0])] * 4  # gain x sqrt(16 rows)
        h.grad_norm = [np.array([5e-4 * gain * 4.0] + [1e-3] * 5 + [5e-3])] * 4
        return h

    finding = rules.vanishing_gradient(stack(0.28), T)
    assert finding is not None and finding.evidence["signal_gain"] < VANISHED_SIGNAL
    assert "pass on 5e-04 of the input's scale" in finding.message, finding.message
    assert finding.evidence["threshold"] == T.shrunk_starved_scale
    assert "Tiny initial weights" in finding.message
    assert rules.vanishing_gradient(stack(0.58), T) is None


def test_an_adaptive_optimizer_s_eps_is_named_only_where_it_dwarfs_the_gradients():
    """A loss that barely falls, on gradients of 1e-3 per weight (norm 1e-3 x sqrt(size) per
    layer): an eps of 1.0 is 1000x them; 1e-6 (a BERT recipe's) is not. Without an
    adaptive optimizer (eps 0) nothing is read."""

    def stalled(eps):
        h = _history(loss=[2.3] * 4)
        h.sizes = [64, 64, 16]
        h.grad_norm = [np.array([8e-3, 8e-3, 4e-3])] * 4
        h.eps = eps
        for epoch in range(4):
            h.curves.append({"epoch": epoch, "train_loss": 2.3 - 0.001 * epoch})
        return rules.slow_convergence(h, T)

    assert stalled(1.0).evidence["optimizer_eps"] == 1.0
    assert "optimizer_eps" not in stalled(1e-6).evidence
    assert "optimizer_eps" not in stalled(0.0).evidence


@pytest.mark.parametrize(
    ("losses", "slow"),
    [
        ([0.6965, 0.6906, 0.6857, 0.6690], False),  # every epoch fell, the last the most
        ([0.6975, 0.6869, 0.6786, 0.6656], False),
        ([0.6930, 0.6925, 0.6931, 0.6890], True),  # it rose once: noise, not a take-off
        ([0.6930, 0.6880, 0.6860, 0.6850], True),  # falls that shrink: a plateau
        ([0.6930, 0.6920, 0.6910, 0.6900], True),  # steady falls: no take-off
    ],
)
def test_a_loss_leaving_its_plateau_on_healthy_steps_is_not_slow_yet(losses, slow):
    _leaving_plateau(losses, slow, step=5e-3)


@pytest.mark.parametrize(
    ("epochs", "budget", "slow"), [(4, 0, False), (7, 0, False), (8, 0, True), (8, 20, False)]
)
def test_a_young_plateau_in_a_loop_is_given_time(epochs, budget, slow):
    """A loop's transformer encoder sat at ln 2 for four epochs on steps of the usual size,
    then reached 0.97 and 0.99 accuracy (stress 26): told to check its inputs at epoch 3.
    Every layer moving, a loop's plateau is judged after 8 epochs and half its budget."""
    h = _curves(_history(), [0.6930 - 0.0005 * e for e in range(epochs)])
    h.update_ratio = [np.full(3, 5e-3)] * len(h.update_ratio)
    h.data_at_hand, h.total_epochs = False, budget
    found = rules.slow_convergence(h, T)
    assert (found is not None) == slow, found
    if slow:
        assert "Every layer moves" in found.message


def test_a_loss_leaving_its_plateau_on_steps_too_large_is_still_told_so():
    """Steps measured at 5% of the weights (usual: 0.1%): the take-off waits for no one, and
    the advice is a lower rate (review)."""
    found = _leaving_plateau([0.6965, 0.6906, 0.6857, 0.6690], True, step=5e-2)
    assert found.evidence["rate_advice"] == "lower"


def test_a_training_loss_that_speeds_up_while_validation_rises_is_not_taking_off():
    """Random labels after a higher rate: the training loss falls faster each epoch, but
    the network memorises; its validation loss rises, and the slow convergence is told."""
    _leaving_plateau([2.30, 2.29, 2.27, 2.22], True, step=5e-3, val=[2.30, 2.31, 2.33, 2.36])
    _leaving_plateau([2.30, 2.29, 2.27, 2.22], False, step=5e-3, val=[2.30, 2.29, 2.31, 2.28])


def _leaving_plateau(losses, slow, step, val=None):
    """A hand-written loop's attention classifier sits near ln 2 for four epochs, then takes
    off to 0.99 accuracy (stress 24, three seeds): its steps are of the usual size, every
    layer moves, and the loss fell in every epoch, most in the last. Falls that shrink, or
    a rise among them, leave the slow convergence to be told."""
    h = _history(loss=[2.3] * 4)
    h.update_ratio = [np.full(3, step)] * 4
    # (the data at hand: a loop's plateau this young is not judged, `test_a_young_plateau`)
    h.data_at_hand, h.floor_known = True, True
    h.curves = [{"epoch": e, "train_loss": loss} for e, loss in enumerate(losses)]
    for row, value in zip(h.curves, val or [], strict=False):
        row["val_loss"] = value
    found = rules.slow_convergence(h, T)
    assert (found is not None) == slow, found
    if slow and step < 1e-2:
        assert "Every layer moves" in found.message
    return found


def test_an_explosion_that_killed_the_units_showing_it_is_found_by_the_weights_it_blew_up():
    """Raw pixels (0..255) into a ReLU MLP, SGD at 0.01: the first probe sees a gradient 21x
    the first layer's weights; 24 steps later the weights have tripled, every unit of the
    first layer is dead and no gradient is left to sustain the explosion. A large first
    gradient that did not blow the weights up, and weights that grew on a sane gradient
    (Adam's first steps), are no explosion."""

    def probed(grads, weights):
        h = _history(probes=0)
        for i, (g, w) in enumerate(zip(grads, weights, strict=True)):
            h.steps.append(24 * i)
            h.epochs.append(0)
            h.loss.append([11.5, 2.3][i])
            h.grad_norm.append(np.array(g))
            h.weight_norm.append(np.array(w))
        return h

    blown = probed([(140.0, 62.0, 40.0), (0.0, 0.0, 0.03)], [(6.5, 4.6, 1.9), (19.0, 21.0, 15.0)])
    finding = rules.exploding_gradient(blown, T)
    assert finding is not None and finding.layer == "net.1" and "grew 2.9x" in finding.message
    assert "(train.grad_clip)" in finding.message  # the config's key; a loop clips itself
    blown.data_at_hand = False
    looped = rules.exploding_gradient(blown, T).message
    assert "clip_grad_norm_ before optimizer.step()" in looped and "train." not in looped
    held = probed([(140.0, 62.0, 40.0), (0.5, 0.4, 0.3)], [(6.5, 4.6, 1.9), (7.0, 5.0, 2.0)])
    assert rules.exploding_gradient(held, T) is None
    adam = probed([(0.5, 0.4, 0.3), (0.5, 0.4, 0.3)], [(1.0, 1.0, 1.0), (3.0, 3.0, 3.0)])
    assert rules.exploding_gradient(adam, T) is None
    clipped = probed([(140.0, 62.0, 40.0), (0.0, 0.0, 0.03)], [(6.5, 4.6, 1.9), (19.0, 21.0, 15.0)])
    clipped.grad_clip = 1.0  # the applied steps were bounded: not this explosion
    assert rules.exploding_gradient(clipped, T) is None


def test_an_l1_penalty_s_own_gradient_is_no_explosion():
    """wine, `train.l1: 1.0`: the penalty's gradient, l1 * sign(W), has norm sqrt(size)
    whatever the weights (28.8, 45.3, 9.8 for these layers), 14x the second layer's weight
    norm. Less the penalty's part, the data's gradient is small: no explosion. The same
    norms without a penalty are one."""
    grads, weights = (29.0, 45.5, 9.9), (4.8, 3.3, 1.1)
    penalised = _history(grad=grads)
    penalised.weight_norm = [np.array(weights)] * 4
    penalised.l1, penalised.sizes = 1.0, [832, 2048, 96]
    assert rules.exploding_gradient(penalised, T) is None
    penalised.l1 = 0.0
    assert rules.exploding_gradient(penalised, T) is not None


def test_an_unused_last_layer_is_no_evidence_of_an_explosion():
    """A head that gets no gradient at all (an unused branch) must not make the first
    layer's ordinary gradient look 70x larger than the last's."""
    assert rules.exploding_gradient(_history(grad=(0.5, 0.4, 0.0)), T) is None
    assert rules.exploding_gradient(_history(grad=(80.0, 1.0, 0.0)), T) is not None


def test_exploding_gradient_by_norm_ratio_and_nonfinite():
    assert rules.exploding_gradient(_history(grad=(50.0, 20.0, 10.0)), T).layer == "net.1"
    assert rules.exploding_gradient(_history(grad=(80.0, 10.0, 1.0)), T) is not None  # ratio
    nonfinite = rules.exploding_gradient(_history(probes=1, grad=(np.inf, 1.0, 1.0)), T)
    assert nonfinite is not None and nonfinite.layer == "net.1"
    # a non-finite loss is divergence, not an exploding gradient
    assert (
        rules.exploding_gradient(_history(probes=1, grad=(np.nan,) * 3, loss=[np.nan]), T) is None
    )
    assert rules.exploding_gradient(_history(grad=(5.0, 1.0, 0.5)), T) is None


def test_a_lopsided_gradient_explodes_below_the_scale_threshold():
    # every layer under 10x its weight norm, the first 90x the last: the ratio criterion alone
    lopsided = rules.exploding_gradient(_history(grad=(9.0, 0.1, 0.1)), T)
    assert lopsided.layer == "net.1"
    assert "90 times that of layer net.5" in lopsided.message  # not "9 times its weight norm"
    assert rules.exploding_gradient(_history(grad=(9.0, 0.2, 0.2)), T) is None  # 45x: calm
    clipped = _history(grad=(9.0, 0.1, 0.1))
    clipped.grad_clip = 1.0  # clipping scales every layer alike: the ratio is no evidence
    assert rules.exploding_gradient(clipped, T) is None


def test_an_extreme_gradient_is_exploding_at_the_first_probe():
    """One probe is enough when one step would multiply the weights (the run blows up before
    a second probe); a merely large gradient still needs a second probe to confirm it."""
    extreme = rules.exploding_gradient(_history(probes=1, grad=(300.0, 20.0, 1.0)), T)
    assert extreme is not None and extreme.layer == "net.1" and extreme.step == 0
    assert rules.exploding_gradient(_history(probes=1, grad=(50.0, 20.0, 10.0)), T) is None


def test_a_start_blown_up_by_the_initialisation_explodes_at_the_first_probe():
    """Weights drawn too large: on standardised inputs the first loss is already 9x the class
    prior's and the output layer's gradient 12.5x its weights. The first steps throw the
    weights off and the next probe looks calm, so the first one must speak. The same
    gradient at a sane first loss, on raw inputs (their scale is named elsewhere), under
    clipping, or with a calm gradient, is no explosion."""

    def start(loss=16.9, grad=(0.5, 0.4, 12.5), rms=1.0, clip=None):
        h = _history(probes=1, grad=grad, loss=[loss])
        h.prior_loss, h.input_rms, h.grad_clip = 1.79, [rms], clip
        return h

    blown = rules.exploding_gradient(start(), T)
    assert blown is not None and blown.layer == "net.5" and blown.step == 0
    assert "first step" in blown.message and "9 times" in blown.message
    assert rules.exploding_gradient(start(loss=1.9), T) is None
    assert rules.exploding_gradient(start(rms=120.0), T) is None
    assert rules.exploding_gradient(start(clip=1.0), T) is None
    assert rules.exploding_gradient(start(grad=(0.5, 0.4, 3.0)), T) is None
    no_prior = start()
    no_prior.prior_loss = None  # a regression: no class prior to judge the loss against
    assert rules.exploding_gradient(no_prior, T) is None


def test_dying_relu():
    finding = rules.dying_relu(_history(dead=(0.2, 0.95)), T)
    assert finding.layer == "net.4" and finding.severity == "error"
    assert rules.dying_relu(_history(dead=(0.75, 0.1)), T).severity == "warning"
    # half a layer off is what healthy CNNs' dense layers often show: capacity to spare
    assert rules.dying_relu(_history(dead=(0.55, 0.3)), T) is None
    assert "use LeakyReLU" in finding.message and "no longer learn" in finding.message


def test_units_alive_at_the_start_and_dead_now_were_killed_by_the_steps():
    """A layer alive at the probes' first read and dead since: the textbook dying ReLU of a
    rate too high, told to lower it, not to change the activation. A layer dead from the
    first probe (a negative bias at init) keeps the advice of its causes."""
    from trainwell.health._loop_advice import recommend

    killed = _history(dead=(0.1, 0.9))
    killed.dead[0] = np.array([0.02, 0.0])  # at step 0: alive
    found = rules.dying_relu(killed, T)
    assert found.evidence["killed_in_training"] and found.evidence["dead_at_start"] == 0.0
    assert "alive at step 0 (0% dead): the steps knocked them off" in found.message
    assert "use LeakyReLU" not in found.message and "Lower the learning rate." in found.message
    recommend(found)
    assert found.evidence["recommended"] == "a lower learning rate, or LeakyReLU"
    dead_from_init = rules.dying_relu(_history(dead=(0.1, 0.9)), T)
    assert not dead_from_init.evidence["killed_in_training"]
    assert "use LeakyReLU" in dead_from_init.message
    half_dead = _history(dead=(0.1, 0.9))
    half_dead.dead[0] = np.array([0.1, 0.4])  # over half the threshold at the start already
    assert not rules.dying_relu(half_dead, T).evidence["killed_in_training"]
    # the first probe did not read that layer: the first one that did is the start
    unread = _history(dead=(0.1, 0.9))
    unread.dead[0] = np.array([0.02, np.nan])
    unread.dead[1] = np.array([0.02, 0.1])
    found = rules.dying_relu(unread, T)
    assert found.evidence["killed_in_training"] and "alive at step 8 (10% dead)" in found.message
    never_read = _history(dead=(0.1, 0.9))
    for row in never_read.dead[:-2]:
        row[1] = np.nan
    assert rules.dying_relu(never_read, T).evidence["dead_at_start"] == 0.9


def test_units_dying_is_a_layer_alive_at_the_start_losing_half_the_threshold_since():
    """Alive at the first probe and 50% dead now: dying, before `dying_relu` (70%) speaks.
    Not dying: 20% dead now; 50% dead from the first probe (the init's, not the steps');
    a tanh network (no dead units read)."""
    dying = _history(dead=(0.1, 0.5))
    dying.dead[0] = np.array([0.0, 0.0])
    assert rules.units_dying(dying, T) and rules.dying_relu(dying, T) is None
    healthy = _history(dead=(0.1, 0.2))
    healthy.dead[0] = np.array([0.0, 0.0])
    assert not rules.units_dying(healthy, T)
    assert not rules.units_dying(_history(dead=(0.1, 0.5)), T)  # 50% from the first probe
    tanh = _history(dead=(0.1, 0.5))
    tanh.dead = []
    assert not rules.units_dying(tanh, T)


def test_unused_parameters_with_an_exactly_zero_gradient_keep_their_own_advice():
    """unused_parameters lists its exactly-zero parameters under `zero_gradient`, the key a
    vanishing gradient of exactly 0 carries: only the latter is told to check the path."""
    from trainwell.findings import Finding
    from trainwell.health._loop_advice import recommend
    from trainwell.health._silent import LOOP_FIX

    unused = Finding("unused_parameters", "warning", "training", "", evidence={})
    unused.evidence["zero_gradient"] = ["first.weight"]
    recommend(unused)
    assert unused.evidence["recommended"] == LOOP_FIX["unused_parameters"]
    zero = Finding("vanishing_gradient", "error", "training", "", evidence={"zero_gradient": True})
    recommend(zero)
    assert zero.evidence["recommended"].startswith("the path from that layer")


def test_dead_leaky_units_are_not_told_to_become_leaky():
    from trainwell.health._loop_advice import recommend

    finding = rules.dying_relu(_history(dead=(0.2, 0.95), kinds=("relu", "leaky_relu")), T)
    assert finding.layer == "net.4" and "LeakyReLU's small slope" in finding.message
    assert "use He initialisation" in finding.message and "use LeakyReLU" not in finding.message
    recommend(finding)  # the hand-written loop's advice, too
    assert "LeakyReLU" not in finding.evidence["recommended"]
    relu = rules.dying_relu(_history(dead=(0.95, 0.2)), T)
    recommend(relu)
    assert relu.evidence["kind"] == "relu" and "LeakyReLU" in relu.evidence["recommended"]


def test_saturated_activation():
    h = _history(dead=(np.nan, np.nan), saturated=(0.97, 0.2), kinds=("sigmoid",) * 2)
    finding = rules.saturated_activation(h, T)
    assert finding.layer == "net.2" and "sigmoid" in finding.message
    assert rules.saturated_activation(_history(saturated=(0.3, 0.4)), T) is None


def test_units_saturated_before_the_steps_are_not_blamed_on_them():
    """A tanh CNN whose biases of 4 pinned every unit at +1 from step 0, under Adam at 2e-3:
    its first steps, as large as the rate whatever the gradient, measured 7% of the
    weights, and it was told to lower the rate, which repair did first and lost two thirds
    of its budget to (held-out-42 saturated_activation-3, 0.69 against a twin's 0.80-0.88).
    Saturated at the first probe, before any step: the advice is the initialisation's, and
    no lower rate comes first."""
    from trainwell.health._evidence import Evidence
    from trainwell.health._remedy_order import remedy_order

    h = _history(dead=(np.nan, np.nan), saturated=(0.95, 0.2), kinds=("tanh",) * 2)
    for row in h.update_ratio:
        row[:] = 0.07
    pinned = rules.saturated_activation(h, T)
    assert pinned.evidence["saturated_from_start"] is True
    assert "Lower the learning rate" not in pinned.message
    assert "before the steps" in pinned.message and "initialisation" in pinned.message
    measured = Evidence(large_steps=True, stalled=True)
    assert remedy_order(pinned, measured)[0] == "relu_activation"
    assert "raise_lr" not in remedy_order(pinned, measured)  # the steps are large all the same
    h.saturated[0] = np.array([0.1, 0.2])  # unsaturated at the first probe
    pushed = rules.saturated_activation(h, T)
    assert "Lower the learning rate" in pushed.message
    assert remedy_order(pushed, measured)[0] == "lower_lr"


def test_saturated_activation_under_large_steps_advises_a_lower_rate():
    """Units a too-high learning rate pushed to the asymptotes (a tanh MLP under SGD at
    1.5) were told to standardise the inputs or switch to ReLU, while repair lowered the
    rate: the advice names the measured steps. Saturated by the initialisation, with
    ordinary steps, the advice stays the network's."""
    h = _history(dead=(np.nan, np.nan), saturated=(0.9, 0.2), kinds=("tanh",) * 2)
    h.saturated[0] = np.array([0.1, 0.2])  # unsaturated at the first probe: the steps did it
    calm = rules.saturated_activation(h, T)
    assert "learning rate" not in calm.message and "ReLU" in calm.message
    for row in h.update_ratio:
        row[:] = 0.2
    large = rules.saturated_activation(h, T)
    assert "Lower the learning rate" in large.message and "20.0%" in large.message
    assert "ReLU" not in large.message and large.evidence["step_size"] == 0.2
    assert large.evidence["saturated_from_start"] is False
    from trainwell.health._loop_advice import recommend

    recommend(large)  # a hand-written loop's recommended change says the same (review)
    recommend(calm)
    assert large.evidence["recommended"] == "a lower learning rate"
    assert "ReLU" in calm.evidence["recommended"]


def test_divergence_nonfinite_and_runaway():
    nan = rules.divergence(_history(probes=2, loss=[2.3, np.nan]), T)
    assert nan is not None and "non-finite" in nan.message and nan.step == 8
    runaway = rules.divergence(_history(loss=[2.0, 30.0, 300.0, 3e4]), T)
    assert runaway is not None and "ran away" in runaway.message
    assert rules.divergence(_history(loss=[2.0, 30.0, 3.0, 3e4]), T) is None  # not sustained
    swinging = _curves(_history(loss=[2.0, 30.0, 3.0, 3e4]), [2.0, 45.0])
    assert "ran away to 45" in rules.divergence(swinging, T).message  # the epoch mean did


@pytest.mark.parametrize(
    ("growth", "loss", "found"),
    [
        ([1, 30, 60, 80], [2.3, 2.5, 2.4, 2.6], True),  # flew off, the loss stuck above start
        ([1, 30, 60, 80], [2.3, 1.5, 0.9, 0.6], False),  # grew as the loss fell: learning
        ([1, 2, 3, 4], [2.3, 2.5, 2.4, 2.6], False),  # stuck, but the weights barely moved
        ([1, 30, 2, 80], [2.3, 2.5, 2.4, 2.6], False),  # one probe: not sustained
    ],
)
def test_runaway_weights_are_divergence_the_loss_does_not_show(growth, loss, found):
    h = _history(loss=loss)
    h.rows = [16, 16, 4]  # weight norm 1: gain 0.25; 20x that, 5: oversized
    h.weight_norm = [np.array([1.0, g, 1.0]) for g in growth]
    finding = rules.runaway_weights(h, T)
    assert (finding is not None) == found
    h.rows = [16, 1600, 4]  # tiny weights grown tenfold to a normal size have not flown off
    assert rules.runaway_weights(h, T) is None
    if found:
        assert finding.code == "divergence" and finding.layer == LAYERS[1]
        assert finding.evidence["weight_growth"] == pytest.approx(60)  # the least of the last 2
        assert rules.runaway_weights in PROBE_RULES


def test_a_score_that_rose_and_held_speaks_for_a_loop_without_a_val_loss():
    """A loop's own loss that swings (a policy gradient's surrogate), beside a score it
    reports (its return as val_accuracy) that rose and held: no oscillation. The same loss
    beside a score that swings too, or beside a val loss, is judged as before."""
    zigzag = [2.0, 1.2, 1.6, 1.0, 1.5, 0.9, 1.4, 0.9, 1.3, 0.9]

    def scored(score, val=None):
        h = _curves(_history(), zigzag, val)
        h.floor_known = False  # a loop's own loss
        for row, value in zip(h.curves, score, strict=True):
            row["val_accuracy"] = value
        return rules.oscillating_loss(h, T)

    rising = [0.2, 0.5, 0.7, 0.76, 0.77, 0.77, 0.78, 0.77, 0.78, 0.78]
    assert scored(rising) is None
    swinging = [0.2, 0.5, 0.7, 0.4, 0.75, 0.45, 0.78, 0.5, 0.76, 0.5]
    assert scored(swinging) is not None
    assert scored([0.5] * 10) is not None  # a score that never rose says nothing
    assert scored([0.098] + [0.1] * 9) is not None  # ... nor one barely above where it began
    assert scored([0.10 + 0.001 * e for e in range(10)]) is not None  # ... drifting up by 10%
    held = [0.3, 0.8, 0.85, 0.83, 0.87, 0.84, 0.86, 0.83, 0.87, 0.84]  # falls 7% of its rise
    assert scored(held) is None
    noisy = [0.3, 0.8, 0.85, 0.79, 0.87, 0.8, 0.86, 0.79, 0.87, 0.8]  # ... 14%: not held
    assert scored(noisy) is not None
    swinging_val = [1.9, 1.2, 1.7, 1.1, 1.6, 1.0, 1.5, 1.0, 1.4, 1.0]
    assert scored(rising, val=swinging_val) is not None  # the val loss speaks first
    labels = _curves(_history(), zigzag)
    for row, value in zip(labels.curves, rising, strict=True):
        row["val_accuracy"] = value
    labels.floor_known = True  # a cross entropy on labels speaks for itself
    assert rules.oscillating_loss(labels, T) is not None


def test_oscillating_loss():
    zigzag = [2.0, 1.2, 1.6, 1.0, 1.5, 0.9, 1.4, 0.9, 1.3, 0.9]
    finding = rules.oscillating_loss(_curves(_history(), zigzag), T)
    assert finding is not None and finding.step is None and finding.epoch == 9
    assert rules.oscillating_loss(_curves(_history(), zigzag[:3]), T) is None  # too early
    one_epoch = Thresholds(min_epochs=1, judge_after=0)  # judged at once: no rise to count yet
    assert rules.oscillating_loss(_curves(_history(), zigzag[:1]), one_epoch) is None
    assert rules.oscillating_loss(_curves(_history(), [1.0, 1.5, 1.0, 1.6]), one_epoch)
    # a lone rise, even in a third of the epochs (a loop's noisy mixup loss), is no oscillation
    lone = [1.551, 1.096, 0.888, 0.992]
    assert rules.oscillating_loss(_curves(_history(), lone), one_epoch) is None


def test_a_loss_below_zero_is_judged_by_the_span_it_fell_not_by_where_it_stood():
    """A mixture density network's NLL, Adam at 3e-3 (stress 19): 0.233 -> -0.4 in 9
    epochs, with rises of 0.03-0.06 after it crossed 0, each over 5% of a loss near 0: read
    as an oscillation, and the lower rate repair gave it cost 0.06 of the test
    log-likelihood. Its scale is the span it fell (0.63), not |0.233|. A curve swinging by
    its span does oscillate."""
    mdn = [0.233, -0.127, -0.21, -0.247, -0.308, -0.279, -0.364, -0.358, -0.4, -0.372]
    mdn += [-0.314]
    assert rules.oscillating_loss(_curves(_history(), mdn), T) is None
    swings = [0.233, -0.4, 0.1, -0.5, 0.0, -0.55, -0.05, -0.6, -0.1, -0.6, -0.15]
    assert rules.oscillating_loss(_curves(_history(), swings), T) is not None


def test_a_train_loss_that_swings_while_the_val_loss_stays_steady_does_not_oscillate():
    """Mixup on digits (SGD 0.05, momentum 0.9): the epoch's train loss rises in 9 of 19
    epochs with the random blend, while the val loss falls, never 3% of its scale above its
    lowest. At SGD 0.3 without mixup the val loss swings with it (0.33 -> 0.75)."""
    mixup = [1.898, 1.051, 0.779, 0.759, 0.788, 0.721, 0.784, 0.681, 0.630, 0.594]
    mixup += [0.689, 0.551, 0.591, 0.603, 0.656, 0.692, 0.741, 0.560, 0.701, 0.714]
    val = [0.932, 0.521, 0.418, 0.375, 0.364, 0.362, 0.348, 0.346, 0.312, 0.297]
    val += [0.302, 0.282, 0.287, 0.279, 0.295, 0.290, 0.306, 0.288, 0.291, 0.269]
    assert rules.oscillating_loss(_curves(_history(), mixup), T) is not None  # train alone
    assert rules.oscillating_loss(_curves(_history(), mixup, val), T) is None
    swinging = [0.670, 0.490, 0.341, 0.398, 0.466, 0.453, 0.428, 0.479, 0.332, 0.508]
    swinging += [0.414, 0.490, 0.459, 0.502, 0.396, 0.371, 0.391, 0.443, 0.523, 0.412]
    assert rules.oscillating_loss(_curves(_history(), mixup, swinging), T) is not None


@pytest.mark.parametrize("restarts", [True, False])
def test_a_loss_lifted_by_warm_restarts_of_the_rate_does_not_oscillate(restarts):
    """SGDR (a cosine cycle of 2 epochs, restarted): the loss steps up at each restart by
    design and falls through each cycle. The same curve at a rate no schedule raised is
    the steps overshooting."""
    loss = [1.2, 0.8, 0.9, 0.7, 0.8, 0.6, 0.7, 0.55, 0.62, 0.5, 0.56, 0.45]
    rates = [0.05, 0.1] * 6 if restarts else [0.1] * 12
    h = _curves(_history(), loss)
    for row, lr in zip(h.curves, rates, strict=True):
        row["lr"] = lr
    found = rules.oscillating_loss(h, T)
    assert (found is None) == restarts, found


# an SGDR restart to 0.02 that knocked a 4-class CNN without batch norm to chance for six
# epochs (a hand-written loop; its val accuracy 0.98 -> 0.24), and the same run with batch
# norm, whose restarts lift the loss a little
KNOCKED_TRAIN = [1.386, 1.376, 1.366, 1.261, 0.599, 0.265, 2.088, 1.383, 1.380, 1.374]
KNOCKED_VAL = [1.383, 1.371, 1.366, 1.014, 0.320, 0.245, 1.389, 1.383, 1.382, 1.365]
BUMPED_TRAIN = [1.2, 0.6, 0.35, 0.2, 0.15, 0.12, 0.3, 0.14, 0.1, 0.08]
BUMPED_VAL = [1.1, 0.5, 0.3, 0.2, 0.16, 0.14, 0.35, 0.15, 0.12, 0.1]


@pytest.mark.parametrize("knocked", [True, False])
def test_a_loss_knocked_back_to_knowing_nothing_oscillates_whatever_the_schedule(knocked):
    """A step that throws a network off all it learned is a spike however the run recovers,
    and however a schedule raised the rate into it; a restart that lifts the loss a little
    is its design."""
    train, val = (KNOCKED_TRAIN, KNOCKED_VAL) if knocked else (BUMPED_TRAIN, BUMPED_VAL)
    h = _curves(_history(), train, val)
    h.chance_loss = math.log(4)
    for row, lr in zip(h.curves, [0.02, 0.005, 0.02] * 3 + [0.015], strict=True):
        row["lr"] = lr
    found = rules.oscillating_loss(h, T)
    assert (found is not None) == knocked, found
    if knocked:
        assert found.evidence["knocked_epoch"] == 6
        assert "knocked back" in found.message and "restart's peak" in found.message
        h.chance_loss = None  # what a network that learned nothing scores, unknown
        assert rules.oscillating_loss(h, T) is None


def test_a_val_loss_climbing_alone_past_knowing_nothing_is_not_knocked_back():
    """An overfitting network's val loss can climb past the class prior's while its train
    loss goes on falling: it memorises, no step threw it off."""
    train = [1.0, 0.5, 0.3, 0.15, 0.08, 0.04, 0.02, 0.01, 0.005, 0.003]
    val = [1.0, 0.6, 0.5, 0.6, 0.7, 0.9, 1.4, 1.7, 2.0, 2.3]
    h = _curves(_history(), train, val)
    h.chance_loss = math.log(4)
    assert _knocked_back(h, T) is None
    h.curves[3] |= {"train_loss": 1.4, "val_loss": 1.4}  # thrown off together: knocked back
    assert _knocked_back(h, T) == 3


def test_a_loss_that_wanders_more_than_it_falls_oscillates():
    """tanh, SGD with momentum at too high a rate (digits): the epoch loss wanders 3.8 ->
    4.6 -> 2.6 -> 3.0 ..., above the class prior's 2.3 most of the way; 7 of its 29 epochs
    rise by 5%, but it travelled 7.6 times its net fall. A healthy loss travels ~1x."""
    wandering = [3.815, 4.071, 3.884, 4.572, 4.270, 3.834, 3.768, 3.950, 3.864, 3.598, 3.281]
    wandering += [3.389, 3.484, 2.617, 3.045, 2.935, 3.067, 2.902, 2.957, 2.893, 2.752, 2.664]
    wandering += [2.141, 2.757, 2.415, 2.083, 1.995, 2.577, 2.946, 2.748]
    h = _curves(_history(), wandering)
    h.prior_loss = 2.303
    finding = rules.oscillating_loss(h, T)
    assert finding is not None and finding.evidence["travelled"] > 7 * finding.evidence["net_fall"]
    # it is stuck high too (no better in its last 4 epochs, at 72% of its first loss); with
    # the bar for "high" above that, the path decides alone
    assert rules.oscillating_loss(h, Thresholds(oscillation_path=math.inf, underfit_loss=1)) is None
    healthy = _curves(_history(), HEALTHY_TRAIN)
    healthy.prior_loss = 2.303
    assert rules.oscillating_loss(healthy, T) is None
    flat = _curves(_history(), [2.081, 2.080, 2.082, 2.081, 2.082, 2.081, 2.080, 2.081])
    flat.prior_loss = 2.079  # travels 8x its fall, but 0.4% of its scale: stuck, not swinging
    assert rules.oscillating_loss(flat, T) is None
    # 85% dropout on wine: a noisy, slow fall (it travels 7x its fall, and even climbs 7%
    # above its first epoch), but never climbs back more than 14% of its scale above its lowest
    noisy = [1.172, 1.202, 1.250, 1.113, 1.018, 1.091, 1.168, 1.108, 1.070, 1.094, 1.069]
    noisy += [1.093, 1.135, 0.998, 1.055, 1.069, 1.055, 1.008, 1.058, 1.010, 1.029, 0.987]
    noisy += [1.052, 1.059, 1.027, 0.955, 0.979, 1.093, 0.977, 0.967]
    h = _curves(_history(), noisy)
    h.prior_loss, h.penalty = 1.09, Penalty(dropout=0.85)
    assert rules.oscillating_loss(h, T) is None
    # a deep ReLU net at SGD 0.05: one spike (0.54 -> 1.15 -> 1.56) in a loss that falls
    spike = [1.606, 1.444, 1.222, 1.121, 0.894, 0.872, 0.680, 0.600, 0.536, 1.150, 1.561]
    h = _curves(_history(), spike)
    h.prior_loss = 1.609
    assert rules.oscillating_loss(h, T) is None
    twice = [*spike[:6], 1.3, 0.680, 0.600, 0.536, 1.150]  # the same loss, swinging twice
    h = _curves(_history(), twice)
    h.prior_loss = 1.609
    assert rules.oscillating_loss(h, T) is not None


def test_a_loss_stuck_high_that_bounces_oscillates():
    """A CNN at SGD 0.02 on batches of 8: after two epochs the loss stops improving at 70-80%
    of where it started and jumps up by 12-14% in two of its last epochs: the steps are too
    large to settle. The same level reached by a flat plateau is underfitting's, a loss
    still falling through its bounces is learning, and one near its start's 30% is fitted."""
    bouncing = [1.658, 1.317, 1.231, 1.219, 1.252, 1.178, 1.345]
    h = _curves(_history(), bouncing)
    h.prior_loss, h.total_epochs = 1.79, 10
    finding = rules.oscillating_loss(h, T)
    assert finding is not None and finding.evidence["stuck"] is True
    assert "not improved for 4 epochs" in finding.message
    flat = [1.658, 1.317, 1.231, 1.219, 1.215, 1.21, 1.208]
    falling = [1.658, 1.317, 1.231, 1.1, 1.14, 0.98, 1.03]
    for train in (flat, falling, [0.3 * v for v in bouncing]):
        calm = _curves(_history(), [bouncing[0], *train[1:]])
        calm.prior_loss, calm.total_epochs = 1.79, 10
        assert rules.oscillating_loss(calm, T) is None
    # the noise of a few batches an epoch (442 rows, plain SGD): the val loss falls in every
    # epoch, the steps do settle
    settling = _curves(_history(), bouncing, [1.6 * 0.985**i for i in range(len(bouncing))])
    settling.prior_loss, settling.total_epochs = 1.79, 10
    assert rules.oscillating_loss(settling, T) is None
    unsettled = _curves(_history(), bouncing, [1.46, 1.51, 1.41, 1.13, 1.41, 1.32, 1.40])
    unsettled.prior_loss, unsettled.total_epochs = 1.79, 10
    assert rules.oscillating_loss(unsettled, T) is not None
    assert rules.underfitting(_curves(_history(), flat), T) is not None


@pytest.mark.parametrize("floor_known", [True, False])
def test_a_loss_of_unknown_floor_stuck_with_a_bounce_does_not_oscillate(floor_known):
    """The same bouncing curve from a loss whose floor is not known to be 0 (a hand-written
    loop's own: a 2-D flow's negative log-likelihood, a focal loss) says nothing of steps
    too large: such a loss stops where its data puts it, at any share of its start (a
    healthy flow's rate was cut at 74%, stress 27), unless the steps are measured too large
    to settle. A cross entropy's is known: told."""
    bouncing = [1.658, 1.317, 1.231, 1.219, 1.252, 1.178, 1.345]
    h = _curves(_history(), bouncing)
    h.prior_loss, h.total_epochs, h.floor_known = 1.79, 10, floor_known
    assert (rules.oscillating_loss(h, T) is not None) == floor_known
    h.update_ratio = [np.full(3, 0.1) for _ in h.update_ratio]  # steps measured too large
    assert rules.oscillating_loss(h, T) is not None


@pytest.mark.parametrize(("step", "found"), [(1e-3, False), (0.1, True)])
def test_a_loss_stuck_at_what_its_data_allows_does_not_oscillate(step, found):
    """Diabetes in a loop under Adam at 1e-3, batches of 32 (R^2 0.63 on 3 seeds): the train
    loss bounces by its few batches at 46% of its start while the val loss sits steady:
    "the steps are too large to settle" though they moved the weights 0.1% a step. Steps
    measured at a tenth of the weights do keep it from settling."""
    train = [0.875, 0.632, 0.559, 0.507, 0.505, 0.598, 0.484, 0.541, 0.455, 0.435, 0.487]
    train += [0.414, 0.441, 0.404]
    val = [0.763, 0.592, 0.523, 0.478, 0.458, 0.451, 0.446, 0.435, 0.431, 0.43, 0.424]
    val += [0.417, 0.422, 0.419]
    h = _curves(_history(), train, val)
    h.total_epochs, h.data_at_hand, h.floor_known = 30, False, False
    h.update_ratio = [np.full(3, step) for _ in h.update_ratio]
    assert (rules.oscillating_loss(h, T) is not None) == found


def test_oscillation_ignores_the_small_swings_of_a_near_perfect_fit():
    """A healthy iris run (SGD, 6 batches an epoch): the loss falls 1.02 -> 0.08, and 8 of
    its late epochs rise by 5% or more — by 0.01-0.05, noise of a few batches."""
    iris = [1.015, 0.720, 0.452, 0.322, 0.264, 0.216, 0.193, 0.133, 0.169, 0.146, 0.106]
    iris += [0.119, 0.105, 0.095, 0.141, 0.115, 0.076, 0.124, 0.095, 0.075, 0.085, 0.096]
    iris += [0.060, 0.081]
    assert rules.oscillating_loss(_curves(_history(), iris), T) is None
    no_floor = Thresholds(oscillation_floor=0.0)  # the relative rises alone would call it
    assert rules.oscillating_loss(_curves(_history(), iris), no_floor) is not None
    swings = [1.015] + [0.6 + (0.15 if i % 2 else 0.0) for i in range(23)]  # the same, larger
    assert rules.oscillating_loss(_curves(_history(), swings), T) is not None
    spiked = [40.0] + [0.8 + (0.4 if i % 2 else 0.0) for i in range(23)]  # a huge first epoch
    h = _curves(_history(), spiked)
    assert rules.oscillating_loss(h, T) is None  # its loss alone sets the scale: hidden
    h.prior_loss = 1.1  # the class prior's loss is the scale when lower: +-50% swings seen
    assert rules.oscillating_loss(h, T) is not None


# a healthy breast_cancer MLP (SGD 0.05 with Nesterov momentum, batch norm, dropout 0.3,
# batches of 32: 14 an epoch), its epoch-mean train loss rising in 6 of 19 epochs
CALM_TRAIN = [0.398, 0.145, 0.143, 0.076, 0.109, 0.161, 0.163, 0.121, 0.118, 0.12, 0.084]
CALM_TRAIN += [0.083, 0.102, 0.108, 0.084, 0.097, 0.078, 0.1, 0.055, 0.069]
CALM_VAL = [0.173, 0.064, 0.062, 0.063, 0.082, 0.059, 0.089, 0.063, 0.057, 0.07, 0.072]
CALM_VAL += [0.058, 0.054, 0.053, 0.051, 0.06, 0.057, 0.052, 0.059, 0.056]
CALM_ACCURACY = [0.965, 0.982, 0.974, 0.974, 0.974, 0.974, 0.965, 0.974, 0.974, 0.965, 0.965]
CALM_ACCURACY += [0.982, 0.974, 0.982, 0.982, 0.982, 0.982, 0.982, 0.982, 0.982]


@pytest.mark.parametrize(
    ("val", "accuracy", "found"),
    [
        (CALM_VAL, CALM_ACCURACY, False),  # the val loss rose half as much: batch noise
        (CALM_VAL, None, False),  # no accuracy: the val loss alone says it
        ([1.2 * v for v in CALM_TRAIN], CALM_ACCURACY, True),  # the val loss swings as far
        (CALM_VAL, [*CALM_ACCURACY[:6], 0.9, *CALM_ACCURACY[7:]], True),  # accuracy dipped
    ],
)
def test_a_train_loss_that_rises_further_than_the_val_loss_does_not_oscillate(val, accuracy, found):
    """A train loss is a mean over an epoch's steps, the val loss one reading at its end:
    weights that swing move the val loss at least as far. Where the train loss rose further
    alone, with the val accuracy kept, its rises are which batches each epoch drew and what
    dropout dropped (a 10x lower rate scored no better on that run). A val loss that swings
    as far, or a val accuracy that dips, is the weights swinging."""
    h = _curves(_history(), CALM_TRAIN, val)
    h.prior_loss = 0.66
    if accuracy is not None:
        for row, value in zip(h.curves, accuracy, strict=True):
            row["val_accuracy"] = value
    assert (rules.oscillating_loss(h, T) is not None) == found
    h.curves = [{k: v for k, v in row.items() if k != "val_loss"} for row in h.curves]
    assert rules.oscillating_loss(h, T) is not None  # the train loss alone: told


def test_slow_convergence():
    flat = [2.30, 2.29, 2.29, 2.28, 2.28]
    assert rules.slow_convergence(_curves(_history(), flat), T) is not None
    assert rules.slow_convergence(_curves(_history(), HEALTHY_TRAIN[:5]), T) is None


@pytest.mark.parametrize(
    ("losses", "total", "found"),
    [
        ([2.301, 2.294, 2.286], 3, True),  # ended at chance: too short for the rule, judged
        ([2.301, 1.2, 0.6], 3, False),  # a short run that learned
        ([2.301, 2.294, 2.286], 10, False),  # not ended: the rule waits for its epochs
        ([2.301], 1, False),  # one epoch says nothing of a trend
    ],
)
def test_a_run_too_short_to_judge_that_ends_at_chance_is_slow(losses, total, found):
    """Digits under SGD 0.002 for 3 epochs ended at 21% accuracy with no finding: the curve
    rules need 4 epochs, so a run that learned nothing passed as healthy. (Steps of the
    usual size: on tiny ones a run not ended is told early, the test below.)"""
    h = _curves(_history(), losses)
    h.prior_loss, h.total_epochs = 2.302, total
    assert (rules.slow_convergence(h, T) is not None) == found


@pytest.mark.parametrize(
    ("losses", "step", "found"),
    [
        ([1.885, 1.879], 5.6e-5, True),  # at the prior's loss on tiny steps: told now
        ([1.885, 1.879], 1e-3, False),  # on steps of the usual size: judged at min_epochs
        ([1.885, 1.2], 5.6e-5, False),  # tiny steps, but it learns
        ([1.885], 5.6e-5, False),  # one epoch says nothing of a trend
    ],
)
def test_a_network_at_the_prior_s_loss_on_tiny_steps_is_slow_after_two_epochs(losses, step, found):
    """A batch-norm CNN under SGD at 2e-5 (steps of 5.6e-5 of its weights): 1.885, 1.879
    against a prior's 1.79. Told at epoch 3, it was switched to Adam with 8 of its 12
    epochs left and scored 0.81 against a healthy 0.93; told after 2, 0.86."""
    h = _curves(_history(), losses)
    h.prior_loss, h.total_epochs = 1.792, 12
    h.update_ratio = [np.full(3, step) for _ in h.update_ratio]
    finding = rules.slow_convergence(h, T)
    assert (finding is not None) == found
    if found:
        assert "Raise the learning rate" in finding.message


@pytest.mark.parametrize(("clip", "named"), [(1e-3, True), (1.0, False), (None, False)])
def test_a_clip_that_throttles_every_step_is_named_as_the_cause(clip, named):
    """grad_clip 1e-3 on gradients of norm 0.57 under SGD at 0.05: every step 574x too
    small, and slow_convergence said "raise the learning rate"; the repair switched to Adam
    and left the clip in the repaired config. A clip that only cuts spikes is no cause."""
    h = _curves(_history(), [2.30, 2.29, 2.29, 2.28, 2.28])
    h.update_ratio = [np.full(3, 1e-5) for _ in h.update_ratio]
    h.grad_clip = clip
    message = rules.slow_convergence(h, T).message
    assert ("Gradient clipping at 0.001 scales every step down 707x" in message) == named
    assert ("Raise the learning rate" in message) != named, message


@pytest.mark.parametrize("adaptive", [True, False])
def test_slow_convergence_tells_an_adaptive_optimizer_only_to_raise_its_rate(adaptive):
    """Under Adam already, 'use an adaptive optimizer (Adam)' is no advice; under SGD it is."""
    h = _curves(_history(), [2.30, 2.29, 2.29, 2.28, 2.28])
    h.update_ratio = [np.full(3, 1e-5) for _ in h.update_ratio]
    h.scale_free = adaptive
    message = rules.slow_convergence(h, T).message
    assert "Raise the learning rate" in message
    assert ("Adam" in message) != adaptive, message


@pytest.mark.parametrize(("dead", "rate_advised"), [(0.92, False), (0.1, True)])
def test_a_slow_loss_behind_dead_units_is_not_told_to_raise_the_rate(dead, rate_advised):
    """SGD at 0.3 killed 92% of a layer and the loss stopped falling: "raise the learning
    rate" beside "lower it" (oscillating_loss) contradicted itself. Units alive: raise it."""
    h = _curves(_history(dead=(dead, 0.05)), [2.30, 2.29, 2.29, 2.28, 2.28])
    h.update_ratio = [np.full(3, 1e-5) for _ in h.update_ratio]
    message = rules.slow_convergence(h, T).message
    assert ("Raise the learning rate" in message) == rate_advised, message
    assert ("dead or saturated" in message) != rate_advised, message


@pytest.mark.parametrize(
    ("rates", "schedule_named"),
    [
        ([5e-8, 5e-14, 5e-20, 5e-26, 5e-32], True),  # StepLR(7, 0.1) stepped every batch
        ([0.05] * 5, False),  # no schedule: the rate is simply too low
        ([0.05, 0.04, 0.03, 0.02, 0.01], False),  # a schedule that decays, not to nothing
    ],
)
def test_a_rate_a_schedule_cut_to_nothing_is_named_as_the_cause(rates, schedule_named):
    """A per-epoch scheduler stepped every batch in a loop: the rate is 1e-25 of its start
    after 4 epochs, and "raise the learning rate" would not say why it is low."""
    h = _curves(_history(), [2.30, 2.29, 2.29, 2.28, 2.28])
    h.update_ratio = [np.full(3, 1e-9) for _ in h.update_ratio]
    h.start_lr, h.data_at_hand, h.total_epochs = 0.05, False, 15
    for row, lr in zip(h.curves, rates, strict=True):
        row["lr"] = lr
    message = rules.slow_convergence(h, T).message
    assert ("stepped every batch" in message) == schedule_named, message
    assert ("Raise the learning rate" in message) != schedule_named, message
    # collapsed since the second half of the budget only: a schedule may anneal by then
    h.total_epochs = 5
    for row, lr in zip(h.curves, [0.05, 0.05, 0.05, 5e-8, 5e-14], strict=True):
        row["lr"] = lr
    assert "stepped every batch" not in rules.slow_convergence(h, T).message


@pytest.mark.parametrize(
    ("steps", "advice"),
    [
        ((1e-5, 1e-5, 1e-5), "Raise the learning rate"),
        ((8e-3, 5e-3, 9e-3), "Every layer moves"),
        ((1e-9, 1e-6, 6e-3), "Raise the learning rate"),  # first layers starved (sigmoids)
        ((0.1, 0.05, 0.15), "Lower the learning rate"),  # SGD at 30: too large to settle
        ((1e-9, 1e-6, 0.15), "Lower the learning rate"),
    ],
)
@pytest.mark.parametrize("vanishing", [False, True])
def test_a_loss_that_does_not_fall_gets_advice_from_the_steps_size(steps, advice, vanishing):
    """Adam at 3e-3 on a model that cannot express the task (attention pooling of linear
    projections): the loss stays at chance, and raising the rate or using Adam is no fix.
    Steps of a tenth of the weights (an LSTM under SGD at 30) cannot settle: the inputs are
    not in question, nor is a higher rate."""
    grad = (1e-7, 1e-6, 0.3) if vanishing else (0.5, 0.4, 0.3)  # eight sigmoids, Adam
    h = _curves(_history(grad=grad), [2.30, 2.29, 2.29, 2.28, 2.28])
    h.update_ratio = [np.array(steps) for _ in h.update_ratio]
    finding = rules.slow_convergence(h, T)
    assert advice not in finding.message if vanishing else advice in finding.message
    assert ("(vanishing_gradient)" in finding.message) == vanishing
    expected = {"Lower": "lower", "Raise": "raise"}.get(advice.split()[0])
    assert finding.evidence["rate_advice"] == (None if vanishing else expected)


def test_a_steady_fall_on_small_steps_too_slow_for_the_budget_is_slow_convergence():
    """Adam at 2e-5 (held-out-16 slow_convergence-2): the train loss falls 2-5% an epoch,
    steadily, and would still be at half its start when the 20 epochs end; underfitting's
    plateau would show too late to treat. The same curve on steps of healthy size is a
    network too small (not this rule), and small steps on course to fit, or with the budget
    unknown, are left alone."""

    def run(train, step, epochs=20):
        h = _curves(_history(), train)
        h.total_epochs = epochs
        for row in h.update_ratio:
            row[:] = step
        return rules.slow_convergence(h, T)

    falling = [1.80, 1.71, 1.66, 1.61, 1.55, 1.51, 1.47]
    finding = run(falling, 2e-4)
    assert finding is not None and finding.evidence["update_ratio"] == pytest.approx(2e-4)
    assert finding.evidence["projected_loss"] == pytest.approx(1.47 - 13 * 0.04)
    assert run(falling, 5e-3) is None  # healthy steps: capacity, if anything
    assert run(falling, 2e-4, epochs=0) is None
    assert run([1.8, 1.2, 0.9, 0.7, 0.55, 0.45, 0.38], 2e-4) is None  # on course
    assert run([*falling[:-1], 1.56], 2e-4) is None  # not falling over its last epochs
    annealed = _curves(_history(), falling)  # the steps a cosine schedule has shrunk
    annealed.total_epochs = 20
    for row, lr in zip(annealed.curves, [1.0, 0.8, 0.5, 0.3, 0.2, 0.1, 0.05], strict=True):
        row["lr"] = lr
    for row in annealed.update_ratio:
        row[:] = 2e-4
    assert rules.slow_convergence(annealed, T) is None
    # a fast fall that levelled off near what the data allows (a language model at its
    # text's entropy, Adam 3e-3): a higher rate does not lower it
    assert run([1.459, 0.716, 0.702, 0.699], 3e-4, epochs=6) is None
    assert run([1.80, 1.74, 1.70, 1.66], 3e-4, epochs=6) is not None  # an even, slow pace
    # steps small only next to weights that flew off 13x (an LSTM under SGD at 3, clipped):
    # a higher rate is no advice, divergence names it
    flown = _curves(_history(), falling)
    flown.total_epochs = 20
    for row in flown.update_ratio:
        row[:] = 2e-4
    flown.weight_norm[-1] = np.array([1.0, 13.0, 1.0])
    assert rules.slow_convergence(flown, T) is None


@pytest.mark.parametrize(("reference", "found"), [(1.5, False), (0.8, True)])
def test_a_slow_fall_already_as_good_as_a_kernel_model_is_not_behind(reference, found):
    """A healthy AdamW run (1e-3, weight decay, dropout, cosine) on a noisy six-class table
    (held-out-28): its val loss levels at what the data allows, as low as the reference models'
    on unseen rows, while the train loss still creeps down on AdamW's 8e-4 steps: "would
    still be at 40% of its start", a warning on 2 of 3 seeds. Far above the reference models'
    loss, the network has more to fit: behind."""
    falling = [1.80, 1.71, 1.66, 1.61, 1.55, 1.51, 1.47]
    h = _curves(_history(), falling, [1.6, 1.52, 1.49, 1.47, 1.46, 1.45, 1.45])
    h.total_epochs, h.reference_loss = 20, reference
    for row in h.update_ratio:
        row[:] = 2e-4
    assert (rules.slow_convergence(h, T) is not None) == found


def test_the_steps_size_is_the_median_of_each_probes_largest_measured_update():
    h = _history(probes=0)
    assert h.step_size() is None
    for row in ([np.nan, 1e-4, 3e-4], [np.nan] * 3, [2e-3, 1e-5, np.nan], [1e-4, 1e-4, 1e-4]):
        h.update_ratio.append(np.array(row))
    # the last 3 probes, one not measured: the median of the other two's largest
    assert h.step_size() == pytest.approx((2e-3 + 1e-4) / 2)
    assert h.step_size(k=4) == pytest.approx(3e-4)


def test_overfitting():
    train = [1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05]
    val = [1.0, 0.7, 0.5, 0.55, 0.62, 0.7, 0.8]
    finding = rules.overfitting(_curves(_history(), train, val), T)
    assert finding is not None and finding.evidence["best_epoch"] == 2
    assert rules.overfitting(_curves(_history(), train[:5], val[:5]), T) is None  # 2 epochs ago


@pytest.mark.parametrize("data_at_hand", [True, False])
@pytest.mark.parametrize(("val_best", "mismatch"), [(2.36, True), (1.2, False)])
def test_overfitting_whose_validation_never_beat_chance_names_a_mismatch(
    val_best, mismatch, data_at_hand
):
    """A (B, T, C) output read with time as the classes, an LM with unshifted targets, or
    labels the inputs do not predict: the val loss never beats knowing nothing (2.36
    against ln 8's 2.08) while the train loss falls. "Use early stopping, dropout..." would
    keep a model at 0.13 accuracy. Where the Trainer split one table itself, training and
    validation are prepared alike: only the labels are named."""
    train = [2.0, 1.6, 1.2, 0.9, 0.7, 0.5, 0.3]
    val = [val_best, val_best * 1.05, val_best * 1.15, val_best * 1.3, val_best * 1.45,
           val_best * 1.6, val_best * 1.8]  # fmt: skip
    h = _curves(_history(), train, val)
    h.chance_loss, h.data_at_hand = math.log(8), data_at_hand
    finding = rules.overfitting(h, T)
    assert finding is not None and finding.evidence["val_never_learned"] is mismatch
    assert ("never beat knowing nothing" in finding.message) is mismatch
    assert ("compute different things" in finding.message) is (mismatch and not data_at_hand)
    assert ("Use early stopping" in finding.message) is not mismatch


@pytest.mark.parametrize(("train", "found"), [
    ([5.0, 1.17, 1.35, 1.81, 1.91], False),  # climbing back after its best epoch
    ([5.0, 1.17, 1.0, 0.8, 0.7], True),  # still falling: memorising
    ([5.0, 0.05, 0.0018, 0.0009, 0.0025], True),  # near a perfect fit: a few batches' noise
])  # fmt: skip
def test_a_train_loss_climbing_back_is_no_overfitting(train, found):
    """SGD at 5 ran away in a loop's first epoch, then at 0.5 the train loss climbed 1.17 ->
    1.91 with the val loss: "overfits ... while training loss keeps falling", read from the
    first epoch's runaway mean, sent the user to dropout and weight decay."""
    val = [0.47, 0.5, 0.65, 1.08, 1.75]
    h = _curves(_history(), train, val)
    assert (rules.overfitting(h, T) is not None) == found


@pytest.mark.parametrize("climbing", [True, False])
def test_a_val_loss_that_jumped_early_then_climbs_is_overfitting(climbing):
    """512x512 units on 72 rows, 24 validation rows: the val loss jumped 0.09 -> 0.31 ->
    0.09 in the first epochs, then climbed for 30 epochs while the train loss fell to 1e-3;
    the early jumps named it a jumping val loss ("lower the rate"), at epoch 44. Still
    jumping at the end, the accuracy with it, it is that."""
    train = [0.67, 0.43, 0.35, 0.2, 0.18, 0.18, 0.096, 0.11, 0.089, 0.1, 0.047, 0.069, 0.038]
    val = [0.32, 0.09, 0.31, 0.23, 0.093, 0.11, 0.14, 0.16, 0.14, 0.094, 0.12, 0.11, 0.1]
    train += [0.02 * 0.8**i for i in range(10)]
    val += [0.12 + 0.015 * i for i in range(10)] if climbing else [0.3, 0.16] * 5
    accuracy = [0.92, 1.0, 0.92, 0.875, 0.96, 0.96] + [0.92] * 7
    accuracy += [0.875] * 10 if climbing else [0.83, 0.92] * 5
    h = _curves(_history(), train, val)
    for row, value in zip(h.curves, accuracy, strict=True):
        row["val_accuracy"] = value
    assert (rules.overfitting(h, T) is not None) == climbing
    assert (rules.jumping_val_loss(h, T) is not None) != climbing


def test_underfitting_is_a_plateau_at_a_high_loss():
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    assert rules.underfitting(_curves(_history(), stalled), T) is not None
    assert rules.underfitting(_curves(_history(), HEALTHY_TRAIN), T) is None
    flat = [2.3, 2.29, 2.29, 2.28, 2.28]  # not learning at all is slow convergence instead
    assert rules.underfitting(_curves(_history(), flat), T) is None
    # held-out data fitted far better than the training data: noisy labels, not capacity
    noisy_labels = [0.5 * loss for loss in stalled]
    assert rules.underfitting(_curves(_history(), stalled, noisy_labels), T) is None
    assert rules.underfitting(_curves(_history(), stalled, stalled), T) is not None


def test_a_loss_below_zero_rises_only_when_it_goes_up():
    """A Poisson NLL settled near -1.32, moving by under 1% an epoch: each epoch read as a
    5% rise (b > 1.05 a is any b above a when a < 0, a fall included). The same curve
    shifted above 0 is healthy, and so is it below 0."""
    settled = [-0.2, -1.0, -1.25, -1.30, -1.294, -1.31, -1.304, -1.32, -1.314, -1.33]
    assert rules.oscillating_loss(_curves(_history(), settled), T) is None
    assert rules.oscillating_loss(_curves(_history(), [v + 3 for v in settled]), T) is None
    swinging = [-0.2, -1.0, -0.6, -1.1, -0.5, -1.2, -0.6, -1.2, -0.5, -1.2]
    assert rules.oscillating_loss(_curves(_history(), swinging), T) is not None


def test_a_plateau_of_a_loss_with_an_unknown_floor_is_only_noted():
    """A hand-written loop's own loss (label smoothing, a VAE's KL) may stop far above 0:
    the same plateau is a warning for a cross entropy on labels, a note for such a loss."""
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    h = _curves(_history(), stalled)
    assert rules.underfitting(h, T).severity == "warning"
    h.floor_known = False
    noted = rules.underfitting(h, T)
    assert noted.severity == "info" and "label smoothing" in noted.message


def test_a_plateau_in_a_loop_without_the_data_is_only_noted():
    """A cross entropy on labels, but in a hand-written loop: without the data no kernel
    model says what loss it allows (overlapping classes stop it above 0), so the plateau
    is noted. The Trainer, which holds the data, warns where its reference is above."""
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    h = _curves(_history(), stalled)
    h.data_at_hand = False
    noted = rules.underfitting(h, T)
    assert noted.severity == "info" and "does not see the data" in noted.message
    h.data_at_hand, h.reference_loss = True, 0.9
    warned = rules.underfitting(h, T)
    assert warned.severity == "warning" and warned.evidence["reference_loss"] == 0.9


def test_a_loop_plateau_on_steps_ten_times_the_usual_names_the_rate_first():
    """A GRU seq2seq under Adam at 30x its rate stalled at half its chance loss, each step
    moving the weights by 2.3%: the note advised a wider network (stress 19)."""
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    h = _curves(_history(), stalled)
    h.data_at_hand = False
    assert "lower learning rate" not in rules.underfitting(h, T).message  # steps of 1e-3
    for row in h.update_ratio:
        row[:] = 0.023
    noted = rules.underfitting(h, T)
    assert noted.severity == "info" and "2.3% of their size" in noted.message
    assert "try a lower learning rate first" in noted.message


@pytest.mark.parametrize("floor_known", [True, False])
def test_a_loop_plateau_with_units_lost_is_not_noted_as_a_want_of_width(floor_known):
    """Adam at 100x its rate killed a layer's units: "use a wider or deeper network" was
    noted beside dying_relu. With the units alive, the same plateau is noted."""
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    dead = _curves(_history(dead=(0.05, 0.95)), stalled)
    alive = _curves(_history(), stalled)
    for h in (dead, alive):
        h.data_at_hand, h.floor_known = False, floor_known
    assert rules.underfitting(dead, T) is None
    assert rules.underfitting(alive, T).severity == "info"


def test_a_plateau_on_steps_a_schedule_annealed_is_no_underfitting():
    """A healthy MLP under one-cycle (held-out-15 weld_xray30, seed 16002): its train loss
    flattens in the last epochs, where the rate has decayed to a fifth of its peak and
    less. The same plateau at the peak rate is underfitting."""
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    annealed = _curves(_history(), stalled)
    for row, lr in zip(annealed.curves, [0.1, 1.0, 0.9, 0.6, 0.2, 0.1, 0.0], strict=True):
        row["lr"] = lr
    assert rules.underfitting(annealed, T) is None
    at_peak = _curves(_history(), stalled)
    for row in at_peak.curves:
        row["lr"] = 1.0
    assert rules.underfitting(at_peak, T) is not None


@pytest.mark.parametrize("step", [1e-2, 1e-4])
def test_a_loops_loss_creeping_down_on_usual_steps_is_not_slow(step):
    """A hand-written loop's own loss (a VAE's ELBO, a multi-label BCE with pos_weight)
    flat in training while the val loss creeps down, on steps of the usual size: near a
    floor its data sets, not steps too small; told to raise the rate, the multi-label loop
    lost 2-3 points of micro F1 (stress 19). On steps far smaller, still slow; the
    Trainer, which knows its data and the floor, judges as before."""
    noisy = [1.05, 1.0, 1.01, 0.96, 0.96, 0.97, 0.93, 0.93, 0.92, 0.88, 0.85, 0.89, 0.84]
    noisy += [0.82, 0.81, 0.812, 0.809]
    steady = [0.834 * 0.985**i for i in range(len(noisy))]
    for in_loop in (True, False):
        h = _curves(_history(), noisy, steady)
        h.total_epochs, h.data_at_hand = 40, not in_loop
        for row in h.update_ratio:
            row[:] = step
        found = rules.slow_convergence(h, T)
        assert (found is None) == (in_loop and step > 1e-3), (in_loop, step)


def test_a_steady_val_descent_under_a_noisy_train_plateau_is_slow_convergence():
    """Plain SGD at a small rate: the mini-batch noise makes the training loss look flat
    (it even rises), while the validation loss falls 1.5% in every epoch. The network is
    learning, slowly: slow convergence, not underfitting. A validation loss that flattens
    out (its falls shrink) or wobbles on a plateau is still underfitting, and so is one
    that creeps down under a smooth training loss creeping below 2% an epoch: a model too
    small for the data nears its floor that way."""
    noisy = [1.05, 1.0, 1.01, 0.96, 0.96, 0.97, 0.93, 0.93, 0.92, 0.88, 0.85, 0.89, 0.84]
    noisy += [0.82, 0.81, 0.812, 0.809]
    steady = [0.834 * 0.985**i for i in range(len(noisy))]
    slow = _curves(_history(), noisy, steady)
    slow.total_epochs = 40
    finding = rules.slow_convergence(slow, T)
    assert finding is not None and finding.evidence["val_pace"] == pytest.approx(0.015, abs=0.001)
    assert rules.underfitting(slow, T) is None
    # behind a layer too narrow for the output the same curves are slow for that reason
    # (narrow_layer names it): no call for a higher rate
    narrow = _curves(_history(), noisy, steady)
    narrow.total_epochs, narrow.prior_loss = 40, 2.3
    narrow.rows, narrow.dense = [64, 2, 10], [True] * 3
    assert rules.slow_convergence(narrow, T) is None
    narrow.rows = [64, 9, 10]  # 9 units place 10 classes freely
    assert rules.slow_convergence(narrow, T) is not None
    top = steady[-5]  # falls of 0.03, 0.015, 0.004, 0.002: fast, then flattening out
    flattening = [*steady[:-4], top - 0.03, top - 0.045, top - 0.049, top - 0.051]
    wobbling = [*steady[:-4], top - 0.01, top - 0.005, top - 0.012, top - 0.011]
    smooth = [*noisy[:-4], 0.83, 0.82, 0.81, 0.8]
    for train, val in ((noisy, flattening), (noisy, wobbling), (smooth, steady)):
        stalled = _curves(_history(), train, val)
        stalled.total_epochs = 40
        assert rules.slow_convergence(stalled, T) is None
        assert rules.underfitting(stalled, T).code == "underfitting"


def test_a_loss_as_low_as_a_reference_models_is_the_datas_not_underfitting():
    """Overlapping classes and noisy labels keep every model's loss high: a network whose
    validation loss is already as low as the reference models' on unseen rows has no capacity
    missing; one well above it underfits, and the message gives both losses."""
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]
    val = [2.2, 1.55, 1.28, 1.21, 1.2, 1.2, 1.19]
    at_the_data = _curves(_history(), stalled, val)
    at_the_data.reference_loss = 1.25
    assert rules.underfitting(at_the_data, T) is None
    short = _curves(_history(), stalled, val)
    short.reference_loss = 0.6  # a reference model does twice as well
    finding = rules.underfitting(short, T)
    assert finding.code == "underfitting" and finding.evidence["reference_loss"] == 0.6
    assert (
        "1.19" in finding.message
        and "0.6 a logistic regression or kernel model reaches" in finding.message
    )
    # a small validation set sits above the reference by the luck of the split, while the
    # network fits its training rows better than the reference models predict unseen ones
    unlucky_split = _curves(_history(), stalled, [1.6 * v for v in val])
    unlucky_split.reference_loss = 1.25
    assert rules.underfitting(unlucky_split, T) is None
    unlucky_split.reference_loss = 1.0  # both the training and validation loss 18% above it
    assert rules.underfitting(unlucky_split, T).code == "underfitting"
    # within 10% above it: the split, and the pick of the lowest of four reference models'
    # losses, move it that far
    near = _curves(_history(), stalled, val)
    near.reference_loss = 1.1  # the validation loss 8% above it
    assert rules.underfitting(near, T) is None
    near.reference_loss = 1.05  # 13% above it
    assert rules.underfitting(near, T).code == "underfitting"
    flat = [2.04, 1.96, 1.90, 1.82, 1.78, 1.73, 1.68]
    nothing_to_learn = _curves(_history(), flat, flat)
    nothing_to_learn.prior_loss, nothing_to_learn.reference_loss = 0.91, 2.0
    assert rules.learned_nothing(nothing_to_learn, T) is None
    nothing_to_learn.reference_loss = 0.5
    assert rules.learned_nothing(nothing_to_learn, T).code == "underfitting"


def _one_class(
    accuracy: list[float], top: list[float], loop: bool = True, classes=(4.0, 4.0, 4.0)
) -> ProbeHistory:
    """A loop's history: 8 epochs of falling loss, the given val accuracy per epoch, and
    probes at epochs 0, 3 and 7 (batches of 64 rows) ranking `top` of the rows one class,
    `classes`."""
    h = _history(probes=3)
    h.epochs[:], h.top_class[:], h.top_class_id[:] = [0, 3, 7], list(top), list(classes)
    h.batch_rows, h.data_at_hand = 64, not loop
    _curves(h, [1.5 - 0.1 * e for e in range(8)])
    for row, value in zip(h.curves, accuracy, strict=True):
        row["val_accuracy"] = value
    return h


def test_a_loop_network_that_predicts_one_class_whatever_the_input_is_underfitting():
    """A capsule network's margin loss fell 1.5 -> 0.37 under Adam at 0.05 while it
    predicted one class for every digit (stress 22): nothing was reported."""
    frozen = [0.1156] * 8
    finding = rules.one_class(_one_class(frozen, [0.26, 1.0, 1.0]), T)
    assert finding.code == "underfitting" and finding.evidence["frozen_epochs"] == 8
    assert "0.116" in finding.message and "labels" in finding.message
    assert rules.one_class(_one_class(frozen, [0.26, 0.9, 1.0]), T) is None  # varied rows
    learning = [0.1, 0.3, 0.5, 0.7, 0.8, 0.85, 0.9, 0.9]
    assert rules.one_class(_one_class(learning, [0.26, 1.0, 1.0]), T) is None
    # frozen for 3 epochs only: too short to say the predictions never move
    assert (
        rules.one_class(_one_class([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.6, 0.6], [0.3, 1, 1]), T)
        is None
    )
    # the Trainer reads the same from the class prior (`learned_nothing`)
    assert rules.one_class(_one_class(frozen, [0.26, 1.0, 1.0], loop=False), T) is None
    # another class ranked first at another probe: not one class whatever the input
    assert rules.one_class(_one_class(frozen, [0.26, 1, 1], classes=(4, 4, 7)), T) is None
    # a healthy classifier on imbalanced classes, converged: its batches hold the majority
    # class only, its accuracy frozen high (review)
    assert rules.one_class(_one_class([0.97] * 8, [1.0, 1.0, 1.0]), T) is None
    assert rules.one_class(_one_class([1.0] * 8, [1.0, 1.0, 1.0]), T) is None


def test_learned_nothing_beyond_the_class_prior_is_underfitting():
    """A loss still falling, but still above what predicting the class frequencies scores:
    no plateau, a 21% drop, slowing down, so neither underfitting's shape nor slow
    convergence speaks."""
    falling = [2.04, 1.90, 1.82, 1.74, 1.68, 1.65, 1.615]
    h = _curves(_history(), falling)
    assert rules.underfitting(h, T) is None and rules.slow_convergence(h, T) is None
    h.prior_loss = 0.91  # a 70/16/9/5 class split
    finding = rules.learned_nothing(h, T)
    assert finding.code == "underfitting" and finding.evidence["prior_loss"] == 0.91
    assert "class frequencies" in finding.message and finding.epoch == 6
    learning = _curves(_history(), [2.04, 1.2, 0.7, 0.5, 0.4, 0.35, 0.3])  # the healthy twin
    learning.prior_loss = 0.91
    assert rules.learned_nothing(learning, T) is None
    assert rules.learned_nothing(_curves(_history(), falling), T) is None  # prior unknown
    noisy = _curves(_history(), falling, [0.5 * loss for loss in falling])
    noisy.prior_loss = 0.91  # held back by its training data, as in underfitting
    assert rules.learned_nothing(noisy, T) is None
    early = _curves(_history(), falling[:2])
    early.prior_loss = 0.91
    assert rules.learned_nothing(early, T) is None  # too early to judge
    # just below the prior, and falling 3-4% an epoch: a slow start on imbalanced data
    starting = _curves(_history(), [1.14, 0.96, 0.94, 0.92, 0.89, 0.86])
    starting.prior_loss = 0.91
    assert rules.learned_nothing(starting, T) is None
    flat = _curves(_history(), [1.14, 0.96, 0.94, 0.915, 0.912, 0.905])  # its stuck twin
    flat.prior_loss = 0.91
    assert rules.learned_nothing(flat, T).code == "underfitting"


@pytest.mark.parametrize(("step", "lower"), [(0.137, True), (1e-3, False)])
def test_a_network_that_learned_nothing_on_steps_too_large_is_told_to_lower_the_rate(step, lower):
    """A GRU under Adam at 0.3, each step moving its largest layer by 14% of its weights,
    was told "use a wider network, a higher learning rate or Adam"."""
    h = _curves(_history(), [2.04, 1.90, 1.82, 1.74, 1.68, 1.65, 1.615])
    h.prior_loss = 0.91
    for row in h.update_ratio:
        row[:] = step
    finding = rules.learned_nothing(h, T)
    assert ("Lower the learning rate" in finding.message) is lower
    assert ("a higher learning rate" in finding.message) is not lower
    assert (finding.evidence.get("rate_advice") == "lower") is lower


@pytest.mark.parametrize(("last", "blown"), [(2.3e5, True), (2.3, False)])
def test_a_loss_far_above_the_priors_is_told_its_outputs_are_blown_up(last, blown):
    """Your module started at std 2 in every layer: its loss stayed 1e5 times the class
    prior's, and "use a wider network" was the advice. A loss at the prior's keeps it."""
    h = _curves(_history(), [last * 1.02, last * 1.01, last, last, last])
    h.prior_loss = 2.3
    message = rules.learned_nothing(h, T).message
    assert ("confidently wrong" in message) == blown, message
    assert ("wider or deeper network" in message) != blown, message


def test_a_strong_penalty_names_the_cause_of_a_network_that_does_not_fit():
    """Flat or stalled high under a penalty far stronger than usual: underfitting, with the
    penalty named and weakening it advised, where the shape alone says slow convergence or
    noisy labels (dropout keeps the train loss above the validation loss by itself)."""
    flat = [2.30, 2.29, 2.29, 2.28, 2.28]
    h = _curves(_history(), flat)
    assert rules.slow_convergence(h, T).code == "slow_convergence"
    assert rules.penalised(h, T) is None  # no penalty measured: the shape speaks
    h.penalty = Penalty(l1=0.05)
    finding = rules.penalised(h, T)
    assert finding.code == "underfitting" and "an L1 penalty of 0.05" in finding.message
    assert finding.evidence["penalty"] == "an L1 penalty of 0.05" and "Weaken" in finding.message
    assert rules.slow_convergence(h, T) is None  # the penalty is why: named once
    assert rules.penalised in CURVE_RULES
    assert CURVE_RULES.index(rules.penalised) < CURVE_RULES.index(rules.slow_convergence)
    stalled = [2.3, 1.6, 1.3, 1.2, 1.19, 1.185, 1.18]  # under dropout 0.9: train above val
    dropped = _curves(_history(), stalled, [0.5 * loss for loss in stalled])
    assert rules.underfitting(dropped, T) is None  # read as noisy labels by the shape
    dropped.penalty = Penalty(dropout=0.9)
    assert rules.penalised(dropped, T).code == "underfitting"
    fitting = _curves(_history(), HEALTHY_TRAIN)  # the same penalty, and the net fits
    fitting.penalty = Penalty(weight_decay=0.1)
    assert rules.penalised(fitting, T) is None
    falling = _curves(_history(), [2.3, 1.9, 1.6, 1.35, 1.15])  # still on its way down
    falling.penalty = Penalty(weight_decay=0.1)
    assert rules.penalised(falling, T) is None
    # falling 4% an epoch, no plateau, but at that pace still at 60% of its start when the
    # budget of 10 epochs ends: held back, found now rather than at the end
    crawling = [2.3, 2.12, 2.03, 1.95, 1.87]
    held = _curves(_history(), crawling)
    held.penalty = Penalty(weight_decay=0.2)
    assert rules.penalised(held, T).code == "underfitting"
    held.total_epochs = 40  # the same pace with 35 epochs left gets there
    assert rules.penalised(held, T) is None
    fits_the_data = _curves(_history(), crawling, crawling)
    fits_the_data.penalty, fits_the_data.reference_loss = Penalty(weight_decay=0.2), 2.0
    assert rules.penalised(fits_the_data, T) is None  # as good as the reference models already
    early = _curves(_history(), flat[:2])
    early.penalty = Penalty(weight_decay=0.1)
    assert rules.penalised(early, T) is None  # too early to judge


def test_a_strong_penalty_on_a_network_that_learned_nothing_in_two_epochs_is_told_then():
    """Every epoch's train loss still at the class prior's after 2 epochs, under a penalty
    far stronger than usual: underfitting now, not after `min_epochs` (a CNN under dropout
    0.6, told at epoch 3 of 10, lowered to 0.1 and ended at 0.35; its twin reached 0.70).
    Not after one epoch, not where the loss left the prior, not without the penalty."""

    def history(losses, dropout=0.6):
        h = _curves(_history(), losses)
        h.prior_loss, h.penalty = 2.3, Penalty(dropout=dropout)
        return h

    found = rules.penalised(history([2.31, 2.29]), T)
    assert found.code == "underfitting" and "dropout 0.6" in found.message
    assert rules.penalised(history([2.31]), T) is None  # one epoch: too early
    assert rules.penalised(history([2.31, 1.9]), T) is None  # learning: judged at 4 epochs
    assert rules.penalised(history([2.31, 2.29], dropout=0), T) is None  # no cause named


def _narrow(units: int, outputs: int = 10, loss=(2.4, 2.35), prior=2.3) -> ProbeHistory:
    """A history of net.1 (64 units) -> net.3 (`units`) -> net.5 (`outputs`), dense."""
    h = _curves(_history(), list(loss))
    h.rows, h.dense, h.prior_loss = [64, units, outputs], [True] * 3, prior
    return h


def test_a_layer_too_narrow_for_the_output_is_underfitting_from_its_cause():
    finding = rules.narrow_layer(_narrow(2), T)
    assert finding.code == "underfitting" and finding.layer == "net.3"
    assert (finding.evidence["units"], finding.evidence["outputs"]) == (2, 10)
    assert finding.epoch == 1  # judged after two epochs: the structure already says why
    assert rules.narrow_layer(_narrow(9), T) is None  # 9 units place 10 classes freely
    assert rules.narrow_layer(_narrow(1, outputs=2), T) is None  # binary: one logit gap
    assert rules.narrow_layer(_narrow(2, loss=(2.4, 0.9)), T) is None  # narrow, and learning
    assert rules.narrow_layer(_narrow(2, loss=(2.4,)), T) is None  # too early
    # learning anyway, at a pace that grows: a narrow layer slows argmax, it does not stop it
    assert rules.narrow_layer(_narrow(2, loss=(2.25, 2.0, 1.7)), T) is None
    assert rules.narrow_layer(_narrow(2, loss=(2.25, 2.0)), T) is None  # fast: wait and see
    slowing = rules.narrow_layer(_narrow(2, loss=(2.25, 2.0, 1.85)), T)
    assert slowing.code == "underfitting" and slowing.epoch == 2
    # no class prior: an autoencoder's or a regression's narrow layer is there by design
    assert rules.narrow_layer(_narrow(2, prior=None), T) is None
    conv = _narrow(2)
    conv.dense = [False, True, True]  # a conv's channels are no dense bottleneck ...
    assert rules.narrow_layer(conv, T) is not None  # ... the dense layer still is
    conv.dense = [True, False, True]
    assert rules.narrow_layer(conv, T) is None
    conv.sizes = [64 * 9, 2 * 64 * 9, 10 * 2 * 49]  # the head reads 2 channels x 7 x 7
    assert rules.narrow_layer(conv, T) is None
    conv.sizes[-1] = 10 * 2  # ... or, globally pooled (a ResNet's head), 2 features
    finding = rules.narrow_layer(conv, T)
    assert finding.layer == "net.3" and finding.evidence["units"] == 2
    conv.sizes[-1], conv.rows[1] = 10 * 9, 9  # 9 pooled channels place 10 classes freely
    assert rules.narrow_layer(conv, T) is None
    assert rules.narrow_layer(_curves(_history(), [2.4, 2.35]), T) is None  # widths unknown


def test_divergence_is_judged_at_the_epoch_end_too():
    """A loss that ran away between probes shows in the epoch mean before the next probe."""
    h = _curves(_history(probes=1, loss=[2.0]), [1.9, 2.0e3])
    assert rules.divergence in CURVE_RULES
    finding = rules.divergence(h, T)
    # dated at the epoch whose mean showed it, not at the last probe, steps before
    assert finding.epoch == 1 and finding.step is None and finding.evidence["loss"] == 2.0e3
    assert "mean training loss of epoch 1 ran away to 2e+03" in finding.message
    # a history begun mid-epoch (after a remedy): that epoch's mean holds the runaway
    # before it, and only the epochs after speak
    treated = _history(probes=1, loss=[2.0])
    treated.epochs[0] = 1
    assert rules.divergence(_curves(treated, [1.9, 2.0e3]), T) is None
    treated.curves.append({"epoch": 2, "train_loss": 2.0e3})
    assert rules.divergence(treated, T).epoch == 2
    assert rules.divergence(_curves(_history(probes=1, loss=[2.0]), [1.5]), T) is None


def test_a_loop_objective_that_grows_while_validation_improves_is_no_divergence():
    """A Bayesian network's KL weight warmed up over ten epochs (stress 31): its training
    loss rose 2.1 -> 22.3 by design while the validation NLL it reports fell every epoch.
    The weights grew (no `_weights_still`). Its validation getting worse instead, or a
    probe ten times the last epoch's loss, is a runaway; so in the Trainer's own loss."""
    train = [2.1, 4.5, 6.5, 8.6, 10.7, 12.8, 14.9, 17.0, 19.1, 20.2, 22.3]
    val = [1.8, 0.9, 0.5, 0.3, 0.22, 0.18, 0.15, 0.13, 0.12, 0.11, 0.105]

    def history(val, last=24.6, data_at_hand=False, train=train):
        h = _history(loss=[2.3, 24.0, 24.5, last])
        h.weight_norm = [np.full(3, 1.0 + i) for i in range(4)]
        h.output_level = [math.nan] * 4  # (not measured)
        h.data_at_hand = data_at_hand
        h.curves = [
            {"epoch": e, "train_loss": a, "val_loss": b}
            for e, (a, b) in enumerate(zip(train, val, strict=True))
        ]
        return h

    assert rules.divergence(history(val), T) is None
    worse = [1.8, *(v + 0.2 * i for i, v in enumerate(val[1:], 1))]
    assert rules.divergence(history(worse), T) is not None
    assert rules.divergence(history(val, last=300.0), T) is not None
    assert rules.divergence(history(val, data_at_hand=True), T) is not None
    # the warm-up over, the loss falls: the validation loss no higher than at its peak
    after = [*train, 21.0, 19.5]
    assert rules.divergence(history([*val, 0.10, 0.098], train=after), T) is None
    assert rules.divergence(history([*val, 0.2, 0.4], train=after), T) is not None


def test_raw_parameters_are_no_chain_to_compare_the_first_and_last_gradients_in():
    """A Bayes-by-backprop MLP holds its weights as raw parameters, means beside spreads
    (stress 31): the last, `l2.w_rho`, gets a gradient its softplus shrinks 300x below the
    first mean's, which told "gradients explode" and was clipped. Modules' weights, from
    input to output, are a chain: the same ratio there is lopsided."""
    grads = (1.9, 0.9, 0.0065)

    def history(chained):
        h = _history(grad=grads)
        h.chained = chained
        return h

    assert rules.exploding_gradient(history(False), T) is None
    assert rules.exploding_gradient(history(True), T) is not None
    import torch
    from torch import nn

    from trainwell.health._probes import Probe

    class Bayesian(nn.Module):  # weight means and spreads held as raw parameters
        def __init__(self):
            super().__init__()
            self.w_mu, self.w_rho = nn.Parameter(torch.zeros(4, 3)), nn.Parameter(torch.zeros(4, 3))

        def forward(self, x):
            return x @ (self.w_mu + nn.functional.softplus(self.w_rho)).T

    assert Probe(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))).history.chained
    assert not Probe(Bayesian()).history.chained


@pytest.mark.parametrize("rule", PROBE_RULES + CURVE_RULES, ids=lambda r: r.__name__)
def test_every_rule_documents_its_criterion(rule):
    assert rule.__doc__ and len(rule.__doc__.split()) > 15


def test_a_steady_climb_of_the_val_loss_is_overfitting_before_it_rises_20_percent():
    """A wide MLP memorising its pixels: the val loss climbs a little every epoch, 12% over
    its best in 8 epochs while the train loss goes to 0. The same rise with a dip in it
    is no steady climb, and stays below the 20% a noisy curve needs."""
    train = [1.6, 0.5, 0.15, 0.06, 0.03, 0.01, 0.005, 0.002, 0.001, 5e-4, 2e-4, 1e-4]
    climb = [1.05, 0.64, 0.47, 0.462, 0.467, 0.472, 0.478, 0.485, 0.492, 0.499, 0.507, 0.518]
    finding = rules.overfitting(_curves(_history(), train, climb), T)
    assert finding.evidence["best_epoch"] == 3 and "each of the last 5 epochs" in finding.message
    dip = [*climb[:-3], 0.49, 0.507, 0.518]
    assert rules.overfitting(_curves(_history(), train, dip), T) is None


def test_overfitting_is_not_judged_against_a_perfect_validation_loss():
    import warnings

    h = _curves(_history(), [1.0, 0.5, 0.2, 0.1, 0.05, 0.02], [0.5, 0.0, 0.1, 0.2, 0.3, 0.4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rules.overfitting(h, T) is None
    rising = _curves(_history(), [1.0, 0.5, 0.2, 0.1, 0.05, 0.02], [0.5, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert rules.overfitting(rising, T) is not None  # the same rise over a positive best


def test_overfitting_ignores_a_drift_of_noise_near_a_perfect_fit():
    """Healthy runs on a small validation set (iris, wine, breast_cancer): the val loss near
    a perfect fit drifts up as a few examples grow more confident, 20-70% over its best but
    2-4% of where it started. A real rise is the same shape, larger."""
    train = [0.67, 0.36, 0.12, 0.07, 0.05, 0.04, 0.03, 0.025, 0.02]
    bump = [0.60, 0.26, 0.08, 0.05, 0.032, 0.034, 0.036, 0.040, 0.040]
    drift = [0.60, 0.26, 0.08, 0.05, 0.032, 0.038, 0.045, 0.050, 0.055]
    for curve in (bump, drift):
        assert rules.overfitting(_curves(_history(), train, curve), T) is None
    rise = [0.60, 0.26, 0.08, 0.05, 0.032, 0.045, 0.06, 0.075, 0.085]
    assert rules.overfitting(_curves(_history(), train, rise), T) is not None


def test_a_val_loss_no_higher_than_the_train_loss_is_no_overfitting():
    """A healthy iris MLP (held-out-41, seed 41018; 30 validation rows): its val loss climbed
    from 0.016 to 0.056 in its last epochs while its train loss, measured as the val loss
    is (no dropout, augmentation or penalty), stood at 0.052, and one row of 30 fewer was
    right. No gap between fit and validation: nothing fails to carry. The same val curve
    beside a train loss that fell to a tenth of it is overfitting."""
    val = [0.768, 0.386, 0.216, 0.231, 0.134, 0.097, 0.093, 0.082, 0.043, 0.045, 0.043, 0.023]
    val += [0.067, 0.020, 0.026, 0.020, 0.033, 0.045, 0.040, 0.065, 0.039, 0.052, 0.030]
    val += [0.027, 0.033, 0.051, 0.040, 0.055, 0.038, 0.064, 0.051, 0.021, 0.032, 0.030]
    val += [0.047, 0.035, 0.062, 0.017, 0.016, 0.023, 0.043, 0.036, 0.036, 0.033, 0.038]
    val += [0.044, 0.049, 0.045, 0.0397, 0.0436, 0.0442, 0.0468, 0.0472, 0.0563]
    train = [1.02, 0.526, 0.286, 0.260, 0.166, 0.126, 0.165, 0.140, 0.107, 0.095, 0.084]
    train += [0.078, 0.111, 0.102, 0.136, 0.121, 0.187, 0.125, 0.122, 0.087, 0.079, 0.069]
    train += [0.081, 0.109, 0.090, 0.065, 0.063, 0.092, 0.087, 0.070, 0.068, 0.059, 0.067]
    train += [0.067, 0.063, 0.102, 0.065, 0.072, 0.063, 0.066, 0.054, 0.059, 0.056, 0.059]
    train += [0.054, 0.060, 0.056, 0.053, 0.053, 0.054, 0.053, 0.053, 0.101, 0.052]
    assert len(val) == len(train) == 54

    def history(train, alike=True):
        h = _curves(_history(), train, val)
        h.train_as_val = alike
        return h

    assert rules.overfitting(history(train), T) is None
    fitted = [*train[:40], *(0.1 * v for v in train[40:])]
    assert rules.overfitting(history(fitted), T) is not None
    # a train loss with dropout, augmentation or a penalty in it (or a loop's, which may
    # hold terms its val loss leaves out) is no measure of the gap: judged as before
    assert rules.overfitting(history(train, alike=False), T) is not None


def test_a_val_loss_bumped_up_with_the_train_loss_is_no_overfitting():
    """A healthy digits MLP under SGD (held-out-15, seed 16002): one epoch's steps bump both
    losses up, the val loss 66% over its best, and it takes epochs to fall back; the train
    loss goes on falling from its own bump. Rising with a falling train loss, or bumped up
    and not falling back, the same val loss is overfitting."""
    train = [0.654, 0.146, 0.111, 0.066, 0.031, 0.022, 0.020, 0.036, 0.016, 0.013]
    bump = [0.132, 0.121, 0.076, 0.072, 0.065, 0.060, 0.065, 0.107, 0.099, 0.097]
    assert rules.overfitting(_curves(_history(), train, bump), T) is None
    falling = [*train[:7], 0.018, 0.016, 0.013]
    assert rules.overfitting(_curves(_history(), falling, bump), T).code == "overfitting"
    stays_up = [*bump[:8], 0.110, 0.115]  # bumped, and not falling back: overfitting too
    assert rules.overfitting(_curves(_history(), train, stays_up), T).code == "overfitting"


@pytest.mark.parametrize(
    ("steps", "runaway", "diverged"),
    [
        ([0, 5, 11, 13, 22, 29, 34], [5, 13, 29, 34], False),  # spikes, calm steps between
        ([0, 5, 11, 13, 22, 29, 30], [5, 13, 29, 30], True),  # away at step after step
        ([0, 5, 11, 13, 22, 29, 34], [5, 13], True),  # on the grid: the steps between unread
    ],
)
def test_batches_that_spike_and_fall_back_are_no_divergence(steps, runaway, diverged):
    """A regression whose targets hold a missing-value code (-999999) in 1 row of 60: the
    batches that draw one score 10x the first, the others fall back, and the epoch's mean
    stays flat. A loss that runs away stays away, at every step read. An epoch's mean is
    compared with the median of the first 3 probes: the first batch may be one of the few
    without a code."""
    loss = [0.187, 2.74, 0.039, 2.62, 0.034, 1.89, 2.52]
    h = _history(probes=len(steps), loss=loss)
    h.steps, h.runaway_steps = list(steps), list(runaway)
    assert (rules.divergence(h, T) is not None) is diverged
    start = [0.088, 0.99, 1.026]  # most batches draw a code: the first did not
    for epoch_mean, ran_away in ((1.08, False), (45.0, True)):  # 10x 0.088; 10x the median
        h = _curves(_history(probes=3, loss=start), [0.9, epoch_mean])
        h.epochs, h.steps, h.runaway_steps = [0, 0, 0], [0, 3, 9], [3, 9]
        assert (rules.divergence(h, T) is not None) is ran_away


def test_a_train_loss_above_the_priors_has_memorised_nothing():
    """SGD at 0.3 under momentum 0.99 on a 3-class table: the val loss 190% above its best
    while the train loss, falling again, is still above the class prior's 1.10. The same
    curves under a prior they fell below are overfitting."""
    train = [0.75, 0.9, 1.6, 2.0, 1.9, 1.7, 1.5, 1.3, 1.2]
    val = [0.7, 0.65, 0.9, 1.2, 0.6, 1.3, 1.6, 1.7, 1.75]
    h = _curves(_history(), train, val)
    h.prior_loss = 1.10
    assert rules.overfitting(h, T) is None
    h.prior_loss = 2.5
    assert rules.overfitting(h, T).code == "overfitting"


def test_a_val_loss_rising_while_val_accuracy_rises_is_no_overfitting():
    """A network growing confident on the few examples it gets wrong while it gets more of
    them right: its val loss climbs 30% over its best, its val accuracy goes on up. Its
    twins, memorising, lose val accuracy as the same val loss climbs, or keep an accuracy
    that levelled off."""
    train = [1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05, 0.03]
    val = [1.0, 0.7, 0.5, 0.55, 0.6, 0.62, 0.65, 0.66]
    for accuracy, overfits in (
        ([0.6, 0.8, 0.90, 0.90, 0.91, 0.92, 0.92, 0.93], False),  # more right, surer of errors
        ([0.6, 0.8, 0.90, 0.89, 0.88, 0.87, 0.86, 0.86], True),  # memorising: fewer right
        ([0.6, 0.8, 0.90, 0.91, 0.92, 0.91, 0.93, 0.90], True),  # back to where it was
        ([0.6, 0.8, 0.90, 0.90, 0.91, 0.90, 0.905, 0.905], True),  # where it was, surer
        ([0.6, 0.8, 0.90, 0.92, 0.93, 0.93, 0.92, 0.93], True),  # risen, then levelled off
    ):
        h = _curves(_history(), train, val)
        for row, value in zip(h.curves, accuracy, strict=True):
            row["val_accuracy"] = value
        assert (rules.overfitting(h, T) is not None) is overfits, accuracy
    assert rules.overfitting(_curves(_history(), train, val), T) is not None  # no accuracy


def test_a_cause_is_reported_before_the_vanishing_it_causes():
    """Dead units cut the backward path: found on the same probe as the vanishing gradients
    behind them, dying_relu comes first, in the order the doctor treats them."""
    from trainwell.health._doctor import _PRIORITY

    h = _history(grad=(1e-6, 1e-5, 0.3), dead=(0.9, 0.95))
    found = [rule(h, T) for rule in PROBE_RULES]
    codes = [f.code for f in found if f is not None]
    assert codes == ["dying_relu", "vanishing_gradient"]
    # the healthy twin of the dead units: vanishing alone is vanishing
    alone = [rule(_history(grad=(1e-6, 1e-5, 0.3)), T) for rule in PROBE_RULES]
    assert [f.code for f in alone if f is not None] == ["vanishing_gradient"]
    *named, last = [r.__name__ for r in PROBE_RULES]
    assert named == sorted(named, key=_PRIORITY.index)  # each named after its code ...
    assert last == "runaway_weights"  # ... but the divergence the units' state may hide


def test_a_lucky_epoch_of_the_val_loss_is_no_best_to_overfit_from():
    """A healthy batch-norm CNN on 36x36 tablets (held-out-39, AdamW under cosine decay):
    the val loss dipped to 0.36 for one epoch between 0.51s, then sat at 0.40-0.54 while the
    train loss fell; read from the dip it was 20-30% up, "overfitting", at 0.91 accuracy as
    good as any epoch's. A low both neighbours stand 20% above, which the val loss came back
    near later, is luck: the lowest other epoch is the best to rise from. The same curve
    that climbs from there is overfitting, and so is a sharp low never come back to."""
    train = [1.38, 0.96, 0.79, 0.68, 0.57, 0.49, 0.41, 0.37, 0.33, 0.28, 0.3, 0.27, 0.23]
    train += [0.21, 0.19, 0.185, 0.17, 0.154, 0.149, 0.151, 0.142, 0.137, 0.137, 0.139, 0.144]
    val = [2.77, 0.84, 0.74, 0.76, 0.75, 0.61, 0.56, 0.78, 0.5, 0.51, 0.36, 0.51, 0.43, 0.47]
    val += [0.47, 0.49, 0.4, 0.54, 0.45, 0.45, 0.42, 0.45, 0.43, 0.44, 0.43]
    accuracy = [0.33, 0.72, 0.74, 0.75, 0.77, 0.8, 0.82, 0.75, 0.85, 0.87, 0.93, 0.85, 0.9]
    accuracy += [0.87, 0.89, 0.88, 0.92, 0.88, 0.9, 0.9, 0.91, 0.9, 0.9, 0.9, 0.91]

    def history(val, train=train):
        h = _curves(_history(), train[: len(val)], val)
        h.prior_loss = 1.79
        for row, value in zip(h.curves, accuracy, strict=False):
            row["val_accuracy"] = value
        return h

    epochs = [history(val[:n]) for n in range(4, len(val) + 1)]
    assert [e for e, h in enumerate(epochs, 3) if rules.overfitting(h, T)] == []
    climbing = [*val[:-5], 0.5, 0.55, 0.6, 0.64, 0.68]
    fitting = [*train[:-5], 0.13, 0.12, 0.11, 0.1, 0.09]
    found = rules.overfitting(history(climbing, fitting), T)
    assert (found.evidence["best_epoch"], found.evidence["best_val_loss"]) == (12, 0.43)
    sharp = [1.2, 0.6, 0.3, 0.38, 0.41, 0.40, 0.43, 0.42, 0.44, 0.43, 0.45, 0.44]
    falling = [1.0 * 0.75**i for i in range(len(sharp))]
    found = rules.overfitting(_curves(_history(), falling, sharp), T)
    assert found.evidence["best_val_loss"] == 0.3


def test_a_warm_restart_lifting_the_val_loss_is_no_overfitting():
    """Warm restarts every 5 epochs (SGDR): the val loss rises for the epochs after each
    restart, on purpose, and comes back as the rate decays (a healthy residual MLP was told
    overfitting two epochs after a restart: stress 30). The same rise at a constant rate is
    overfitting, and so is a val loss still up at the end of the next cycle."""
    cycle = [0.1, 0.0905, 0.0655, 0.0345, 0.0095]
    train = [1.2, 0.8, 0.6, 0.5, 0.45, 0.48, 0.44, 0.4, 0.36, 0.33]
    val = [1.1, 0.7, 0.5, 0.42, 0.38, 0.45, 0.5, 0.5, 0.5, 0.52]

    def history(epochs, rates):
        h = _curves(_history(), train[:epochs], val[:epochs])
        for row, rate in zip(h.curves, rates, strict=False):
            row["lr"] = rate
        return h

    assert rules.overfitting(history(8, cycle * 2), T) is None  # mid-cycle, the rate up
    assert rules.overfitting(history(8, [0.05] * 10), T) is not None
    assert rules.overfitting(history(10, cycle * 2), T) is not None  # at the cycle's low
    # the rate recorded at an epoch's end is the next one's (a scheduler stepped per batch):
    # the restart shows at the best epoch itself
    assert rules.overfitting(history(8, [*cycle[1:], *cycle]), T) is None
    assert rules.overfitting(history(8, [math.nan, *cycle[1:], *cycle]), T) is None
    warm_up = [0.01, 0.02, 0.04, 0.08, 0.1, 0.1, 0.1, 0.1]  # a climb, never a restart
    assert rules.overfitting(history(8, warm_up), T) is not None


def test_a_val_loss_that_jumps_up_and_down_is_no_overfitting():
    """Large steps under batch norm: the val loss jumps 2-3x and falls back while the train
    loss falls; an overfitting network's climbs, its noise small next to the climb."""
    train = [1.7, 1.2, 0.85, 0.74, 0.6, 0.48, 0.42, 0.39, 0.35, 0.33]
    jumping = [1.5, 1.3, 1.1, 0.9, 0.6, 0.52, 1.40, 0.92, 1.45, 1.20]
    assert rules.overfitting(_curves(_history(), train, jumping), T) is None
    climbing = [1.5, 1.3, 1.1, 0.9, 0.6, 0.52, 0.70, 0.66, 0.78, 0.84]
    assert rules.overfitting(_curves(_history(), train, climbing), T).code == "overfitting"
    noisy = [1.5, 1.3, 1.1, 0.9, 0.6, 0.47, 0.50, 0.66, 0.61, 0.68]  # falls back 0.05 of 0.47
    assert rules.overfitting(_curves(_history(), train, noisy), T).code == "overfitting"
    lucky = [1.5, 1.3, 1.1, 0.9, 0.6, 0.47, 0.61, 0.49, 0.62, 0.60]  # two lone lows, no rise
    assert rules.overfitting(_curves(_history(), train, lucky), T) is None
    h = _curves(_history(), train, jumping)
    scrambled = [0.3, 0.4, 0.5, 0.6, 0.7, 0.73, 0.47, 0.6, 0.45, 0.58]  # down 26, up 13
    for row, accuracy in zip(h.curves, scrambled, strict=True):
        row["val_accuracy"] = accuracy  # the predictions change wholesale
    assert rules.overfitting(h, T) is None
    drifting = [0.3, 0.4, 0.5, 0.6, 0.7, 0.88, 0.84, 0.86, 0.82, 0.82]
    for row, accuracy in zip(h.curves, drifting, strict=True):
        row["val_accuracy"] = accuracy  # memorised: the loss swings with confidence alone
    assert rules.overfitting(h, T).code == "overfitting"
    shaken = [0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 0.76, 0.70, 0.795, 0.78]  # down 15, up 9.5
    for row, accuracy in zip(h.curves, shaken, strict=True):
        row["val_accuracy"] = accuracy
    assert rules.overfitting(h, T) is None
    memorised = _curves(_history(), [1.7, 1.0, 0.5, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005])
    memorised.curves = [
        row | {"val_loss": v, "val_accuracy": a}
        for row, v, a in zip(memorised.curves, jumping, scrambled, strict=True)
    ]  # the same jumps, from a network that fits its training rows 10x better: memorised
    assert rules.overfitting(memorised, T).code == "overfitting"


def test_a_val_loss_that_jumps_at_a_rate_no_schedule_lowers_is_an_oscillating_loss():
    """The same jumps are the steps' (lower the rate) while the rate stays at its highest;
    a schedule lowering it (a healthy ResNet under cosine decay jumps so mid-run) will calm
    them, and a climbing val loss is overfitting, not this."""
    train = [1.7, 1.2, 0.85, 0.74, 0.6, 0.48, 0.42, 0.39, 0.35, 0.33]
    jumping = [1.5, 1.3, 1.1, 0.9, 0.6, 0.52, 1.40, 0.92, 1.45, 1.20]
    scrambled = [0.3, 0.4, 0.5, 0.6, 0.7, 0.73, 0.47, 0.6, 0.45, 0.58]

    def history(val, accuracy, rates):
        h = _curves(_history(), train, val)
        for row, acc, lr in zip(h.curves, accuracy, rates, strict=True):
            row["val_accuracy"], row["lr"] = acc, lr
        return h

    constant = [0.05] * 10
    finding = rules.jumping_val_loss(history(jumping, scrambled, constant), T)
    assert finding.code == "oscillating_loss" and "lower it" in finding.message
    assert finding.evidence["best_epoch"] == 5
    assert rules.jumping_val_loss in CURVE_RULES
    cosine = [0.05 * (1 + math.cos(math.pi * e / 20)) / 2 for e in range(10)]
    assert rules.jumping_val_loss(history(jumping, scrambled, cosine), T) is None
    steady = [0.3, 0.4, 0.5, 0.6, 0.7, 0.88, 0.84, 0.86, 0.82, 0.82]
    assert rules.jumping_val_loss(history(jumping, steady, constant), T) is None
    bumped = history(jumping, scrambled, constant)  # the first jump bumps the train loss too
    bumped.curves[6]["train_loss"] = 0.5
    assert rules.jumping_val_loss(bumped, T).code == "oscillating_loss"
    climbing = [1.5, 1.3, 1.1, 0.9, 0.6, 0.52, 0.70, 0.66, 0.78, 0.84]
    assert rules.jumping_val_loss(history(climbing, scrambled, constant), T) is None


def test_a_val_loss_that_jumps_and_falls_back_each_time_is_an_oscillating_loss():
    """A batch-norm CNN under Adam at 0.05 (held-out-38): its val loss jumps for one epoch
    at a time, each jump 20% and more above its lowest so far with the accuracy 8 points
    down, and falls back at once; it never stays up two epochs as overfitting's rise must,
    and was told nothing of its rate. Small wiggles, jumps the accuracy does not follow,
    a memorised network's and a scheduled rate's are not."""
    train = [1.79, 1.51, 1.42, 1.29, 1.19, 1.12, 1.05, 0.98, 0.92, 0.88, 0.83, 0.73, 0.74, 0.67,
             0.62, 0.60]  # fmt: skip
    val = [1.72, 2.05, 1.38, 1.21, 1.22, 1.35, 1.07, 1.05, 1.16, 1.30, 1.14, 1.28, 0.99, 1.03,
           1.36, 1.14]  # fmt: skip
    accuracy = [0.30, 0.25, 0.43, 0.525, 0.50, 0.46, 0.58, 0.59, 0.55, 0.505, 0.58, 0.57, 0.635,
                0.645, 0.565, 0.67]  # fmt: skip

    def history(train, val, accuracy, lr=0.05):
        h = _curves(_history(), train, val)
        h.total_epochs = 20
        for epoch, row in enumerate(h.curves):
            row["val_accuracy"] = accuracy[epoch]
            row["lr"] = lr if isinstance(lr, float) else lr[epoch]
        return h

    found = rules.jumping_val_loss(history(train, val, accuracy), T)
    assert found.code == "oscillating_loss" and "rose 2 times" in found.message
    assert "epochs 9, 14" in found.message and "lower it" in found.message
    assert rules.overfitting(history(train, val, accuracy), T) is None
    wiggles = [v if i < 8 else min(v, 1.1 - 0.01 * i) for i, v in enumerate(val)]
    assert rules.jumping_val_loss(history(train, wiggles, accuracy), T) is None
    steady = [min(a, 0.5) if i > 3 else a for i, a in enumerate(accuracy)]
    assert rules.jumping_val_loss(history(train, val, steady), T) is None
    memorised = [v / 8 for v in train]
    assert rules.jumping_val_loss(history(memorised, val, accuracy), T) is None
    cosine = [0.05 * (1 + math.cos(math.pi * e / 16)) / 2 for e in range(16)]
    assert rules.jumping_val_loss(history(train, val, accuracy, cosine), T) is None
    # one spike that takes two epochs to come down is one jump, not two
    spike = [1.7, 1.4, 1.2, 1.1, 1.05, 1.0, 2.0, 1.45, 1.0, 0.98, 0.97, 0.96, 0.95, 0.95, 0.94,
             0.94]  # fmt: skip
    dip = [0.3, 0.4, 0.5, 0.55, 0.58, 0.6, 0.4, 0.5, 0.6, 0.61, 0.62, 0.62, 0.63, 0.63, 0.64,
           0.64]  # fmt: skip
    assert rules.jumping_val_loss(history(train, spike, dip), T) is None
    assert _jumps(history(train, spike, dip), T) == [6]
    # a healthy one-cycle run near its peak rate (held-out-37's thin-section CNN): the
    # schedule will lower it, and did
    warm = [1.61, 1.46, 1.25, 1.02, 0.84, 0.72, 0.66, 0.56, 0.55]
    peak = [1.51, 1.35, 1.17, 0.86, 1.42, 0.70, 0.58, 0.77, 0.65]
    right = [0.39, 0.46, 0.53, 0.66, 0.51, 0.73, 0.80, 0.69, 0.79]
    rates = [3e-4, 7e-4, 1.4e-3, 2e-3, 2.6e-3, 2.9e-3, 3e-3, 2.9e-3, 2.8e-3]
    for rate, found in ((rates, False), (3e-3, True)):  # the same at a constant rate: found
        warm_up = history(warm, peak, right, rate)
        warm_up.total_epochs = 22
        assert (rules.jumping_val_loss(warm_up, T) is not None) == found


def test_a_summed_loss_is_named_only_where_its_size_can_be_the_cause():
    """A loss summed over 32 terms sends 32x a mean's gradient: named as a cause of large
    steps under SGD whose steps were not measured small; not under Adam, whose steps do
    not grow with the gradient, nor under SGD at a rate already scaled down to the sum
    (the review found no test that failed without these two exclusions)."""
    h = _history()
    h.summed = 32
    for row in h.update_ratio:
        row[:] = 0.2  # steps measured large
    assert h.sum_sized()
    h.scale_free = True
    assert not h.sum_sized()
    h.scale_free = False
    for row in h.update_ratio:
        row[:] = 1e-3  # steps measured small
    assert not h.sum_sized()
    h.summed = 0
    for row in h.update_ratio:
        row[:] = 0.2
    assert not h.sum_sized()


def test_after_a_remedy_a_runaway_must_rise_above_where_the_run_started():
    """A loop's TD loss, whose untrained level is unknown, restarts its history after a
    remedy at 1.4e-6, and its batches reach 5e-5 (stress 21: read as a runaway, the rate was
    cut 1,000x). The run started at 8e-4: a loss below it has not run away."""
    swinging = [1.4e-6, 5e-5, 4e-5, 4.8e-5]
    assert rules.divergence(_history(loss=swinging), T) is not None  # by its own start alone
    after_remedy = _history(loss=swinging)
    after_remedy.inherit_baselines(_history(loss=[8e-4, 5e-4, 1e-4, 2e-5]))
    assert after_remedy.run_start == 8e-4
    assert rules.divergence(after_remedy, T) is None
    after_remedy.loss[1:] = [5e-2, 4e-2, 4.8e-2]  # past where the run started: it ran away
    assert rules.divergence(after_remedy, T) is not None


def test_a_loss_far_below_where_the_run_started_does_not_oscillate():
    """After a remedy, a converged TD loss wobbling at 1e-6 to 7e-6 is at its floor, not
    bouncing off steps too large (stress 21: its rate was cut again, 1e-5 -> 1e-6)."""
    tiny = [1.2e-6, 3e-6, 2e-6, 5e-6, 3e-6, 7e-6]
    assert rules.oscillating_loss(_curves(_history(), tiny), T) is not None
    h = _curves(_history(), tiny)
    h.run_start = 8e-4
    assert rules.oscillating_loss(h, T) is None
    h.run_start = 1e-5  # the same wobble where the run started barely above it
    assert rules.oscillating_loss(h, T) is not None


@pytest.mark.parametrize(
    ("floor_known", "val", "found"),
    [(False, None, False), (True, None, True), (False, [0.5, 0.55, 0.6, 0.65, 0.7], True)],
)
def test_a_loop_loss_that_only_rose_is_no_oscillation(floor_known, val, found):
    """A PPO loop's loss, on the data its policy collects, rose in each epoch while the
    policy improved (stress 21): read as an oscillation, repair took it back to its first,
    random policy. A loop's own loss with nothing beside it that only rises has no swing to
    read; a cross entropy on labels, or a loss beside a validation loss, that only rises is
    the rate's, as in the Trainer (review)."""
    rising = [0.022, 0.03, 0.038, 0.045, 0.05]
    h = _curves(_history(), rising, val)
    h.data_at_hand, h.floor_known = False, floor_known
    assert (rules.oscillating_loss(h, T) is not None) is found
    swinging = _curves(_history(), [0.022, 0.04, 0.03, 0.045, 0.035, 0.05])
    swinging.data_at_hand, swinging.floor_known = False, False
    assert rules.oscillating_loss(swinging, T) is not None
    assert rules.oscillating_loss(_curves(_history(), rising), T) is not None  # the Trainer


@pytest.mark.parametrize(
    ("floor_known", "data_at_hand"), [(False, False), (True, False), (True, True)]
)
def test_a_loop_loss_of_unknown_floor_that_falls_little_is_a_note(floor_known, data_at_hand):
    """A Cox likelihood (floor: the log of its risk sets) or a listwise ranking's soft
    targets fall a few percent and stop where they must; a loop cannot tell, and on steps
    that are not small, says so in a note (stress 21: told to lower a rate that gave the
    best C-index). A cross entropy on labels, or the Trainer's loss, is judged as before."""
    h = _curves(_history(), [3.6, 3.55, 3.52, 3.5, 3.49, 3.485, 3.48, 3.478])
    h.floor_known, h.data_at_hand = floor_known, data_at_hand
    finding = rules.slow_convergence(h, T)
    assert finding.severity == ("info" if not floor_known else "warning")
    assert ("not a cross entropy on labels" in finding.message) is not floor_known


@pytest.mark.parametrize(
    ("start", "penalty", "pulled"),
    [(0.58, Penalty(), True), (0.004, Penalty(), False), (0.58, Penalty(l1=1e-2), False)],
    ids=["pulled down", "drawn small", "penalty measured"],
)
def test_weights_the_loss_pulled_to_zero_are_named_by_their_shrinking(start, penalty, pulled):
    """Every hidden layer at a gain of 0.002 on a stalled loss: pulled there by the loss
    (a penalty written into it) where they started at 0.58, not where they were drawn that
    small; a penalty measured on the optimizer is `penalised`'s to name."""
    h = _curves(_history(probes=4), [9.8, 4.6, 2.3, 1.9, 1.64, 1.2, 1.05, 1.04, 1.035, 1.033])
    h.rows, h.penalty = [64, 64, 3], penalty
    for i, gain in enumerate([start, start / 3, start / 30, 0.002]):
        h.weight_norm[i] = np.full(3, gain) * np.sqrt(h.rows)
    finding = rules.pulled_to_zero(h, T)
    assert (finding is not None) == pulled
    if pulled:
        assert finding.code == "underfitting" and finding.evidence["gain_now"] == pytest.approx(
            0.002
        )


@pytest.mark.parametrize(
    ("growth", "outputs", "at_hand", "diverged"),
    [
        (1.0, 1.0, False, False),  # a loop's batches: the network has not moved
        (1.5, 1.0, False, True),  # its weights grew half again: a runaway
        (1.0, 3.0, False, True),  # its outputs tripled on unmoved weights (raw inputs)
        (1.0, 1.0, True, True),  # the Trainer's data is the same every epoch
    ],
)
def test_a_loss_ten_times_its_start_on_an_unmoved_network_is_the_batches(
    growth, outputs, at_hand, diverged
):
    """A DQN's TD loss meets its first rewards, 0.0014 to 0.015 in three steps of Adam at
    1e-3: told as a divergence, its rate was cut 1,000x and its success fell from 1.0 to
    0.125 (stress 26). A runaway moves the network with it."""
    h = _history(probes=3, loss=[0.0014, 0.015, 0.016])
    h.data_at_hand = at_hand
    h.weight_norm[-1] = np.full(3, growth)
    h.output_level = [0.1, 0.1, 0.1 * outputs]
    found = rules.divergence(h, T)
    assert (found is not None) == diverged, found


@pytest.mark.parametrize("rebuilt", [True, False])
def test_a_network_built_anew_starts_its_run_at_its_own_first_loss(rebuilt):
    """A regression whose initialisation blew its first loss up to 603, re-initialised by a
    remedy: its fresh history judges a flat 1.6 -> 1.5 as a loss that does not fall (slow),
    not as one at its floor (5% of 603), where no curve rule speaks. A remedy that keeps the
    weights carries the run's start on."""
    import torch

    from trainwell.health import Examiner

    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    examiner = Examiner(model, total_epochs=10)
    examiner.history.steps, examiner.history.loss = [0], [603.0]
    examiner.reset(model, 10, None, [], rebuilt=rebuilt)
    fresh = examiner.history
    assert math.isnan(fresh.run_start) if rebuilt else fresh.run_start == 603.0
    found = rules.slow_convergence(_curves(fresh, [1.6, 1.58, 1.55, 1.56, 1.53, 1.5]), T)
    assert (found is not None) == rebuilt, found


MEMORISING_TRAIN = [1.75, 1.70, 1.62, 1.5, 1.3, 0.9, 0.6, 0.35, 0.2, 0.12, 0.08, 0.06]
MEMORISING_VAL = [1.76, 1.72, 1.66, 1.6, 1.5, 1.45, 1.42, 1.44, 1.5, 1.47, 1.52, 1.49]


@pytest.mark.parametrize(
    ("train", "val", "found"),
    [
        (MEMORISING_TRAIN, MEMORISING_VAL, True),  # fits its rows, the val loss flat
        (MEMORISING_TRAIN, [v * 0.05 for v in MEMORISING_VAL], False),  # val 4% of chance's
        (MEMORISING_TRAIN[:8], MEMORISING_VAL[:8], False),  # its best 1 epoch ago
        ([*MEMORISING_TRAIN[:-2], 0.21, 0.2], MEMORISING_VAL, False),  # 0.2 * 10 above 1.42
        ([*MEMORISING_TRAIN[:-2], 0.14, 0.13], MEMORISING_VAL, True),  # 0.13 * 10 below it
        (MEMORISING_TRAIN, [*MEMORISING_VAL[:-1], 1.40], False),  # a new best: still learning
        ([*MEMORISING_TRAIN[:-1], -47.4], MEMORISING_VAL, False),  # run off below 0, no fit
        ([1.75, 1.6, 1.5, 1.45, 1.4, 1.38, 1.37, 1.36], [1.7, 1.6, 1.55, 1.5, 1.5, 1.52,
                                                        1.51, 1.52], False),  # no fit
    ],
)  # fmt: skip
def test_a_network_that_memorises_while_its_val_loss_stays_flat_overfits(train, val, found):
    """A CNN switched to Adam fit 1,300 crops (train loss 0.06) while its val loss stayed
    at 1.4-1.6 of ln 6's 1.79, never 20% above its best (held-out-38); a healthy digits
    MLP's 0.001 against 0.1 is 4% of knowing nothing's."""
    h = _curves(_history(), train, val)
    h.prior_loss = math.log(6)
    finding = rules.overfitting(h, T)
    assert (finding is not None) is found
    if found:
        assert "memorises its training data" in finding.message
        assert finding.evidence["best_epoch"] == 6 and "Use early stopping" in finding.message


def test_a_val_loss_risen_on_a_few_rows_is_no_overfitting():
    """A steady climb of the val loss beside a train loss that fell, on 30 validation rows.
    Made by one or two rows turning confidently wrong (a healthy iris MLP's 0.05 -> 0.128,
    held-out-41 seed 41020), it is no sign that the fit fails to carry. The same climb
    made by three rows, spread over the rows, or made by a third of them rising far while
    the rest grow surer (a network memorising noisy labels: heavy-tailed rises a paired
    t-test does not find) is overfitting, and so is the mean alone where the rows are
    unknown (a loop's validation, a loss of its own)."""
    train = [1.0, 0.5, 0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04]
    val = [0.9, 0.4, 0.2, 0.1, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.115, 0.128]
    rng = np.random.default_rng(0)
    base = rng.uniform(0.0, 0.1, 30)
    base += 0.05 - base.mean()  # the best epoch's rows, their mean 0.05

    def history(rows_of):
        h = _curves(_history(), train, val)
        h.val_rows = [rows_of(v) for v in val]
        return h

    def on_rows(k):  # every other row as at the best epoch; k rows carry the rise alike
        def rows(mean):
            out = base.copy()
            out[:k] += 30 * (mean - 0.05) / k
            return out

        return rows

    def spread(mean):  # every row rises alike, with noise of its own
        return base + (mean - 0.05) + rng.normal(0, 0.01, 30)

    tails = rng.exponential(1.0, 10) ** 3  # a third of the rows, heavy-tailed

    def memorised(mean):  # those rise far, the other 20 fall a little
        out = base.copy()
        out[:10] += tails / tails.sum() * (30 * (mean - 0.05) + 0.2)
        out[10:] -= 0.01
        return out

    assert rules.overfitting(history(on_rows(1)), T) is None
    assert rules.overfitting(history(on_rows(2)), T) is None
    assert rules.overfitting(history(on_rows(3)), T).code == "overfitting"
    assert rules.overfitting(history(spread), T).code == "overfitting"
    assert rules.overfitting(history(memorised), T).code == "overfitting"
    h = history(on_rows(1))
    h.val_rows = [np.empty(0) for _ in val]  # rows unknown: the mean speaks, as before
    assert rules.overfitting(h, T).code == "overfitting"


@pytest.mark.parametrize(
    ("carriers", "accuracy_after", "told"),
    [(6, 0.95, False), (6, 0.93, True), (12, 0.95, True), ("climbing", 0.95, True)],
    ids=["six-rows-accuracy-kept", "six-rows-accuracy-fell", "twelve-rows", "climbing"],
)
def test_a_val_loss_risen_on_under_two_percent_of_the_rows_at_kept_accuracy(
    carriers, accuracy_after, told
):
    """A healthy digits MLP under SGD (held-out-44, 360 validation rows): its val loss rose
    22% above its best, from 0.181 to 0.222, made by 4-5 rows turning confidently wrong
    while as many grew surer, the val accuracy 0.944 -> 0.95-0.956. Six rows of 360 making
    the rise at the best epoch's accuracy are no fit that fails to carry; the same rows
    with the accuracy fallen, twelve rows (3%), or six rows lifting it in each of the last
    five epochs (a steady climb, no passing confidence) are overfitting."""
    train = [1.0, 0.5, 0.3, 0.2, 0.15, 0.12, 0.1, 0.08, 0.07, 0.06, 0.05, 0.04]
    val = [0.7, 0.4, 0.25, 0.2, 0.181, 0.21, 0.2, 0.2, 0.205, 0.21, 0.218, 0.222]
    if carriers == "climbing":
        carriers, val[6:] = 6, [0.19, 0.195, 0.2, 0.205, 0.21, 0.222]
    accuracy = [0.8, 0.9, 0.93, 0.94, 0.944] + [accuracy_after] * 7
    base = np.random.default_rng(0).uniform(0.0, 0.3, 360)
    base += 0.181 - base.mean()  # the best epoch's rows

    def rows(mean):
        out = base.copy()
        out[:carriers] += 360 * (mean - 0.181) / carriers
        return out

    h = _curves(_history(), train, val)
    for row, value in zip(h.curves, accuracy, strict=True):
        row["val_accuracy"] = value
    h.val_rows = [rows(v) for v in val]
    finding = rules.overfitting(h, T)
    assert (finding is not None and finding.code == "overfitting") is told


def test_a_creeping_val_loss_on_steps_measured_large_is_told_to_lower_the_rate():
    """The validation loss falls in every epoch under a flat training loss: slow convergence.
    On steps of the usual size they are too small: raise the rate. On steps measured at 3.5%
    of the weights (a 12-layer ReLU MLP under SGD at 0.05, held-out-41) the training loss
    bounces where its steps cannot settle: the message says to lower the rate, as the
    Trainer's doctor tries first, not to raise it."""
    noisy = [1.05, 1.0, 1.01, 0.96, 0.96, 0.97, 0.93, 0.93, 0.92, 0.88, 0.85, 0.89, 0.84]
    noisy += [0.82, 0.81, 0.812, 0.809]
    steady = [0.834 * 0.985**i for i in range(len(noisy))]

    def told(step):
        h = _curves(_history(), noisy, steady)
        h.total_epochs = 40
        for row in h.update_ratio:
            row[:] = step
        return rules.slow_convergence(h, T)

    usual, large = told(1e-3), told(0.035)
    assert usual.evidence["rate_advice"] == "raise" and "its steps are too small" in usual.message
    assert (
        large.evidence["rate_advice"] == "lower" and "its steps are too small" not in large.message
    )
    assert "Lower the learning rate" in large.message


# a dice CNN of one 2-channel conv and a linear head, 14 epochs under one-cycle (0.43 test
# accuracy; 24-48 channels reach 0.94): its train loss still falling as the rate annealed
DICE_TRAIN = [1.852, 1.733, 1.570, 1.449, 1.296, 1.269, 1.153, 1.104, 1.064, 1.020, 1.005]
DICE_TRAIN += [0.976, 0.959, 0.950]
DICE_VAL = [1.815, 1.683, 1.746, 1.648, 1.563, 1.539, 1.542, 1.548, 1.578, 1.548, 1.536]
DICE_VAL += [1.538, 1.539, 1.530]
DICE_LR = [5e-4, 1.5e-3, 2.5e-3, 3e-3, 2.9e-3, 2.8e-3, 2.4e-3, 2e-3, 1.5e-3, 1.1e-3, 6e-4, 3e-4]
DICE_LR += [1e-4, 0.0]


@pytest.mark.parametrize(
    ("case", "found"),
    [
        ("stalled above the bar", True),
        ("within 1.2x of the bar", False),
        ("train loss far below the bar", False),  # memorised: overfitting's
        ("no convolution", False),  # an MLP on images
        ("a linear model on the pixels", True),
        ("val loss still falling", False),
        ("units dead", False),
    ],
)
def test_a_cnn_whose_val_loss_stalls_above_the_images_bar_underfits(case, found):
    """A CNN's val loss stalled at 1.53, 1.3x what a logistic regression on fixed random
    convolution features of the images reaches on unseen ones (the bar), its train loss
    0.95: it learned less from them than random filters give a linear model. Not where it
    is within 1.2x of the bar, fits its training images far better than the bar (it
    memorised them), is an MLP (a linear model on the pixels is told), still improves, or
    lost its units."""
    train, val, bar = list(DICE_TRAIN), list(DICE_VAL), 1.2
    dead = (0.05, 0.1)
    if case == "within 1.2x of the bar":
        bar = 1.3
    elif case == "train loss far below the bar":
        train = [v * 0.3 for v in train]
    elif case == "val loss still falling":  # to 1.31, still 1.3x a bar of 1.0
        val, bar = val[:10] + [val[9] * 0.96**k for k in range(1, 5)], 1.0
    elif case == "units dead":
        dead = (0.9, 0.1)
    h = _curves(_history(dead=dead), train, val)
    for row, lr in zip(h.curves, DICE_LR, strict=True):
        row["lr"] = lr
    h.total_epochs, h.bar_loss = 14, bar
    h.dense = [case == "no convolution", True, True]
    if case == "a linear model on the pixels":
        h.dense = [True]
    found_now = rules.short_of_the_bar(h, T)
    assert (found_now is not None) == found
    if found_now is not None:
        linear = case == "a linear model on the pixels"
        assert ("use a convolutional network" in found_now.message) == linear
    assert rules.underfitting(h, T) is None  # a plateau as the rate annealed says nothing


# a linear model on five classes of two clusters each, Adam at 2e-3 under cosine decay over
# 30 epochs: its first 14 (0.76 test accuracy at the end; an MLP reaches 0.92)
TWO_CLUSTER_TRAIN = [1.83, 1.599, 1.406, 1.258, 1.154, 1.068, 1.01, 0.946, 0.917, 0.882]
TWO_CLUSTER_TRAIN += [0.851, 0.843, 0.818, 0.809]
TWO_CLUSTER_VAL = [1.681, 1.484, 1.329, 1.214, 1.125, 1.057, 1.005, 0.965, 0.932, 0.906]
TWO_CLUSTER_VAL += [0.884, 0.866, 0.852, 0.84]


@pytest.mark.parametrize(
    ("case", "found"),
    [
        ("a linear model far above the reference", True),
        ("a linear model near the reference", False),  # as good as the data allows it
        ("an MLP", False),  # `underfitting`'s own rules judge it
        ("a linear model that fits", False),  # far below where it started
        ("val loss still falling", False),
    ],
)
def test_a_linear_model_stalled_far_above_the_tables_reference_underfits(case, found):
    """A linear model's val loss creeping down at 1.2-1.8% an epoch at 1.9x the 0.438 a
    logistic regression or kernel model reaches on unseen rows: told at epoch 13 to add a
    hidden layer, where `slow_convergence` told it at epoch 16 that its steps were too
    small. Not where it is within 1.2x of the reference, has hidden layers, fell far below
    its start, or still falls fast."""
    train, val, reference = list(TWO_CLUSTER_TRAIN), list(TWO_CLUSTER_VAL), 0.438
    dense = [True]
    if case == "a linear model near the reference":
        reference = 0.75
    elif case == "an MLP":
        dense = [True, True]
    elif case == "a linear model that fits":
        train, val = [v * 0.2 for v in train], [v * 0.2 for v in val]
        train[0], val[0] = TWO_CLUSTER_TRAIN[0], TWO_CLUSTER_VAL[0]
        reference = 0.08
    elif case == "val loss still falling":
        val = val[:10] + [val[9] * 0.9**k for k in range(1, 5)]
    h = _curves(_history(), train, val)
    h.total_epochs, h.reference_loss, h.dense = 30, reference, dense
    h.prior_loss = 1.609
    told = rules.short_of_the_bar(h, T)
    assert (told is not None) == found
    if told is not None:
        assert "add a hidden layer" in told.message
        assert told.evidence["reference_loss"] == reference


@pytest.mark.parametrize("dense", [[True], [True, True]])
def test_a_linear_model_short_of_the_reference_is_not_told_its_steps_are_too_small(dense):
    """At epoch 16 of 30 the two-cluster linear model's train loss looks stalled while its
    val loss still falls 1.2% an epoch: `slow_convergence` told it to raise the rate, after
    `underfitting` told it to add a hidden layer. A linear model short of the reference is
    underfitting's alone; the same curves from an MLP are still slow convergence."""
    train = [*TWO_CLUSTER_TRAIN, 0.786, 0.788, 0.779]
    val = [*TWO_CLUSTER_VAL, 0.829, 0.82, 0.812]
    h = _curves(_history(), train, val)
    h.total_epochs, h.reference_loss, h.dense, h.prior_loss = 30, 0.438, dense, 1.609
    h.data_at_hand = h.floor_known = True
    linear = dense == [True]
    assert (rules.short_of_the_bar(h, T) is not None) is linear
    assert (rules.slow_convergence(h, T) is None) is linear
