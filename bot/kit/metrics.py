"""Prometheus metrics of one process, in their own registry (tests build as many as they like)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bot.domain.outbox import OutboxTrouble


class PollFigures(Protocol):
    """What one poll reports (`bot.listening.polling.PollOutcome`)."""

    @property
    def source_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def new(self) -> int: ...
    @property
    def duplicates(self) -> int: ...
    @property
    def reads(self) -> int: ...
    @property
    def seconds(self) -> float: ...


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
        self.outbox_oldest = Gauge("socialbot_outbox_oldest_seconds",
                                   "Age of the oldest Slack post not yet sent", registry=r)
        # Rows not moving: parked behind an error a person must fix, failed for good lately.
        self.outbox_parked = Gauge("socialbot_outbox_parked",
                                   "Slack posts held back until their cause is fixed", registry=r)
        self.outbox_parked_oldest = Gauge(
            "socialbot_outbox_parked_oldest_seconds", "Age of the oldest parked Slack post",
            registry=r)
        self.outbox_failed = Gauge("socialbot_outbox_failed",
                                   "Slack posts that failed for good in the last 24 h",
                                   registry=r)
        self.outbox_failed_oldest = Gauge(
            "socialbot_outbox_failed_oldest_seconds",
            "Age of the oldest Slack post that failed in the last 24 h", registry=r)
        self.slack_errors = Counter("socialbot_slack_errors",
                                    "Failed Slack calls of the outbox by error code", ["code"],
                                    registry=r)
        # Buckets around Slack's 3 s limit and the 250 ms target of bench/desk.py.
        self.slack_ack_seconds = Histogram(
            "socialbot_slack_ack_seconds", "Time to answer a Slack request (its ack)",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0), registry=r)
        self.sla_overdue = Gauge("socialbot_sla_overdue",
                                 "Open mentions past their reply's due time", registry=r)
        self.leader = Gauge("socialbot_leader",
                            "1 while this process runs the pollers and timers", registry=r)

    def record_poll(self, outcome: PollFigures) -> None:
        self.polls.labels(outcome.source_id, outcome.status).inc()
        if outcome.status not in ("skipped", "budget"):
            self.poll_seconds.labels(outcome.source_id).observe(outcome.seconds)
        self.mentions_ingested.labels(outcome.source_id).inc(outcome.new)
        self.duplicates.labels(outcome.source_id).inc(outcome.duplicates)
        self.posts_read.labels(outcome.source_id).inc(outcome.reads)

    def watch_outbox(self, depth: Callable[[], int],
                     oldest: Callable[[], float] | None = None, *,
                     trouble: Callable[[], OutboxTrouble] | None = None,
                     clock: Callable[[], datetime] | None = None) -> None:
        """Read the outbox depth (and the oldest post's age, parked and failed rows) from the
        database at scrape time."""
        self.outbox_depth.set_function(depth)
        if oldest is not None:
            self.outbox_oldest.set_function(oldest)
        if trouble is None or clock is None:
            return
        now, read = clock, trouble

        def age(since: datetime | None) -> float:
            return max(0.0, (now() - since).total_seconds()) if since else 0.0

        self.outbox_parked.set_function(lambda: read().parked_rows)
        self.outbox_parked_oldest.set_function(lambda: age(read().parked_since))
        self.outbox_failed.set_function(lambda: read().failed)
        self.outbox_failed_oldest.set_function(lambda: age(read().failed_since))

    def watch(self, *, overdue: Callable[[], int], leading: Callable[[], bool]) -> None:
        """SLA breaches open now, and leadership, read at scrape time."""
        self.sla_overdue.set_function(overdue)
        self.leader.set_function(lambda: 1.0 if leading() else 0.0)

    def slack_error(self, code: str) -> None:
        self.slack_errors.labels(code).inc()
