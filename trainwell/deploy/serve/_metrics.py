"""Prometheus metrics of one service (prometheus-client): requests by status, latency,
validation failures, the version served, model swaps.

Each app gets its own registry (tests start several); with several workers,
`PROMETHEUS_MULTIPROC_DIR` is set before they start and `/metrics` adds up their files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    registry: Any
    requests: Any
    latency: Any
    validation: Any
    version: Any
    swaps: Any

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def make_metrics() -> Metrics:
    from prometheus_client import (
        CollectorRegistry,
        Counter,
        Gauge,
        Histogram,
        disable_created_metrics,
    )

    disable_created_metrics()  # no `_created` twin of every series: the service owns the process
    registry = CollectorRegistry()
    metrics = Metrics(
        registry,
        Counter("trainwell_requests", "HTTP requests by path and status.", ["path", "status"],
                registry=registry),
        Histogram("trainwell_request_seconds", "Request latency in seconds.", ["path"],
                  buckets=LATENCY_BUCKETS, registry=registry),
        Counter("trainwell_validation_failures", "Requests refused with 422, by error type.",
                ["type"], registry=registry),
        Gauge("trainwell_model_version", "The registry version being served.", ["name"],
              registry=registry, multiprocess_mode="liveall"),
        Counter("trainwell_model_swaps", "Model swaps by outcome.", ["outcome"],
                registry=registry),
    )  # fmt: skip
    for outcome in ("done", "refused", "failed"):  # shown at 0 before the first swap
        metrics.swaps.labels(outcome)
    return metrics
