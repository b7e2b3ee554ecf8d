"""A clock the test moves by hand: `clock()` is `clock.now`, nothing sleeps."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move on by `seconds`; the new time."""
        self.now += timedelta(seconds=seconds)
        return self.now
