"""Which stretch of time a report covers: `today`, `7d`, `30d` or `YYYY-MM-DD..YYYY-MM-DD`.

Pure: the caller passes `now` and the report's time zone. A period is a half-open UTC interval
`[start, end)`; calendar words (today, dates) are read in the report's time zone, so "today" in
London starts at London's midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.domain.errors import DomainError

MAX_DAYS = 366  # a longer range is a data export, not a report
# Nothing the bot stores predates this, and it keeps every date far from datetime's limits:
# `0001-01-01..0001-01-02` used to raise OverflowError computing the previous period.
EARLIEST = date(2000, 1, 1)
_DAYS = re.compile(r"^(\d{1,3})d$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
PERIOD_HELP = "today, 7d, 30d (any Nd up to 366d) or YYYY-MM-DD..YYYY-MM-DD"


class PeriodError(DomainError):
    default = f"Unknown period. Use {PERIOD_HELP}."


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    start: datetime  # inclusive, aware UTC
    end: datetime  # exclusive, aware UTC
    label: str  # what the user asked for, normalised ("7d", "2026-11-01..2026-11-07")
    # How far back "the previous period" lies: the length for rolling windows and ranges, one
    # day for `today` (today so far against yesterday up to the same hour).
    step: timedelta

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> ReportPeriod:
        return ReportPeriod(self.start - self.step, self.end - self.step,
                            f"before {self.label}", self.step)


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date (YYYY-MM-DD).") from None


def parse_period(text: str, now: datetime, tz: tzinfo = UTC) -> ReportPeriod:
    """Parse what the user typed. Raises `PeriodError` with a message meant for them."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    spec = text.strip().lower()
    if spec == "today":
        start = _local_midnight(now.astimezone(tz).date(), tz)
        return ReportPeriod(start, now, "today", timedelta(days=1))
    if m := _DAYS.match(spec):
        days = int(m.group(1))
        if not 1 <= days <= MAX_DAYS:
            raise PeriodError(f"{spec}: use between 1d and {MAX_DAYS}d.")
        return ReportPeriod(now - timedelta(days=days), now, spec, timedelta(days=days))
    if m := _RANGE.match(spec):
        first, last = _date(m.group(1)), _date(m.group(2))
        if first < EARLIEST:
            raise PeriodError(f"{spec}: reports start at {EARLIEST.isoformat()}; "
                              "pick a later range.")
        if last < first:
            raise PeriodError(f"{spec}: the range ends before it starts.")
        days = (last - first).days + 1
        if days > MAX_DAYS:
            raise PeriodError(f"{spec}: at most {MAX_DAYS} days at a time.")
        start = _local_midnight(first, tz)
        if start > now:
            raise PeriodError(f"{spec}: that range is in the future.")
        end = _local_midnight(last + timedelta(days=1), tz)
        return ReportPeriod(start, end, spec, end - start)
    raise PeriodError(f"{text.strip()[:40]!r} is not a period. Use {PERIOD_HELP}.")


def looks_like_period(token: str) -> bool:
    """Whether `token` is meant as a period (so a typo gets the period's error, not "unknown
    team")."""
    t = token.strip().lower()
    return t == "today" or bool(_DAYS.match(t) or _RANGE.match(t) or re.match(r"^\d{4}-", t))
