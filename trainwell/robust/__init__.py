"""Robustness: attack a trained classifier within an ε-ball (FGSM, PGD, a gradient-free
random search), check that the evaluation is not fooled by gradient masking, and report
robust accuracy against ε. Adversarial training itself is the Trainer's
(`trainwell.train.AdversarialTraining`, `train.adversarial` in a config)."""

from ._attack import DEFAULT_EPS, Robustness, attack
from ._checks import Check, Measurement

__all__ = ["DEFAULT_EPS", "Check", "Measurement", "Robustness", "attack"]
