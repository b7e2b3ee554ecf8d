"""Meta's usage headers, remembered between calls.

Every Graph answer carries how much of the rolling one-hour allowance the app (or, for a Page
token, the Page's business use case) has used, as percentages:

    X-App-Usage:               {"call_count": 28, "total_time": 25, "total_cputime": 25}
    X-Business-Use-Case-Usage: {"<id>": [{"type": "pages", "call_count": 100, "total_time": 25,
                                "total_cputime": 25, "estimated_time_to_regain_access": 19}]}

At 100 % Meta answers with error 4, 17, 32 or 613 until the window has rolled on
(`estimated_time_to_regain_access` minutes, when it says). `UsageMeter` keeps the highest
percentage of the last answer and that wait; sources ask it before calling: at SLOW_AT they
poll half as often, from FULL_AT they wait (`bot.networks.graph.client` raises the waits).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.domain import waits

SLOW_AT = 80  # percent: poll half as often from here
FULL_AT = 100  # percent: the next call would be throttled
REGAIN_DEFAULT = timedelta(minutes=5)  # no estimate we can read: Meta's window rolls on


@dataclass
class UsageMeter:
    """The usage Meta reported on the last answer (all calls of one token count together)."""

    percent: int = 0
    regain: timedelta | None = None  # Meta's estimate of when access comes back
    seen_at: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, headers: Mapping[str, str], now: datetime) -> None:
        readings = [*_app_usage(headers.get("x-app-usage")),
                    *_business_usage(headers.get("x-business-use-case-usage"))]
        if not readings:
            return
        with self._lock:
            self.percent = max(p for p, _ in readings)
            minutes = max(m for _, m in readings)
            self.regain = (waits.seconds(minutes * 60, default=REGAIN_DEFAULT,
                                         what="Meta (estimated_time_to_regain_access)")
                           if minutes > 0 else None)
            self.seen_at = now

    def wait_until(self, now: datetime) -> datetime | None:
        """When calling is worth trying again, if the last answer said the allowance is used
        up; else None."""
        with self._lock:
            if self.seen_at is None:
                return None
            if self.regain is not None:
                return self.seen_at + self.regain
            if self.percent >= FULL_AT:
                return self.seen_at + timedelta(minutes=5)  # no estimate: Meta's window rolls
            return None

    def slow(self) -> bool:
        with self._lock:
            return self.percent >= SLOW_AT


def _parse(raw: str | None) -> object:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None  # a header we can't read is no reading, never a failed poll


def _numbers(entry: object) -> tuple[int, int]:
    """(highest percentage, minutes to regain access) of one usage object."""
    if not isinstance(entry, dict):
        return 0, 0
    percents = [int(v) for k, v in entry.items()
                if k in ("call_count", "total_time", "total_cputime", "acc_id_util_pct")
                and isinstance(v, int | float)]
    regain = entry.get("estimated_time_to_regain_access")
    if not isinstance(regain, int | float) or not math.isfinite(regain):  # JSON has Infinity
        regain = 0
    return max(percents, default=0), int(regain)


def _app_usage(raw: str | None) -> list[tuple[int, int]]:
    data = _parse(raw)
    return [_numbers(data)] if isinstance(data, dict) else []


def _business_usage(raw: str | None) -> list[tuple[int, int]]:
    data = _parse(raw)
    if not isinstance(data, dict):
        return []
    return [_numbers(entry) for entries in data.values() if isinstance(entries, list)
            for entry in entries]
