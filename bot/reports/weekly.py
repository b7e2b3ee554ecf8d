"""The weekly executive report: when it is due, and the job that queues it exactly once.

`reports.weekly.at` ('mon 08:00' in `timezone`) is when the report goes out; it covers the
seven local days that ended at midnight before it (for Monday 08:00: Monday to Sunday of the
week before). The job runs every few minutes and posts the latest due week if it has not been
posted: the outbox row's `dedupe_key` (`weekly:2026-W48`) is unique, and it is inserted in the
transaction that decides to post, so neither a restart nor a second replica posts a week
twice. A report more than `GRACE` late (the bot was down all that time) is skipped: last
week's figures on a Thursday help nobody, and the next week's report comes as usual.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.report import weekly_report_blocks
from bot.db import session_scope
from bot.models import OutboxMessage
from bot.reports.period import ReportPeriod
from bot.reports.queries import compute_report
from bot.rules_schema import Rules, Weekly

log = logging.getLogger(__name__)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRACE = timedelta(days=2)
OUTBOX_KIND = "alert"  # a plain chat.postMessage to a channel, verifiable by its metadata
PAYLOAD_TYPE = "weekly_report"
PRIORITY = "P3"  # not urgent, but never folded (only cards are)


@dataclass(frozen=True, slots=True)
class WeeklySlot:
    due: datetime  # aware UTC
    period: ReportPeriod
    key: str  # the outbox dedupe key, one per reported week


def latest_slot(weekly: Weekly, now: datetime) -> WeeklySlot:
    """The most recent due time at or before `now`, and the week it reports on."""
    tz = ZoneInfo(weekly.timezone)
    day_name, hhmm = weekly.at.split()
    hour, minute = (int(p) for p in hhmm.split(":"))
    local_now = now.astimezone(tz)
    day = local_now.date() - timedelta(days=(local_now.weekday() - WEEKDAYS.index(day_name)) % 7)
    due = datetime.combine(day, time(hour, minute), tzinfo=tz)
    if due > local_now:
        day -= timedelta(days=7)
        due = datetime.combine(day, time(hour, minute), tzinfo=tz)
    first = day - timedelta(days=7)
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    last = day - timedelta(days=1)
    period = ReportPeriod(start, end, f"{first:%Y-%m-%d}..{last:%Y-%m-%d}", timedelta(days=7))
    iso = first.isocalendar()
    return WeeklySlot(due.astimezone(UTC), period,
                      f"weekly:{iso.year}-W{iso.week:02d}")


def _already_queued(session: Session, key: str) -> bool:
    return session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) \
        is not None


def run_weekly_report(factory: sessionmaker[Session], rules: Rules, now: datetime) -> bool:
    """Queue the weekly report if it is due and not queued yet; True when this call queued it.
    The outbox sender posts it (see `bot.render`)."""
    weekly = rules.reports.weekly
    if weekly is None:
        return False
    slot = latest_slot(weekly, now)
    if now - slot.due > GRACE:
        return False
    try:
        with session_scope(factory) as s:
            if _already_queued(s, slot.key):
                return False
            report = compute_report(s, rules, slot.period, now=now, tz_name=weekly.timezone,
                                    critical=True)
            content = weekly_report_blocks(report, rules.brand.name)
            s.add(OutboxMessage(kind=OUTBOX_KIND, channel=weekly.channel, priority=PRIORITY,
                                payload={"type": PAYLOAD_TYPE, **content}, state="pending",
                                not_before=now, created_at=now, dedupe_key=slot.key))
    except IntegrityError:  # another replica queued this week between our check and insert
        return False
    log.info("weekly report %s queued for %s (%d mentions)", slot.key, weekly.channel,
             report.total)
    return True
