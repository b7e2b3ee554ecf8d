"""Prometheus metrics of one process, in their own registry (tests build as many as they like)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.up = Gauge("socialbot_up", "1 while the bot is serving", registry=self.registry)
        self.up.set(1)
