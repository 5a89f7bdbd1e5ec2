"""The HTTP service: a registry version or a run directory behind FastAPI + uvicorn, with
a request schema from the run's `data.json`, bearer-token auth, a body limit, Prometheus
metrics, a sampled request log, and hot swaps when the served alias moves.

fastapi, uvicorn and prometheus-client are the `serve` extra: pip install "trainwell[serve]".
"""

from ._app import Settings, create_app
from ._model import Served, encode_rows, load_served
from ._serve import make_settings, read_token, serve, serving

__all__ = [
    "Served",
    "Settings",
    "create_app",
    "encode_rows",
    "load_served",
    "make_settings",
    "read_token",
    "serve",
    "serving",
]
