"""Architectures built from config, initialisation schemes, transfer (init_from)."""

from ._build import ACTIVATIONS, Network, build_model
from ._init import initialise
from ._transfer import Transfer, head_names, init_from, read_weights

__all__ = [
    "ACTIVATIONS",
    "Network",
    "Transfer",
    "build_model",
    "head_names",
    "init_from",
    "initialise",
    "read_weights",
]
