"""A scripted source: the `bot.networks.base.Source` protocol, fetching (or raising) what the
test lists, and X posts to fill its pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.mention import Author, Mention
from bot.networks.base import Fetch, SourceState

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the posts are from five minutes before


def tweet(n: int, text: str = "Loving the new lounge", handle: str = "Traveller",
          followers: int = 120) -> Mention:
    return Mention(network="x", external_id=str(1000 + n), text=text,
                   author=Author(handle=handle, name="A Traveller", followers=followers),
                   url=f"https://x.com/{handle}/status/{1000 + n}",
                   created_at=NOW - timedelta(minutes=5), lang="en", source_id="x-search")


@dataclass
class FakeSource:
    """Same interface as the real adapters; returns or raises what the test scripts."""

    spec: object
    script: list = field(default_factory=list)
    seen_states: list[SourceState] = field(default_factory=list)

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        self.seen_states.append(state)
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step
