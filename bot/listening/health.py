"""Source health as people read it: `socialbot check --live`, later App Home and /social status."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy.orm import Session

from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.listening.polling import reads_this_month


@dataclass(frozen=True, slots=True)
class SourceHealth:
    source_id: str
    type: str
    state: str  # never polled | healthy | waiting | parked
    last_success_at: datetime | None
    last_error: str | None
    next_run_at: datetime | None
    reads_this_month: int
    cost_this_month: float | None  # USD, X only
    monthly_budget: float | None

    def line(self) -> str:
        parts = [f"{self.source_id} ({self.type}): {self.state}"]
        if self.last_success_at:
            parts.append(f"last success {self.last_success_at:%Y-%m-%d %H:%M}Z")
        if self.next_run_at and self.state == "waiting":
            parts.append(f"next poll {self.next_run_at:%Y-%m-%d %H:%M}Z")
        if self.cost_this_month is not None:
            budget = f" of ${self.monthly_budget:.2f}" if self.monthly_budget else ""
            parts.append(f"{self.reads_this_month:,} posts read this month, "
                         f"${self.cost_this_month:.2f}{budget}")
        if self.last_error:
            parts.append(f"last error: {self.last_error}")
        return "; ".join(parts)


def source_health(session: Session, rules: Rules, now: datetime) -> list[SourceHealth]:
    out = []
    for spec in rules.sources:
        row = session.get(models.Source, spec.id)
        reads = reads_this_month(session, spec.id, now) if row else 0
        if row is None or (row.last_success_at is None and row.last_error_at is None):
            state = "never polled"
        elif row.unhealthy_reason:
            state = f"parked ({row.unhealthy_reason})"
        elif row.next_run_at and row.next_run_at > now:
            state = "waiting"
        else:
            state = "healthy"
        is_x = spec.network == "x"
        out.append(SourceHealth(
            spec.id, spec.type, state, row.last_success_at if row else None,
            row.last_error if row else None, row.next_run_at if row else None, reads,
            reads * spec.cost_per_read if is_x else None, spec.monthly_budget if is_x else None))
    return out


def health_app(healthy: Callable[[], tuple[bool, str]], registry: CollectorRegistry) -> Callable:
    """WSGI: GET /healthz and GET /metrics, 404 for anything else. For Socket Mode, where no
    Slack endpoint may be served: unsigned requests must never reach the Bolt app."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if method == "GET" and path == "/healthz":
            ok, detail = healthy()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [detail.encode()]
        if method == "GET" and path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(registry)]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found"]

    return application
