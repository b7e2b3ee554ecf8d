"""How long a network's "wait" answer is believed: the one rule for every rate limit. PURE.

A 429's `Retry-After`, X's `x-rate-limit-reset`, Bluesky's `ratelimit-reset`, Reddit's
`x-ratelimit-reset`, Meta's `estimated_time_to_regain_access`, Slack's `Retry-After` are the
network's word, not trusted blindly (issue 18, break 6): a reset 10 years ahead parked a source
until 2036, and a value past what `timedelta`/`datetime` hold (`99999999999999`, `1e400`)
raised `OverflowError` out of the adapter at every poll. Here:

- a wait longer than MAX_WAIT (1 h) is cut to MAX_WAIT, with a WARNING naming who asked;
- a value that is not a finite number of seconds (garbage, empty, negative, NaN, infinite)
  is the caller's `default` backoff, with a WARNING.

`seconds` reads a number of seconds, `retry_after` also an HTTP-date, `reset_at` epoch
seconds; each returns when to call again.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

log = logging.getLogger(__name__)

MAX_WAIT = timedelta(hours=1)  # the longest a network's wait is believed (a reload ends it)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def clamp(wait: timedelta, *, what: str) -> timedelta:
    """`wait`, at most MAX_WAIT (logged when cut), never negative."""
    if wait > MAX_WAIT:
        log.warning("%s asked to wait %s; waiting %s at most", what, wait, MAX_WAIT)
        return MAX_WAIT
    return max(wait, timedelta(0))


def seconds(value: object, *, default: timedelta, what: str) -> timedelta:
    """A wait given in seconds (a number or its text) as a timedelta, clamped; `default`
    when it is not a finite number of seconds."""
    number = _number(value)
    if number is None:
        if value not in (None, ""):
            log.warning("%s sent an unreadable wait (%r): waiting %s", what,
                        str(value)[:40], default)
        return default
    if number > MAX_WAIT.total_seconds():
        log.warning("%s asked to wait %g s; waiting %s at most", what, number, MAX_WAIT)
        return MAX_WAIT
    return timedelta(seconds=number)


def retry_after(value: object, *, now: datetime, default: timedelta, what: str) -> datetime:
    """When to call again after a `Retry-After` (seconds or an HTTP-date): at most MAX_WAIT
    from `now`; `now + default` when unreadable."""
    if isinstance(value, str) and value.strip() and _number(value) is None:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return now + clamp(when - now, what=what)
    return now + seconds(value, default=default, what=what)


def reset_at(value: object, *, now: datetime, default: timedelta, what: str) -> datetime:
    """When to call again after a reset header in epoch seconds: at most MAX_WAIT from
    `now`; `now + default` when unreadable (a reset already past: now)."""
    number = _number(value)
    if number is None:
        return now + seconds(value, default=default, what=what)
    ahead = number - now.timestamp()
    if ahead > MAX_WAIT.total_seconds():
        log.warning("%s asked to wait until %g (epoch seconds); waiting %s at most", what,
                    number, MAX_WAIT)
        return now + MAX_WAIT
    return now + timedelta(seconds=max(ahead, 0.0))
