"""A policy-gradient loop: its surrogate loss (log-probabilities times centred advantages)
says nothing of progress, the return it reports does (as `val_accuracy=`, or by a name of
its own, `eval_return=`). A return that rose and held keeps the loss's swings from being
told as steps too large, and repair keeps the best return's weights; a score that swings,
or falls back, does not."""

import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from torch import nn

import trainwell
from trainwell.health import Thresholds
from trainwell.health._curve_base import loop_score
from trainwell.health._curve_rules import oscillating_loss
from trainwell.health._history import ProbeHistory

CELLS = 10  # a corridor: start at 0, reward 1 at the far end, -0.02 a step


def _episodes(policy: nn.Module, episodes: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-probabilities of the actions taken and the discounted returns after each."""
    log_probs, returns = [], []
    for _ in range(episodes):
        cell, rewards = 0, []
        for _ in range(30):
            state = nn.functional.one_hot(torch.tensor(cell), CELLS).float()
            actions = torch.distributions.Categorical(logits=policy(state))
            action = actions.sample()
            log_probs.append(actions.log_prob(action))
            cell = min(max(cell + (1 if action.item() == 1 else -1), 0), CELLS - 1)
            rewards.append(1.0 if cell == CELLS - 1 else -0.02)
            if cell == CELLS - 1:
                break
        ahead, episode = 0.0, []
        for reward in reversed(rewards):
            ahead = reward + 0.99 * ahead
            episode.append(ahead)
        returns += episode[::-1]
    return torch.stack(log_probs), torch.tensor(returns)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("score", ["val_accuracy", "eval_return"])
def test_a_reinforce_loop_that_solves_its_task_is_not_told_to_lower_its_rate(seed, score):
    """REINFORCE with centred, scaled advantages under Adam at 1e-2: the policy walks the
    corridor in the fewest steps after two epochs. Its surrogate loss swings towards 0 as
    the policy settles (told "steps too large to settle" before); its return, reported as
    val_accuracy or eval_return, rose and held."""
    torch.manual_seed(seed)
    policy = nn.Sequential(nn.Linear(CELLS, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    doctor = trainwell.Doctor(policy, optimizer, epochs=8, mode="repair")
    for _ in range(8):
        total, first_return = 0.0, 0.0
        for _ in range(10):
            log_probs, returns = _episodes(policy)
            advantages = (returns - returns.mean()) / (returns.std() + 1e-8)
            loss = -(log_probs * advantages).mean()
            optimizer.zero_grad()
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
            first_return += returns[0].item() / 10
        doctor.epoch_end(total / 10, **{score: first_return})
    doctor.close()
    returns = doctor.examiner.history.curve(score)
    assert returns[-1] > returns[0] + 0.3  # it learned
    told = [f for f in doctor.findings if f.severity != "info"]
    assert not [f for f in told if f.code == "oscillating_loss"], told
    best = doctor.repairer.best  # an oscillation is treated from the best return's weights
    assert (best.monitor, best.value) == (score, max(returns)) and not doctor.repairs


# a healthy DQN's epochs on a 5x5 gridworld (stress 31): its mean Huber TD loss, read on the
# transitions the policy collects, and its greedy return, which one evaluation dipped
# before it rose and held; told it oscillated, repair cut its rate from epoch 2, the lowest
# TD loss's and an untrained policy's (return 0.78 -> 0.20)
TD_LOSS = [0.0542, 0.0169, 0.0077, 0.0112, 0.0114, 0.0111, 0.0119, 0.0111, 0.0122, 0.0114, 0.0135]
RETURN = [-0.567, -0.542, -0.4, -0.637, -0.578, -0.407, 0.452, 0.841, 0.803, 0.805, 0.883]
FELL_BACK = [*RETURN[:7], -0.5, -0.6, -0.45, -0.55]
# its twin (Double DQN, rewards x10), told at epoch 5: the loss rises as the Q-values grow
# towards returns that had just taken off, after an exploring policy's swings
TWIN_LOSS = [11.57, 6.631, 3.297, 2.102, 2.385, 2.871]
TWIN_RETURN = [-0.567, -0.857, -0.4, -0.4, -0.347, 0.645]


@pytest.mark.parametrize(
    ("name", "score", "told", "losses"),
    [
        ("eval_return", RETURN, False, TD_LOSS),
        ("val_accuracy", RETURN, False, TD_LOSS),  # (its dip, unsmoothed, read as a fall)
        ("eval_return", None, True, TD_LOSS),  # nothing but the TD loss to read
        ("eval_return", FELL_BACK, True, TD_LOSS),  # a return that fell back where it began
        ("eval_regret", RETURN, True, TD_LOSS),  # a name that does not say higher is better
        ("eval_return", TWIN_RETURN, False, TWIN_LOSS),
        ("eval_return", None, True, TWIN_LOSS),
        ("train_accuracy", RETURN, True, TD_LOSS),  # the training data's: no score
        ("eval_return", [*RETURN[:-1], float("nan")], True, TD_LOSS),  # (not smoothed away)
    ],
)
def test_a_td_loss_beside_a_return_that_rose_and_held_is_no_oscillation(name, score, told, losses):
    h = ProbeHistory(layers=["net.0", "net.2"], activations=[], activation_kinds=[])
    h.total_epochs, h.floor_known, h.data_at_hand = 14, False, False
    for epoch, loss in enumerate(losses):
        h.curves.append({"epoch": epoch, "train_loss": loss, "lr": 5e-4})
        if score is not None:
            h.curves[-1][name] = score[epoch]
    finding = oscillating_loss(h, Thresholds())
    assert (finding is not None) == told


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_a_loop_whose_score_swings_with_its_loss_is_still_told_it_oscillates(arch):
    """Digits at a rate far too high (SGD at 2.0 with momentum 0.9, Adam at 0.1; tanh
    units), reporting only its validation accuracy, which swings with the loss: the
    oscillation stands."""
    torch.manual_seed(0)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    y = torch.tensor(y)
    if arch == "cnn":
        X = X.view(-1, 1, 8, 8)
        model = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(512, 10)
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    else:
        model = nn.Sequential(nn.Linear(64, 128), nn.Tanh(), nn.Linear(128, 10))
        optimizer = torch.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
    doctor = trainwell.Doctor(model, optimizer, epochs=12)
    for epoch in range(12):
        order = torch.randperm(1400, generator=torch.Generator().manual_seed(epoch))
        total = 0.0
        for i in range(0, 1400, 64):
            rows = order[i : i + 64]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[rows]), y[rows])
            loss.backward()
            doctor.step(loss)
            optimizer.step()
            total += loss.item()
        with torch.no_grad():
            accuracy = (model(X[1400:]).argmax(1) == y[1400:]).float().mean().item()
        doctor.epoch_end(total / 22, val_accuracy=accuracy)
    doctor.close()
    assert [f for f in doctor.findings if f.code == "oscillating_loss"], doctor.findings


@pytest.mark.parametrize(
    ("names", "score"),
    [
        (["train_loss", "val_loss", "eval_return"], "eval_return"),
        (["train_loss", "val_loss", "val_AUC", "val_accuracy"], "val_accuracy"),
        (["train_loss", "val_loss", "train_accuracy"], None),  # best where it memorised most
        (["train_loss", "val_loss_return", "cost_return", "eval_regret"], None),
        (["mean_reward"], "mean_reward"),
    ],
)
def test_a_loops_score_is_named_by_its_last_word_and_never_a_cost(names, score):
    assert loop_score(names) == score
