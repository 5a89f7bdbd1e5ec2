"""Contrastive losses scored against keys the loss does not train (MoCo's queue of a
momentum encoder's keys, a memory bank): the keys move as the network learns, and the loss
rises and falls with them by design. Read from the loss's autograd graph at the looks; an
oscillation of such a loss is told as information, not treated."""

from __future__ import annotations

import torch

from ..findings import Finding
from ._history import ProbeHistory
from ._loss_graph import PRODUCTS, SCORES_NODES, TO_THE_SCORES, _cross_entropy, _input


def scored_against_keys(loss: torch.Tensor) -> bool:
    """Whether the loss is a cross entropy of logits the network's outputs make with keys
    the loss does not train, joined to other logits (InfoNCE's positive beside a product
    with a constant matrix: MoCo's queue of a momentum encoder's keys, a memory bank): the
    keys move as the network learns, and the loss its steps minimise moves with them (a
    contrastive loss rises and falls by design). A product with a constant alone is a
    frozen head or fixed prototypes (review), whose keys do not move."""
    node = _cross_entropy(loss)
    queue, seen = [(_input(node), False)] if node is not None else [], 0
    while queue and seen < SCORES_NODES:
        node, joined = queue.pop(0)
        seen += 1
        if node is None:
            continue
        sides = [n for n, _ in node.next_functions]
        if node.name().startswith(PRODUCTS):
            if joined and len(sides) == 2 and sum(n is None for n in sides) == 1:
                return True
            continue
        if node.name().startswith(TO_THE_SCORES):
            joined = joined or node.name().startswith("CatBackward")
            queue.extend((n, joined) for n in sides if n is not None)
    return False


def moving_keys(finding: Finding, history: ProbeHistory) -> None:
    """An oscillating loss of a cross entropy the loop scores against keys the loss does not
    train (`scored_against_keys`: MoCo's queue of a momentum encoder's keys, a
    memory bank): the keys move as the network learns, and the loss rises and falls with
    them by design. Told as information, not treated (a lower rate left a MoCo loop's probe
    accuracy where it was, 0.88, on three seeds: stress 23)."""
    if finding.code != "oscillating_loss" or finding.severity == "info":
        return
    if not history.scored_against_keys:
        return
    finding.severity = "info"
    finding.evidence["moving_keys"] = True
    finding.message += (
        " Its cross entropy scores the outputs against keys this loss does not train (a "
        "queue, a momentum encoder's): they move as the network learns, and a contrastive "
        "loss rises and falls with them; this is no overshoot, and repair leaves the rate "
        "alone."
    )
