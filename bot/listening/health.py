"""Each source's health (bot.domain.health) from what the poller stored on its `source` row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.health import SourceHealth, health_state
from bot.domain.redaction import redact
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.listening.polling import reads_this_month
from bot.listening.quarantine import quarantined_per_source
from bot.networks.gaps import describe, urgent_reads


def source_health(session: Session, rules: Rules, now: datetime, *,
                  with_reads: bool = True) -> list[SourceHealth]:
    """Every source of the rules (disabled or never polled too), in the rules' order;
    `with_reads`: X posts read this month and their cost (one query per X source)."""
    rows = {s.id: s for s in session.scalars(select(models.Source))}
    quarantined = quarantined_per_source(session)
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
            # Errors quote URLs (a feed's, with its login): redacted here, for every reader.
            last_error=redact(row.last_error) if row and row.last_error else None,
            unhealthy_reason=(redact(row.unhealthy_reason) if row and row.unhealthy_reason
                              else None),
            next_run_at=row.next_run_at if row else None,
            reads_this_month=reads,
            cost_this_month=reads * spec.cost_per_read if is_x and with_reads else None,
            monthly_budget=spec.monthly_budget if is_x else None,
            quarantined=quarantined[spec.id].posts if spec.id in quarantined else 0,
            quarantine_reason=(quarantined[spec.id].last_reason if spec.id in quarantined
                               else None),
            gap_since=row.backfill_since if row and row.backfill else None,
            gap=describe(row.backfill) if row and row.backfill else None,
            gap_reads=row.backfill_reads if row and row.backfill else 0,
            gap_urgent=urgent_reads(row.backfill) if row and row.backfill else 0,
            gap_cost=(row.backfill_reads * spec.cost_per_read if row and row.backfill and is_x
                      else None),
            # YouTube counts quota units, not posts (`Fetch.reads` of its source).
            gap_unit="quota units spent" if spec.type == "youtube_comments" else "posts read"))
    return out
