"""How a source is doing, as people read it: `socialbot check --live`, `/social status` and the
App Home show the same `SourceHealth`, decided once by `health_state`. PURE."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class HealthState(StrEnum):
    NEVER_POLLED = "never polled"
    HEALTHY = "healthy"
    FAILING = "failing"  # its last poll failed; it is retried at its `every`
    WAITING = "waiting"  # told to wait (rate limit, backoff, budget) until `next_run_at`
    PARKED = "parked"  # credentials refused: nothing is polled until the rules are reloaded
    DISABLED = "disabled"  # `enabled: false` in the rules


def health_state(*, enabled: bool, last_success_at: datetime | None,
                 last_error_at: datetime | None, unhealthy_reason: str | None,
                 next_run_at: datetime | None, now: datetime) -> HealthState:
    if not enabled:
        return HealthState.DISABLED
    if last_success_at is None and last_error_at is None:
        return HealthState.NEVER_POLLED
    if unhealthy_reason:
        return HealthState.PARKED
    if next_run_at is not None and next_run_at > now:
        return HealthState.WAITING
    if last_error_at is not None and (last_success_at is None or last_error_at > last_success_at):
        return HealthState.FAILING
    return HealthState.HEALTHY


@dataclass(frozen=True, slots=True)
class SourceHealth:
    id: str
    type: str
    state: HealthState
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None  # untrusted (a network's error text)
    unhealthy_reason: str | None = None  # why it is parked
    next_run_at: datetime | None = None
    reads_this_month: int = 0
    cost_this_month: float | None = None  # USD, X only
    monthly_budget: float | None = None
    quarantined: int = 0  # posts kept aside: unparseable or unstorable (bot.listening.quarantine)
    quarantine_reason: str | None = None  # the newest one's (untrusted)
    gap_since: datetime | None = None  # a page cap left posts unread; later polls backfill them
    gap: str | None = None  # what is unread, in words ("posts older than 1853…")
    gap_reads: int = 0  # posts read so far to close it
    gap_cost: float | None = None  # their cost (USD, X only)
    gap_urgent: int = 0  # of `gap_reads`, read by the urgent search for P1s (X)
    gap_unit: str = "posts read"  # what `gap_reads` counts (YouTube: the quota units it spent)

    @property
    def label(self) -> str:
        """The state as one phrase: "parked (401 from X: …)"."""
        if self.state is HealthState.PARKED and self.unhealthy_reason:
            return f"parked ({self.unhealthy_reason})"
        return self.state.value

    def line(self) -> str:
        """One line of `socialbot check --live`."""
        parts = [f"{self.id} ({self.type}): {self.label}"]
        if self.last_success_at:
            parts.append(f"last success {self.last_success_at:%Y-%m-%d %H:%M}Z")
        if self.next_run_at and self.state is HealthState.WAITING:
            parts.append(f"next poll {self.next_run_at:%Y-%m-%d %H:%M}Z")
        if self.cost_this_month is not None:
            budget = f" of ${self.monthly_budget:.2f}" if self.monthly_budget else ""
            parts.append(f"{self.reads_this_month:,} posts read this month, "
                         f"${self.cost_this_month:.2f}{budget}")
        if self.gap_since:
            parts.append(self.gap_line())
        if self.quarantined:
            parts.append(self.quarantine_line())
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        return "; ".join(parts)

    def gap_line(self) -> str:
        cost = f" (${self.gap_cost:.2f})" if self.gap_cost is not None else ""
        since = f"{self.gap_since:%Y-%m-%d %H:%M}Z" if self.gap_since else "?"
        urgent = (f", {self.gap_urgent:,} of them by the urgent search for P1s"
                  if self.gap_urgent else "")
        return (f"backfilling a gap since {since}: {self.gap or 'older posts'} not read yet, "
                f"{self.gap_reads:,} {self.gap_unit} to close it{cost}{urgent}")

    def quarantine_line(self) -> str:
        why = f" (newest: {self.quarantine_reason})" if self.quarantine_reason else ""
        return f"{self.quarantined:,} post(s) quarantined{why}"
