"""Architectures built from config, and initialisation schemes."""

from ._build import ACTIVATIONS, Network, build_model
from ._init import initialise

__all__ = ["ACTIVATIONS", "Network", "build_model", "initialise"]
