"""The report's figures, computed by the database: every figure is a GROUP BY or an aggregate
over the period's mentions, never a Python loop over mention rows. Python only rolls up the
small aggregated results (a few thousand rows at most) and converts hour buckets to local time.

Which rows count: the mentions that *arrived* (`ingested_at`) in the period — a cohort — and
what became of them so far (responses, SLA, outcomes, approvals of their drafts).

Cost: at 1M mentions a 30-day report reads ~330k rows, so each figure reads as little as it
can: one scan for all counts (`bot.reports.cube`), index-only where the report index covers
the columns, joins from child tables limited to the period's id range, percentiles of several
measures from one scan (`bot.reports.percentiles`), top authors from the author side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, SQLColumnExpression, Text, cast, func, or_, select, text
from sqlalchemy.orm import Session

from bot.domain.rules.schema import SENTIMENTS, UNKNOWN_SENTIMENT, Rules
from bot.domain.workflow import OPEN_STATUSES
from bot.kit import models
from bot.reports.conversations import conversation_figures
from bot.reports.cube import PeriodCounts, arrived, flag, in_period, languages, period_counts
from bot.reports.figures import (
    Approvals,
    AuthorReach,
    DayRow,
    Durations,
    MentionLine,
    Report,
    SlaRow,
)
from bot.reports.percentiles import (
    as_values,
    is_pg,
    percentiles,
    pg_percentiles,
    seconds_between,
)
from bot.reports.period import ReportPeriod

M = models.Mention
D = models.Draft
TOP_AUTHORS = 10
UNANSWERED_SHOWN = 10
CRITICAL_SHOWN = 15
CRITICAL_RISKS = ("legal", "regulatory")
TEXT_SNIPPET = 300  # characters of a post kept in a MentionLine
PS = (0.5, 0.9)  # median and p90
# PostgreSQL's default 4 MB spills the percentile sorts of a 30-day period (~230k values)
# to disk; raised for the report's own transaction only.
PG_REPORT_WORK_MEM = "64MB"
# Report queries run at once (`more_sessions`): the database's cores do the work; more than
# this only queues on a small machine and takes connections from the Slack listeners.
REPORT_WORKERS = 3


def report_timezone(rules: Rules) -> str:
    """The desk's time zone for calendar words and hours: the weekly report's, else UTC."""
    weekly = rules.reports.weekly
    return weekly.timezone if weekly is not None else "UTC"


def _durations(n: int, vals: list[float | None]) -> Durations:
    return Durations(n, vals[0], vals[1])


# --- the figures ---------------------------------------------------------------------------

def _response_times(session: Session, where: list[ColumnElement[bool]],
                    counts: PeriodCounts) -> tuple[Durations, Durations]:
    """Time to first response and to close: both from one scan."""
    found = percentiles(session, {
        "first": seconds_between(session, M.first_response_at, M.ingested_at),
        "close": seconds_between(session, M.closed_at, M.ingested_at)},
        where, {"first": counts.answered, "close": counts.closed}, PS)
    return _durations(*found["first"]), _durations(*found["close"])


def _hour_bucket(session: Session) -> ColumnElement:
    """The UTC hour of `ingested_at`, cheap to compute and to group by: hours since the epoch
    on PostgreSQL, the 'YYYY-MM-DD HH' prefix of the stored text on SQLite (SQLAlchemy
    stores 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: see bot.kit.db.UTCDateTime)."""
    if is_pg(session):
        return func.floor(func.date_part("epoch", M.ingested_at) / 3600)
    return func.substr(M.ingested_at, 1, 13)


def _bucket_start(bucket: str | float) -> datetime:
    if isinstance(bucket, str):
        return datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(bucket) * 3600, UTC)


def _local_days(period: ReportPeriod, tz: tzinfo) -> list[date]:
    first = period.start.astimezone(tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _volume(session: Session, where: list[ColumnElement[bool]],
            tz: tzinfo) -> tuple[list[int], dict[date, Counter]]:
    """Mentions per local hour of day, and per local day by sentiment, from UTC hour buckets
    (exact for every zone whose offset is whole hours, DST included)."""
    bucket = _hour_bucket(session).label("bucket")
    rows = session.execute(select(bucket, M.sentiment, func.count().label("n"))
                           .where(*where).group_by(bucket, M.sentiment)).all()
    hours = [0] * 24
    days: dict[date, Counter] = {}
    for row in rows:  # ≤ 24 × days × 3 aggregated rows
        local = _bucket_start(row.bucket).astimezone(tz)
        hours[local.hour] += row.n
        days.setdefault(local.date(), Counter())[row.sentiment] += row.n
    return hours, days


def _day_bounds(period: ReportPeriod, tz: tzinfo) -> list[tuple[date, datetime, datetime]]:
    """Each local day of the period with its UTC bounds, clipped to the period."""
    out = []
    for d in _local_days(period, tz):
        start = datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)
        end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        out.append((d, max(start, period.start), min(end, period.end)))
    return out


def _daily_median_response(session: Session, period: ReportPeriod, team: str | None,
                           tz: tzinfo) -> dict[date, float]:
    """Median time to first response per local day (the chart's line): one small query per
    day over that day's range of the report index (a day's few thousand values are sorted
    on their own, where a GROUP BY day sorts the whole period first)."""
    value = {"v": seconds_between(session, M.first_response_at, M.ingested_at)}
    out: dict[date, float] = {}
    for d, start, end in _day_bounds(period, tz):
        conds = [*arrived(start, end, team), M.first_response_at.is_not(None)]
        n = 0 if is_pg(session) else int(session.scalar(
            select(func.count()).select_from(M).where(*conds)) or 0)
        median = percentiles(session, value, conds, {"v": n}, (0.5,))["v"][1][0]
        if median is not None:
            out[d] = median
    return out


def _id_range(counts: PeriodCounts, column: SQLColumnExpression[int]) -> ColumnElement[bool]:
    return column.between(counts.first_id, counts.last_id)


def _outcomes(session: Session, rules: Rules, where: list[ColumnElement[bool]],
              counts: PeriodCounts) -> dict[str, int]:
    """Mentions per outcome: tags (several per mention) and the closing outcome on the
    mention (rows closed without a tag, e.g. dismissed), each (mention, outcome) once.

    A (mention, outcome) pair is counted once however many ways it is known: the closing
    outcomes (from the counts) plus the tags (unique per mention and outcome), minus the
    tags that repeat their mention's closing outcome."""
    found = Counter(counts.outcomes)
    if counts.first_id is not None:
        T = models.OutcomeTag
        rows = session.execute(
            select(T.outcome, func.count().label("n"),
                   flag(T.outcome == M.outcome).label("both"))
            .join(M, M.id == T.mention_id)
            .where(*where, _id_range(counts, T.mention_id)).group_by(T.outcome)).all()
        for row in rows:
            found[row.outcome] += int(row.n) - int(row.both or 0)
    out = {o: int(found.pop(o, 0)) for o in rules.outcomes}
    out.update(sorted((o, n) for o, n in found.items() if n))  # outcomes no longer in the rules
    return out


def _approvals(session: Session, where: list[ColumnElement[bool]],
               counts: PeriodCounts) -> Approvals:
    """Drafts of the period's mentions that an approver decided."""
    if counts.first_id is None:
        return Approvals(0, 0, 0, Durations(0, None, None))
    conds = [*where, _id_range(counts, D.mention_id), D.decision.is_not(None),
             D.decided_at.is_not(None)]
    join = models.table_of(D).join(models.table_of(M), M.id == D.mention_id)
    waited = seconds_between(session, D.decided_at, D.created_at)
    tallies = (func.count().label("decided"), flag(D.decision == "approved").label("approved"),
               flag(D.decision == "rejected").label("rejected"))
    if is_pg(session):  # the counts and the percentiles from one join
        row = session.execute(select(*tallies, pg_percentiles(waited, PS).label("wait"))
                              .select_from(join).where(*conds)).one()
        decided = int(row.decided or 0)
        wait = (decided, as_values(row.wait, PS))
    else:
        row = session.execute(select(*tallies).select_from(join).where(*conds)).one()
        decided = int(row.decided or 0)
        wait = percentiles(session, {"wait": waited}, conds, {"wait": decided}, PS,
                           join=join)["wait"]
    return Approvals(decided, int(row.approved or 0), int(row.rejected or 0), _durations(*wait))


def _top_authors(session: Session, where: list[ColumnElement[bool]]) -> list[AuthorReach]:
    """The period's authors by followers (then mentions in the period, then id).

    Read from the author side: the followers of the TOP_AUTHORS-th largest author who wrote
    in the period (authors by followers, each probed for a mention in the period) bounds the
    authors worth counting, and only those are counted, each from its own index range
    (`ix_mention_author_id_ingested_at`), never the whole period."""
    A = models.Author
    wrote = select(M.id).where(M.author_id == A.id, *where).exists()
    cutoff = session.scalar(select(A.followers).where(wrote).order_by(A.followers.desc())
                            .offset(TOP_AUTHORS - 1).limit(1))
    if cutoff is None:  # fewer authors than that wrote: count them all
        n = func.count(M.id).label("mentions")
        rows = session.execute(
            select(A.network, A.handle, A.name, A.followers, n).join(M, M.author_id == A.id)
            .where(*where).group_by(A.id, A.network, A.handle, A.name, A.followers)
            .order_by(A.followers.desc(), n.desc(), A.id).limit(TOP_AUTHORS)).all()
    else:
        written = (select(func.count()).select_from(M).where(M.author_id == A.id, *where)
                   .scalar_subquery())
        reach = select(A.id, A.network, A.handle, A.name, A.followers,
                       written.label("mentions")).where(A.followers >= cutoff).subquery()
        rows = session.execute(
            select(reach.c.network, reach.c.handle, reach.c.name, reach.c.followers,
                   reach.c.mentions)
            .where(reach.c.mentions > 0)
            .order_by(reach.c.followers.desc(), reach.c.mentions.desc(), reach.c.id)
            .limit(TOP_AUTHORS)).all()
    return [AuthorReach(network=r.network, handle=r.handle, name=r.name, followers=r.followers,
                        mentions=r.mentions) for r in rows]


def mention_lines(session: Session, where: Sequence[ColumnElement[bool]],
                  limit: int) -> list[MentionLine]:
    """The first `limit` mentions matching `where`, most urgent and oldest first. The ids are
    picked first (from the report index when `where` allows), then only those rows read."""
    A = models.Author
    order = (M.priority, M.ingested_at, M.id)
    ids = select(M.id).where(*where).order_by(*order).limit(limit)
    rows = session.execute(
        select(M.id, M.network, M.team, M.priority, A.handle, M.url,
               func.substr(M.text, 1, TEXT_SNIPPET).label("snippet"), M.ingested_at, M.status,
               M.outcome, M.risk)
        .join(A, A.id == M.author_id).where(M.id.in_(ids.scalar_subquery()))
        .order_by(*order)).all()
    return [MentionLine(id=r.id, network=r.network, team=r.team, priority=r.priority,
                        handle=r.handle, url=r.url, text=r.snippet, ingested_at=r.ingested_at,
                        status=r.status, outcome=r.outcome, risk=tuple(r.risk or ()))
            for r in rows]


def critical_condition() -> ColumnElement[bool]:
    """P1, or a legal/regulatory risk. `risk` is a JSON list: matched as text (`"legal"` with
    its quotes), which reads the same on both backends."""
    risk = cast(M.risk, Text)
    return or_(M.priority == "P1", *(risk.like(f'%"{r}"%') for r in CRITICAL_RISKS))


def compute_report(session: Session, rules: Rules, period: ReportPeriod, *, now: datetime,
                   team: str | None = None, tz_name: str | None = None,
                   critical: bool = False,
                   more_sessions: Callable[[], Session] | None = None) -> Report:
    """Every figure of the report for `period` (and `team`), as of `now`.

    With `more_sessions` (a session factory), the queries that only need the period's counts
    run at the same time, each on a connection of its own (REPORT_WORKERS at most): the
    database does the work, on as many cores as it has, while this thread waits. Each query
    then reads its own snapshot, so figures computed while mentions keep arriving may differ
    by those few mentions."""
    tz_name = tz_name or report_timezone(rules)
    tz = ZoneInfo(tz_name)
    _tune(session)
    where = in_period(period, team)
    counts = period_counts(session, period, team, now)
    open_unanswered = [*where, M.status.in_(OPEN_STATUSES), M.first_response_at.is_(None)]
    jobs: dict[str, Callable[[Session], Any]] = {  # the slowest first (bench/report.py)
        "times": lambda s: _response_times(s, where, counts),
        "outcomes": lambda s: _outcomes(s, rules, where, counts),
        "volume": lambda s: _volume(s, where, tz),
        "medians": lambda s: _daily_median_response(s, period, team, tz),
        "approvals": lambda s: _approvals(s, where, counts),
        "previous": lambda s: s.execute(
            select(M.sentiment, func.count().label("n"),
                   flag(M.complaint.is_(True)).label("complaints"))
            .where(*in_period(period.previous(), team)).group_by(M.sentiment)).all(),
        "unanswered": lambda s: tuple(mention_lines(s, open_unanswered, UNANSWERED_SHOWN)),
        "top": lambda s: tuple(_top_authors(s, where)),
        "conversations": lambda s: conversation_figures(s, where, PS),
        "languages": lambda s: languages(s, where),
    }
    if critical:
        jobs["critical_count"] = lambda s: int(s.scalar(select(func.count()).select_from(M)
                                                        .where(*where, critical_condition()))
                                               or 0)
        jobs["critical"] = lambda s: tuple(mention_lines(s, [*where, critical_condition()],
                                                         CRITICAL_SHOWN))
    got = _run(jobs, session, more_sessions)
    first, close = got["times"]
    hours, days = got["volume"]
    medians, previous = got["medians"], got["previous"]
    day_rows = tuple(DayRow(d, {s: days.get(d, Counter()).get(s, 0) for s in SENTIMENTS},
                            medians.get(d)) for d in _local_days(period, tz))
    return Report(
        period=period, team=team, timezone=tz_name, generated_at=now,
        total=counts.total,
        by_network=dict(counts.by_network.most_common()),
        by_team=dict(counts.by_team.most_common()),
        sentiment={s: counts.sentiment.get(s, 0) for s in SENTIMENTS},
        previous_total=sum(r.n for r in previous),
        previous_sentiment={s: sum(r.n for r in previous if r.sentiment == s)
                            for s in SENTIMENTS},
        first_response=first, close=close,
        sla=tuple(SlaRow(p, *v) for p, v in counts.sla.items()),
        outcomes=got["outcomes"],
        approvals=got["approvals"],
        top_authors=got["top"],
        hours=tuple(hours), days=day_rows,
        unanswered_count=counts.unanswered,
        unanswered=got["unanswered"],
        critical=got.get("critical", ()), critical_count=got.get("critical_count", 0),
        conversations=got["conversations"],
        complaints=counts.complaints,
        previous_complaints=sum(int(r.complaints or 0) for r in previous),
        sentiment_unknown=counts.sentiment.get(UNKNOWN_SENTIMENT, 0),
        languages=got["languages"])


def _tune(session: Session) -> None:
    """Sorts of a few hundred thousand rows stay in memory on PostgreSQL (this transaction)."""
    if is_pg(session):
        session.execute(text(f"SET LOCAL work_mem = '{PG_REPORT_WORK_MEM}'"))


def _run(jobs: dict[str, Callable[[Session], Any]], session: Session,
         more_sessions: Callable[[], Session] | None) -> dict[str, Any]:
    """Each job's result: one after the other on `session`, or side by side on sessions of
    their own."""
    if more_sessions is None:
        return {name: job(session) for name, job in jobs.items()}

    def alone(job: Callable[[Session], Any]) -> Any:
        with more_sessions() as s:
            _tune(s)
            return job(s)

    with ThreadPoolExecutor(REPORT_WORKERS, thread_name_prefix="report") as pool:
        futures = {name: pool.submit(alone, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}
