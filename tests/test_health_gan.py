"""A WGAN-GP loop with the doctor on the critic: the generator's step backpropagates
through the critic, writing into its `.grad`, which the critic's optimizer clears before its
own backward. Neither that nor the game's units are the critic's bugs to treat alone."""

import math

import pytest
import torch
from torch import nn

import trainwell


def _wgan_gp(zero_critic: str, mode: str = "detect", steps: int = 300) -> trainwell.Doctor:
    """2-D ring of 8 Gaussians; a ReLU critic ending in a sigmoid (stress 24's c19), 5 critic
    steps per generator step, a gradient penalty of 10 through `create_graph=True`. The
    critic's `.grad` cleared to None (`zero_critic="none"`), zeroed in place ("zeros") or
    never ("")."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    G = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), nn.Linear(64, 2))
    C = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
    C.extend([nn.Linear(128, 1), nn.Sigmoid()])
    oG = torch.optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.9))
    oC = torch.optim.Adam(C.parameters(), 1e-3, betas=(0.5, 0.9))
    doctor = trainwell.Doctor(C, oC, mode=mode)

    def real(n):
        angle = torch.randint(0, 8, (n,), generator=g).float() * (2 * math.pi / 8)
        ring = torch.stack([2 * angle.cos(), 2 * angle.sin()], 1)
        return ring + 0.05 * torch.randn(n, 2, generator=g)

    total = 0.0
    for it in range(steps):
        for _ in range(5):
            x, fake = real(64), G(torch.randn(64, 8, generator=g)).detach()
            e = torch.rand(64, 1, generator=g)
            mixed = (e * x + (1 - e) * fake).requires_grad_(True)
            slope = torch.autograd.grad(C(mixed).sum(), mixed, create_graph=True)[0]
            loss = C(fake).mean() - C(x).mean() + 10 * ((slope.norm(dim=1) - 1) ** 2).mean()
            if zero_critic:
                oC.zero_grad(set_to_none=zero_critic == "none")
            loss.backward()
            doctor.step(loss)
            oC.step()
            total += loss.item()
        generator_loss = -C(G(torch.randn(64, 8, generator=g))).mean()
        oG.zero_grad()
        generator_loss.backward()  # into the critic's .grad too
        oG.step()
        if it % 50 == 49:
            doctor.epoch_end(total / 250)
            total = 0.0
    return doctor


@pytest.mark.parametrize("zero_critic", ["none", "zeros", ""])
def test_gradients_the_generator_leaves_in_a_cleared_critic_are_not_stale(zero_critic):
    doctor = _wgan_gp(zero_critic)
    stale = [f for f in doctor.findings if f.code == "stale_gradients"]
    assert bool(stale) == (not zero_critic), doctor.findings


def test_units_lost_in_one_player_of_a_game_are_told_not_treated_by_its_rate():
    doctor = _wgan_gp(zero_critic="none", mode="repair")
    dead = [f for f in doctor.findings if f.code == "dying_relu"]
    assert dead and all(f.evidence["other_optimizer"] == "Adam" for f in dead), doctor.findings
    assert not [r for r in doctor.repairs if r["finding"] == "dying_relu"], doctor.repairs
