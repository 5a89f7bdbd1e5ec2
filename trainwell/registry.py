"""`trainwell.registry`: the model registry (see `trainwell.deploy.registry`)."""

from .deploy.registry import *  # noqa: F403
from .deploy.registry import __all__  # noqa: F401
