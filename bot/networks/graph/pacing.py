"""How a Graph source paces itself on Meta's usage headers: wait from FULL_AT, skip every
other poll from SLOW_AT (`bot.networks.graph.usage`). One pacer per source: the skip
alternates per source, while the meter is shared by every call of the token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.networks.base import Fetch, RateLimited, SourceState
from bot.networks.graph.usage import UsageMeter


@dataclass
class UsagePacer:
    skipped_last: bool = False

    def check(self, usage: UsageMeter, where: str, state: SourceState,
              now: datetime) -> Fetch | None:
        """None when this poll may read; an empty Fetch when it is skipped; raises
        RateLimited while Meta says the allowance is spent."""
        until = usage.wait_until(now)
        if until is not None and until > now:
            raise RateLimited(until, f"{where}: Meta reports {usage.percent}% of the "
                                     "app's allowance used")
        if usage.slow() and not self.skipped_last:
            self.skipped_last = True
            return Fetch(mentions=[], state=state, notes=[
                f"Meta reports {usage.percent}% of the app's allowance used: this poll skipped "
                "(polling at half speed until it falls under 80%)"])
        self.skipped_last = False
        return None
