"""The report's figures, computed by the database: every figure is a GROUP BY or an aggregate
over the period's mentions, never a Python loop over mention rows. Python only rolls up the
small aggregated results (a few hundred rows at most) and converts hour buckets to local time.

Which rows count: the mentions that *arrived* (`ingested_at`) in the period — a cohort — and
what became of them so far (responses, SLA, outcomes, approvals of their drafts).

Percentiles follow PostgreSQL's `percentile_cont` (linear interpolation between the two
nearest ranks). PostgreSQL computes them itself; SQLite has no percentile function, so the
values at the needed ranks are read from the sorted column numbered by `row_number()` (one sorted
single-column query per figure; only those few values leave the database).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Text,
    and_,
    case,
    cast,
    extract,
    func,
    or_,
    select,
    union,
)
from sqlalchemy.orm import Session

from bot import models
from bot.reports.figures import (
    Approvals,
    AuthorReach,
    DayRow,
    Durations,
    MentionLine,
    Report,
    SlaRow,
)
from bot.reports.period import ReportPeriod
from bot.rules_schema import PRIORITIES, SENTIMENTS, Rules
from bot.workflow import OPEN_STATUSES

M = models.Mention
D = models.Draft
TOP_AUTHORS = 10
UNANSWERED_SHOWN = 10
CRITICAL_SHOWN = 15
CRITICAL_RISKS = ("legal", "regulatory")
TEXT_SNIPPET = 300  # characters of a post kept in a MentionLine


def report_timezone(rules: Rules) -> str:
    """The desk's time zone for calendar words and hours: the weekly report's, else UTC."""
    weekly = rules.reports.weekly
    return weekly.timezone if weekly is not None else "UTC"


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def seconds_between(session: Session, end: ColumnElement, start: ColumnElement) -> ColumnElement:
    """`end - start` in seconds, as a float, in SQL."""
    if _is_pg(session):
        return cast(extract("epoch", end - start), Float)
    # julianday is a double in days: ~20 µs of noise per value, rounded away to milliseconds.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


def _in_period(period: ReportPeriod, team: str | None) -> list[ColumnElement[bool]]:
    conds = [M.ingested_at >= period.start, M.ingested_at < period.end]
    if team is not None:
        conds.append(M.team == team)
    return conds


def _flag(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((cond, 1), else_=0))


# --- percentiles ---------------------------------------------------------------------------

def percentiles(session: Session, value: ColumnElement, where: Sequence[ColumnElement[bool]],
                count: int | None = None, ps: Sequence[float] = (0.5, 0.9),
                *, join: object = None) -> tuple[int, list[float | None]]:
    """(how many non-NULL values, [percentile_cont(p) for p in ps]) of `value` over `where`."""
    conds = [*where, value.is_not(None)]

    def base(*cols: ColumnElement) -> object:
        stmt = select(*cols)
        if join is not None:
            stmt = stmt.select_from(join)
        return stmt.where(*conds)

    if _is_pg(session):
        row = session.execute(base(func.count(), *(
            func.percentile_cont(p).within_group(value) for p in ps))).one()
        return int(row[0]), [None if v is None else float(v) for v in row[1:]]
    n = count if count is not None else int(session.scalar(base(func.count())) or 0)
    if n == 0:
        return 0, [None for _ in ps]
    # The values at the ranks the percentiles need, from one sort: the sorted column numbered
    # by row_number() (one pass, where `ORDER BY … LIMIT 2 OFFSET k` per percentile sorts
    # the period once per percentile), only those few rows leave the database.
    spots = [(math.floor(p * (n - 1)), p * (n - 1) - math.floor(p * (n - 1))) for p in ps]
    wanted = sorted({r + 1 + extra for r, frac in spots for extra in ((0, 1) if frac else (0,))
                     if r + 1 + extra <= n})
    inner = base(value.label("v")).subquery()
    ranked = select(inner.c.v, func.row_number().over(order_by=inner.c.v).label("rn")).subquery()
    at = {int(rn): float(v) for rn, v in session.execute(
        select(ranked.c.rn, ranked.c.v).where(ranked.c.rn.in_(wanted)))}
    out: list[float | None] = []
    for r, frac in spots:
        lo = at[r + 1]
        out.append(lo + (at[r + 2] - lo) * frac if frac and (r + 2) in at else lo)
    return n, out


def _durations(n: int, vals: list[float | None]) -> Durations:
    return Durations(n, vals[0], vals[1])


# --- the figures ---------------------------------------------------------------------------

def _cube(session: Session, period: ReportPeriod, team: str | None, now: datetime) -> list:
    """One scan: counts by (network, team, sentiment, priority) with the SLA, answered and
    closed tallies alongside; everything "by X" is a roll-up of these few rows."""
    answered = M.first_response_at.is_not(None)
    has_sla = M.sla_due_at.is_not(None)
    return session.execute(select(
        M.network, M.team, M.sentiment, M.priority, func.count(),
        _flag(and_(has_sla, answered, M.first_response_at <= M.sla_due_at)),
        _flag(and_(has_sla, or_(M.first_response_at > M.sla_due_at,
                                and_(~answered, M.sla_due_at <= now)))),
        _flag(and_(has_sla, ~answered, M.sla_due_at > now)),
        _flag(~has_sla),
        _flag(and_(M.status.in_(OPEN_STATUSES), ~answered)),
        _flag(answered),
        _flag(M.closed_at.is_not(None)),
    ).where(*_in_period(period, team)).group_by(M.network, M.team, M.sentiment, M.priority)).all()


def _hour_bucket(session: Session) -> ColumnElement[str]:
    """The UTC hour of `ingested_at` as 'YYYY-MM-DD HH' on both backends."""
    if _is_pg(session):
        return func.to_char(func.timezone("UTC", M.ingested_at), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", M.ingested_at)


def _local_days(period: ReportPeriod, tz: tzinfo) -> list[date]:
    first = period.start.astimezone(tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _volume(session: Session, period: ReportPeriod, team: str | None,
            tz: tzinfo) -> tuple[list[int], dict[date, Counter]]:
    """Mentions per local hour of day, and per local day by sentiment, from UTC hour buckets
    (exact for every zone whose offset is whole hours, DST included)."""
    bucket = _hour_bucket(session).label("bucket")
    rows = session.execute(select(bucket, M.sentiment, func.count())
                           .where(*_in_period(period, team))
                           .group_by(bucket, M.sentiment)).all()
    hours = [0] * 24
    days: dict[date, Counter] = {}
    for b, sentiment, n in rows:  # ≤ 24 × days × 3 aggregated rows
        local = datetime.strptime(b, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(tz)
        hours[local.hour] += n
        days.setdefault(local.date(), Counter())[sentiment] += n
    return hours, days


def _daily_median_response(session: Session, period: ReportPeriod, team: str | None,
                           tz: tzinfo) -> dict[date, float]:
    """Median time to first response per local day (the chart's line)."""
    value = seconds_between(session, M.first_response_at, M.ingested_at)
    conds = [*_in_period(period, team), M.first_response_at.is_not(None)]
    if _is_pg(session):
        day = func.date(func.timezone(str(tz), M.ingested_at)).label("day")
        rows = session.execute(select(day, func.percentile_cont(0.5).within_group(value))
                               .where(*conds).group_by(day)).all()
        return {d: float(v) for d, v in rows}
    # SQLite has no time zones: the offset at the period's start (a DST change inside the
    # period moves that day's boundary by an hour for this line only).
    offset = int((period.start.astimezone(tz).utcoffset() or timedelta()).total_seconds() // 60)
    inner = select(func.date(M.ingested_at, f"{offset:+d} minutes").label("day"),
                   value.label("v")).where(*conds).subquery()
    ranked = select(
        inner.c.day, inner.c.v,
        func.row_number().over(partition_by=inner.c.day, order_by=inner.c.v).label("rn"),
        func.count().over(partition_by=inner.c.day).label("n")).subquery()
    # The middle one (odd n) or the average of the middle two (even n): percentile_cont(0.5).
    middle = or_(ranked.c.rn == cast((ranked.c.n + 1) / 2, Integer),
                 ranked.c.rn == cast(ranked.c.n / 2 + 1, Integer))
    rows = session.execute(select(ranked.c.day, func.avg(ranked.c.v)).where(middle)
                           .group_by(ranked.c.day)).all()
    return {date.fromisoformat(d): float(v) for d, v in rows}


def _outcomes(session: Session, rules: Rules, period: ReportPeriod,
              team: str | None) -> dict[str, int]:
    """Mentions per outcome: tags (several per mention) and the closing outcome on the
    mention (rows closed without a tag, e.g. dismissed), each (mention, outcome) once."""
    where = _in_period(period, team)
    tagged = (select(models.OutcomeTag.outcome.label("outcome"),
                     models.OutcomeTag.mention_id.label("mid"))
              .join(M, M.id == models.OutcomeTag.mention_id).where(*where))
    closed = select(M.outcome.label("outcome"), M.id.label("mid")).where(
        *where, M.outcome.is_not(None))
    u = union(tagged, closed).subquery()
    found = dict(session.execute(select(u.c.outcome, func.count()).group_by(u.c.outcome)).all())
    out = {o: int(found.pop(o, 0)) for o in rules.outcomes}
    out.update(sorted(found.items()))  # outcomes no longer in the rules still count
    return out


def _approvals(session: Session, period: ReportPeriod, team: str | None) -> Approvals:
    """Drafts of the period's mentions that an approver decided."""
    where = [*_in_period(period, team), D.decision.is_not(None), D.decided_at.is_not(None)]
    join = D.__table__.join(M.__table__, M.id == D.mention_id)
    decided, approved, rejected = session.execute(
        select(func.count(), _flag(D.decision == "approved"), _flag(D.decision == "rejected"))
        .select_from(join).where(*where)).one()
    n, vals = percentiles(session, seconds_between(session, D.decided_at, D.created_at), where,
                          count=int(decided or 0), join=join)
    return Approvals(int(decided or 0), int(approved or 0), int(rejected or 0),
                     _durations(n, vals))


def _top_authors(session: Session, period: ReportPeriod, team: str | None) -> list[AuthorReach]:
    A = models.Author
    n = func.count(M.id).label("n")
    rows = session.execute(
        select(A.network, A.handle, A.name, A.followers, n).join(M, M.author_id == A.id)
        .where(*_in_period(period, team))
        .group_by(A.id, A.network, A.handle, A.name, A.followers)
        .order_by(A.followers.desc(), n.desc(), A.id).limit(TOP_AUTHORS)).all()
    return [AuthorReach(*r) for r in rows]


def mention_lines(session: Session, where: Sequence[ColumnElement[bool]],
                  limit: int) -> list[MentionLine]:
    A = models.Author
    rows = session.execute(
        select(M.id, M.network, M.team, M.priority, A.handle, M.url,
               func.substr(M.text, 1, TEXT_SNIPPET), M.ingested_at, M.status, M.outcome, M.risk)
        .join(A, A.id == M.author_id).where(*where)
        .order_by(M.priority, M.ingested_at, M.id).limit(limit)).all()
    return [MentionLine(*r[:10], risk=tuple(r[10] or ())) for r in rows]


def critical_condition() -> ColumnElement[bool]:
    """P1, or a legal/regulatory risk. `risk` is a JSON list: matched as text (`"legal"` with
    its quotes), which reads the same on both backends."""
    risk = cast(M.risk, Text)
    return or_(M.priority == "P1", *(risk.like(f'%"{r}"%') for r in CRITICAL_RISKS))


def compute_report(session: Session, rules: Rules, period: ReportPeriod, *, now: datetime,
                   team: str | None = None, tz_name: str | None = None,
                   critical: bool = False) -> Report:
    """Every figure of the report for `period` (and `team`), as of `now`."""
    tz_name = tz_name or report_timezone(rules)
    tz = ZoneInfo(tz_name)
    where = _in_period(period, team)
    cube = _cube(session, period, team, now)
    by_network: Counter[str] = Counter()
    by_team: Counter[str] = Counter()
    sentiment: Counter[str] = Counter()
    sla: dict[str, list[int]] = {p: [0, 0, 0, 0] for p in PRIORITIES}
    unanswered = answered = closed = 0
    for network, team_id, sent, prio, n, hit, missed, pending, no_sla, unans, ans, clo in cube:
        by_network[network] += n
        by_team[team_id] += n
        sentiment[sent] += n
        for i, v in enumerate((hit, missed, pending, no_sla)):
            sla.setdefault(prio, [0, 0, 0, 0])[i] += int(v or 0)
        unanswered += int(unans or 0)
        answered += int(ans or 0)
        closed += int(clo or 0)
    prev = period.previous()
    previous = dict(session.execute(select(M.sentiment, func.count())
                                    .where(*_in_period(prev, team))
                                    .group_by(M.sentiment)).all())
    first = percentiles(session, seconds_between(session, M.first_response_at, M.ingested_at),
                        where, count=answered)
    close = percentiles(session, seconds_between(session, M.closed_at, M.ingested_at), where,
                        count=closed)
    hours, days = _volume(session, period, team, tz)
    medians = _daily_median_response(session, period, team, tz)
    day_rows = tuple(DayRow(d, {s: days.get(d, Counter()).get(s, 0) for s in SENTIMENTS},
                            medians.get(d)) for d in _local_days(period, tz))
    open_unanswered = [*where, M.status.in_(OPEN_STATUSES), M.first_response_at.is_(None)]
    crit: list[MentionLine] = []
    crit_count = 0
    if critical:
        crit_count = int(session.scalar(select(func.count()).select_from(M).where(
            *where, critical_condition())) or 0)
        crit = mention_lines(session, [*where, critical_condition()], CRITICAL_SHOWN)
    return Report(
        period=period, team=team, timezone=tz_name, generated_at=now,
        total=sum(by_network.values()),
        by_network=dict(by_network.most_common()), by_team=dict(by_team.most_common()),
        sentiment={s: sentiment.get(s, 0) for s in SENTIMENTS},
        previous_total=sum(previous.values()),
        previous_sentiment={s: int(previous.get(s, 0)) for s in SENTIMENTS},
        first_response=_durations(*first), close=_durations(*close),
        sla=tuple(SlaRow(p, *v) for p, v in sla.items()),
        outcomes=_outcomes(session, rules, period, team),
        approvals=_approvals(session, period, team),
        top_authors=tuple(_top_authors(session, period, team)),
        hours=tuple(hours), days=day_rows,
        unanswered_count=unanswered,
        unanswered=tuple(mention_lines(session, open_unanswered, UNANSWERED_SHOWN)),
        critical=tuple(crit), critical_count=crit_count)


