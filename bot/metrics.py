"""Prometheus metrics of one process, in their own registry (tests build as many as they like)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.polling import PollOutcome


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.up = Gauge("socialbot_up", "1 while the bot is serving", registry=r)
        self.up.set(1)
        self.mentions_ingested = Counter(
            "socialbot_mentions_ingested", "New mentions stored", ["source"], registry=r)
        self.duplicates = Counter(
            "socialbot_mentions_duplicate", "Fetched mentions already stored", ["source"],
            registry=r)
        self.polls = Counter("socialbot_polls", "Polls by outcome", ["source", "status"],
                             registry=r)
        self.poll_seconds = Histogram("socialbot_poll_seconds", "Time to fetch one source",
                                      ["source"], registry=r)
        self.posts_read = Counter("socialbot_posts_read", "Posts read (X bills per read)",
                                  ["source"], registry=r)
        self.outbox_depth = Gauge("socialbot_outbox_depth", "Slack posts waiting to be sent",
                                  registry=r)

    def record_poll(self, outcome: PollOutcome) -> None:
        self.polls.labels(outcome.source_id, outcome.status).inc()
        if outcome.status not in ("skipped", "budget"):
            self.poll_seconds.labels(outcome.source_id).observe(outcome.seconds)
        self.mentions_ingested.labels(outcome.source_id).inc(outcome.new)
        self.duplicates.labels(outcome.source_id).inc(outcome.duplicates)
        self.posts_read.labels(outcome.source_id).inc(outcome.reads)

    def watch_outbox(self, depth: Callable[[], int]) -> None:
        """Read the outbox depth from the database at scrape time."""
        self.outbox_depth.set_function(depth)
