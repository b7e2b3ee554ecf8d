"""SLA timers: when a reply is due, and when to remind. PURE: no I/O, no clock.

A team's `sla` gives the time allowed per priority (`{P1: 15m, …}`). With `business_hours`
the clock only runs inside them, in the team's time zone: a P2 (1 h) mention arriving at
16:30 on a Friday, office hours 09:00–17:00 Mon–Fri, is due Monday 09:30. Without
business hours the clock always runs.

Each timer has two stages: a reminder when 75 % of the allowed time has run (business time
when the team has business hours, so a reminder never falls in the night), and an escalation
at the due time. `bot.timers.sla` stores the next stage's time in `mention.sla_next_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.rules.schema import WEEKDAYS, BusinessHours, Rules

REMIND_AT = 0.75  # the share of the allowed time after which the holder is reminded
# A week without one open window (e.g. `days: []`, or a window lost to a DST gap every
# day) means the clock never runs: "never due" rather than searched forever.
MAX_CLOSED_DAYS = 8


class Stage(StrEnum):
    NONE = "none"  # not yet 75 %
    REMIND = "remind"  # 75 % of the time has run
    BREACH = "breach"  # overdue


@dataclass(frozen=True, slots=True)
class Timer:
    due_at: datetime
    remind_at: datetime


def allowed(rules: Rules, team: str, priority: str) -> timedelta | None:
    """The time the team has for a mention of `priority`; None: no SLA (no timer)."""
    t = rules.teams.get(team)
    return t.sla.get(priority) if t is not None else None  # type: ignore[call-overload]


def timer(rules: Rules, team: str, priority: str, at: datetime) -> Timer | None:
    """Both stages for a mention of `team` and `priority` that arrived `at` (aware)."""
    span = allowed(rules, team, priority)
    if span is None:
        return None
    hours = rules.teams[team].business_hours
    due = add_time(at, span, hours)
    remind = add_time(at, span * REMIND_AT, hours)
    if due is None or remind is None:
        return None
    return Timer(due_at=due, remind_at=remind)


def due_at(rules: Rules, team: str, priority: str, at: datetime) -> datetime | None:
    """When the reply to a mention of `team` and `priority` that arrived `at` is due."""
    t = timer(rules, team, priority, at)
    return t.due_at if t else None


def remind_at(rules: Rules, team: str, priority: str, at: datetime) -> datetime | None:
    """When its holder is reminded: after 75 % of the allowed (business) time."""
    t = timer(rules, team, priority, at)
    return t.remind_at if t else None


def timer_columns(rules: Rules, team: str, priority: str,
                  at: datetime) -> dict[str, datetime | None]:
    """`mention.sla_due_at` and `mention.sla_next_at` (the reminder first) for a timer
    started `at`: keyword arguments for the Mention constructor or an UPDATE."""
    t = timer(rules, team, priority, at)
    return {"sla_due_at": t.due_at if t else None, "sla_next_at": t.remind_at if t else None}


def is_overdue(due: datetime | None, now: datetime) -> bool:
    """The one rule: a reply is overdue from its due time on (`now >= due`). Its SQL twin is
    `bot.kit.models.Mention.overdue(now)`."""
    return due is not None and now >= due


def stage(now: datetime, remind: datetime | None, due: datetime | None) -> Stage:
    if due is None:
        return Stage.NONE
    if is_overdue(due, now):
        return Stage.BREACH
    if remind is not None and now >= remind:
        return Stage.REMIND
    return Stage.NONE


# --- business time ----------------------------------------------------------------------------

def _hhmm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def _open_windows(start_day: date, hours: BusinessHours, tz: ZoneInfo):
    """(open, close) in UTC for each business day from `start_day` on, in order.

    `end` at or before `start` means the shift runs past midnight (22:00–06:00). Local times
    are resolved by zoneinfo, so a DST change shortens or lengthens that day's window."""
    days = {WEEKDAYS.index(d) for d in hours.days}
    opens, closes = _hhmm(hours.start), _hhmm(hours.end)
    overnight = closes <= opens
    day, closed = start_day, 0
    while closed < MAX_CLOSED_DAYS:
        o = datetime.combine(day, opens, tzinfo=tz).astimezone(UTC)
        c = datetime.combine(day + timedelta(days=1) if overnight else day, closes,
                             tzinfo=tz).astimezone(UTC)
        if day.weekday() in days and c > o:
            closed = 0
            yield o, c
        else:
            closed += 1
        day += timedelta(days=1)


def add_time(at: datetime, span: timedelta, hours: BusinessHours | None) -> datetime | None:
    """`at` + `span` of running clock: all of it without business hours, else only the time
    inside them. None when the business hours never open (no days)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: SLA times must be timezone-aware")
    at = at.astimezone(UTC)
    if hours is None:
        return at + span
    if not hours.days:
        return None
    tz = ZoneInfo(hours.timezone)
    left = span
    # From the day before: an overnight shift that opened yesterday may still be running.
    for o, c in _open_windows(at.astimezone(tz).date() - timedelta(days=1), hours, tz):
        if c <= at:
            continue
        begin = max(o, at)
        if begin + left <= c:
            return begin + left
        left -= c - begin
    return None


def business_time(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    """How much running clock lies between `start` and `end` (the inverse of `add_time`)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    if not hours.days:
        return timedelta(0)
    tz = ZoneInfo(hours.timezone)
    total = timedelta(0)
    for o, c in _open_windows(start.astimezone(tz).date() - timedelta(days=1), hours, tz):
        if o >= end:
            break
        if c > start:
            total += min(c, end) - max(o, start)
    return total
