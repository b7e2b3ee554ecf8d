"""The figures of a report as plain values: what `/social report`, the weekly report, the chart
and `socialbot report --json` all show. Pure; computed by `bot.reports.queries`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from bot.domain.rules.schema import SENTIMENTS
from bot.reports.period import ReportPeriod


@dataclass(frozen=True, slots=True)
class Durations:
    """Seconds; percentile_cont semantics (linear interpolation), None when `count` is 0."""

    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class SlaRow:
    priority: str
    hit: int  # first response at or before the due time
    missed: int  # answered late, or still unanswered past the due time
    pending: int  # unanswered, not due yet: counted neither way
    no_sla: int  # no due time recorded (rows older than SLA timers)

    @property
    def rate(self) -> float | None:
        judged = self.hit + self.missed
        return self.hit / judged if judged else None


@dataclass(frozen=True, slots=True)
class Approvals:
    decided: int
    approved: int
    rejected: int
    wait: Durations  # draft created -> decided


@dataclass(frozen=True, slots=True)
class AuthorReach:
    network: str
    handle: str
    name: str | None
    followers: int
    mentions: int  # in the period


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date  # in the report's time zone
    sentiment: dict[str, int]  # negative/neutral/positive -> mentions that day
    median_first_response: float | None  # seconds


@dataclass(frozen=True, slots=True)
class MentionLine:
    """One mention named in a report (unanswered, critical event)."""

    id: int
    network: str
    team: str
    priority: str
    handle: str
    url: str | None
    text: str
    ingested_at: datetime
    status: str
    outcome: str | None = None
    risk: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Conversations:
    """Of the period's mentions, those whose customer wrote again (bot.domain.conversation)."""

    conversations: int  # mentions with at least one follow-up
    follow_ups: int  # the customers' messages after their first
    replies: int  # replies sent in those conversations
    reopened: int  # mentions reopened by a follow-up at least once
    handled: int  # mentions answered or closed at least once: the reopen rate's base
    resolution: Durations  # arrival → closed, for the conversations closed

    @property
    def replies_per_conversation(self) -> float | None:
        return self.replies / self.conversations if self.conversations else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.handled if self.handled else None


@dataclass(frozen=True, slots=True)
class LanguageRow:
    """One language's share of the period: its mentions (by the primary subtag of the
    network's tag or the detected one; `und`: neither) and how many were complaints."""

    mentions: int
    complaints: int


@dataclass(frozen=True, slots=True)
class Report:
    period: ReportPeriod
    team: str | None  # None: all teams
    timezone: str
    generated_at: datetime
    total: int
    by_network: dict[str, int]
    by_team: dict[str, int]
    sentiment: dict[str, int]
    previous_total: int
    previous_sentiment: dict[str, int]
    first_response: Durations
    close: Durations
    sla: tuple[SlaRow, ...]
    outcomes: dict[str, int]  # the rules file's outcomes first (zeros included), then others
    approvals: Approvals
    top_authors: tuple[AuthorReach, ...]
    hours: tuple[int, ...]  # 24 counts by local hour of day
    days: tuple[DayRow, ...]
    unanswered_count: int
    unanswered: tuple[MentionLine, ...]  # the oldest, most urgent first; a sample
    critical: tuple[MentionLine, ...] = ()  # weekly report only
    critical_count: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    conversations: Conversations | None = None  # None: not computed (older callers)
    complaints: int = 0  # flagged a complaint (bot.domain.scoring.complaint) when scored
    previous_complaints: int = 0
    sentiment_unknown: int = 0  # a language scoring has no weights for: not in `sentiment`
    languages: dict[str, LanguageRow] = field(default_factory=dict)  # most mentions first

    def share(self, sentiment: str, *, previous: bool = False) -> float | None:
        counts, total = ((self.previous_sentiment, self.previous_total) if previous
                         else (self.sentiment, self.total))
        return counts.get(sentiment, 0) / total if total else None

    def share_change(self, sentiment: str) -> float | None:
        """Change in percentage points of the sentiment's share against the previous period."""
        now, before = self.share(sentiment), self.share(sentiment, previous=True)
        return None if now is None or before is None else (now - before) * 100

    def complaint_share(self, *, previous: bool = False) -> float | None:
        complaints, total = ((self.previous_complaints, self.previous_total) if previous
                             else (self.complaints, self.total))
        return complaints / total if total else None

    def complaint_share_change(self) -> float | None:
        """Change in percentage points of the complaints' share against the previous period."""
        now, before = self.complaint_share(), self.complaint_share(previous=True)
        return None if now is None or before is None else (now - before) * 100

    def busiest_hours(self, n: int = 3) -> list[tuple[int, int]]:
        ranked = sorted(((c, h) for h, c in enumerate(self.hours) if c), key=lambda x: (-x[0], x[1]))
        return [(h, c) for c, h in ranked[:n]]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: datetimes and dates as ISO strings, SLA rates added."""
        data = _jsonable(asdict(self))
        data["period"] = {"label": self.period.label, "start": self.period.start.isoformat(),
                          "end": self.period.end.isoformat()}
        for row, out in zip(self.sla, data["sla"], strict=True):
            out["rate"] = row.rate
        data["sentiment_change_pp"] = {s: self.share_change(s) for s in SENTIMENTS}
        data["complaint_share"] = self.complaint_share()
        data["complaint_change_pp"] = self.complaint_share_change()
        data["busiest_hours"] = [{"hour": h, "mentions": c} for h, c in self.busiest_hours()]
        if self.conversations is not None:
            data["conversations"]["replies_per_conversation"] = \
                self.conversations.replies_per_conversation
            data["conversations"]["reopen_rate"] = self.conversations.reopen_rate
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    return value
