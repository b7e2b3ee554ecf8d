"""Each source's health (bot.domain.health) from what the poller stored on its `source` row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.health import SourceHealth, health_state
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.listening.polling import reads_this_month


def source_health(session: Session, rules: Rules, now: datetime, *,
                  with_reads: bool = True) -> list[SourceHealth]:
    """Every source of the rules (disabled or never polled too), in the rules' order;
    `with_reads`: X posts read this month and their cost (one query per X source)."""
    rows = {s.id: s for s in session.scalars(select(models.Source))}
    out = []
    for spec in rules.sources:
        row = rows.get(spec.id)
        is_x = spec.network == "x"
        reads = reads_this_month(session, spec.id, now) if row and is_x and with_reads else 0
        out.append(SourceHealth(
            id=spec.id, type=spec.type,
            state=health_state(
                enabled=spec.enabled,
                last_success_at=row.last_success_at if row else None,
                last_error_at=row.last_error_at if row else None,
                unhealthy_reason=row.unhealthy_reason if row else None,
                next_run_at=row.next_run_at if row else None, now=now),
            last_success_at=row.last_success_at if row else None,
            last_error_at=row.last_error_at if row else None,
            last_error=row.last_error if row else None,
            unhealthy_reason=row.unhealthy_reason if row else None,
            next_run_at=row.next_run_at if row else None,
            reads_this_month=reads,
            cost_this_month=reads * spec.cost_per_read if is_x and with_reads else None,
            monthly_budget=spec.monthly_budget if is_x else None))
    return out
