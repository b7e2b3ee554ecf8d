"""The weekly executive report: when it is due, and the job that queues it exactly once.

`reports.weekly.at` ('mon 08:00' in `timezone`) is when the report goes out; it covers the
seven local days that ended at midnight before it (for Monday 08:00: Monday to Sunday of the
week before). The job runs every few minutes and posts the latest due week if it has not been
posted: the outbox row's `dedupe_key` (`weekly:2026-W48`) is unique, and it is inserted in the
transaction that decides to post, so neither a restart nor a second replica posts a week
twice. A report more than `GRACE` late (the bot was down all that time) is skipped: last
week's figures on a Thursday help nobody, and the next week's report comes as usual.

The chart (`/social report`'s, for the week) is a second outbox row, queued in the same
transaction under its own key (`weekly-chart:2026-W48`): a `file` row shared in the report's
thread. It waits for the report's ts (`thread_of`), and the outbox uploads it at most once
(a lost answer is looked up by the file's name, not uploaded again). It keeps the week's days,
not the PNG: the picture is drawn when it is sent (`chart_upload`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules, Weekly
from bot.kit.db import session_scope
from bot.kit.models import OutboxMessage
from bot.outbox.queue import THREAD_OF, enqueue_many_once
from bot.reports.chart import chart_png, chart_title
from bot.reports.figures import DayRow, Report
from bot.reports.period import ReportPeriod
from bot.reports.queries import compute_report
from bot.slack.blocks.report import weekly_report_blocks

log = logging.getLogger(__name__)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
GRACE = timedelta(days=2)
OUTBOX_KIND = OutboxKind.ALERT  # a plain chat.postMessage to a channel, verifiable by its metadata
PAYLOAD_TYPE = "weekly_report"
CHART_KIND = OutboxKind.FILE  # files_upload_v2, in the report's thread
CHART_PAYLOAD_TYPE = "weekly_chart"
PRIORITY = "P3"  # not urgent, but never folded (only cards are)


@dataclass(frozen=True, slots=True)
class WeeklySlot:
    due: datetime  # aware UTC
    period: ReportPeriod
    week: str  # the reported ISO week, `2026-W48`

    @property
    def key(self) -> str:
        """The report's outbox dedupe key, one per reported week."""
        return f"weekly:{self.week}"

    @property
    def chart_key(self) -> str:
        return f"weekly-chart:{self.week}"


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
    return WeeklySlot(due.astimezone(UTC), period, f"{iso.year}-W{iso.week:02d}")


def _queued_keys(session: Session, keys: tuple[str, ...]) -> set[str]:
    return set(session.scalars(select(OutboxMessage.dedupe_key)
                               .where(OutboxMessage.dedupe_key.in_(keys))))


def chart_payload(report: Report, slot: WeeklySlot) -> dict[str, Any]:
    """The chart's outbox payload: the week's days (what the chart draws), JSON-ready."""
    return {"type": CHART_PAYLOAD_TYPE, THREAD_OF: slot.key,
            "filename": f"socialbot-weekly-{slot.week}.png", "title": chart_title(report),
            "days": [{"day": d.day.isoformat(), "sentiment": dict(d.sentiment),
                      "median_first_response": d.median_first_response} for d in report.days]}


def chart_upload(payload: dict[str, Any]) -> dict[str, Any]:
    """`chart_payload` → the files_upload_v2 arguments (the outbox renderer's answer)."""
    days = [DayRow(date.fromisoformat(d["day"]), {k: int(v) for k, v in d["sentiment"].items()},
                   d["median_first_response"]) for d in payload["days"]]
    return {"file": chart_png(days, payload["title"]), "filename": payload["filename"],
            "title": payload["title"]}


def run_weekly_report(factory: sessionmaker[Session], rules: Rules, now: datetime) -> bool:
    """Queue the weekly report and its chart if due and not queued yet; True when this call
    queued either. The outbox sender posts them (see `bot.slack.render`)."""
    weekly = rules.reports.weekly
    if weekly is None:
        return False
    slot = latest_slot(weekly, now)
    if now - slot.due > GRACE:
        return False
    keys = (slot.key, slot.chart_key)
    with session_scope(factory) as s:
        if _queued_keys(s, keys) == set(keys):
            return False
        report = compute_report(s, rules, slot.period, now=now, tz_name=weekly.timezone,
                                critical=True)
        content = weekly_report_blocks(report, rules.brand.name)
        row = {"channel": weekly.channel, "mention_id": None, "priority": PRIORITY,
               "state": "pending", "not_before": now, "created_at": now}
        # Each row under its own key, ON CONFLICT DO NOTHING: a second run or replica queues
        # nothing, and a week whose report was queued without a chart (before charts) gets one.
        queued = enqueue_many_once(s, [
            {**row, "kind": OUTBOX_KIND, "payload": {"type": PAYLOAD_TYPE, **content},
             "dedupe_key": slot.key},
            {**row, "kind": CHART_KIND, "payload": chart_payload(report, slot),
             "dedupe_key": slot.chart_key}])
    if not queued:
        return False
    log.info("weekly report %s queued for %s (%d mentions): %s", slot.week, weekly.channel,
             report.total, ", ".join(sorted(queued)))
    return True
