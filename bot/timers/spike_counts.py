"""The SQL behind spike detection: counts per period with aggregates, never a loop over rows.

Periods are ranges of `mention.ingested_at` (indexed); several periods (the 28 same-hour
windows of the baseline) are one query with an OR of ranges. With `late` given, a mention
posted more than `late` before its period began is left out: a late arrival (the backlog a
restart after downtime fetches, a feed that publishes hours after the post) is not a surge. Rules are counted by unnesting
the `matched_rules` JSON array: `json_each` on SQLite, `json_array_elements_text` on
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select, true
from sqlalchemy.orm import Session

from bot.domain.spikes import ALL, COMPLAINTS, NEGATIVE, rule_key
from bot.kit import models
from bot.reports.cube import flag
from bot.reports.figures import AuthorReach
from bot.slack.blocks.alert import CardLink

M, A = models.Mention, models.Author
Period = tuple[datetime, datetime]
TEXTS_MAX = 500  # the newest texts of a window read for its common words


def _in(periods: Sequence[Period], late: timedelta | None = None) -> ColumnElement[bool]:
    if late is None:
        return or_(*(and_(M.ingested_at >= s, M.ingested_at < e) for s, e in periods))
    return or_(*(and_(M.ingested_at >= s, M.ingested_at < e,
                      or_(M.created_at.is_(None), M.created_at >= s - late))
                 for s, e in periods))


def history_start(session: Session) -> datetime | None:
    return session.scalar(select(func.min(M.ingested_at)))


def _rules_unnested(session: Session):
    fn = ("json_array_elements_text" if session.get_bind().dialect.name == "postgresql"
          else "json_each")
    return getattr(func, fn)(M.matched_rules).table_valued("value").alias("matched")


def rule_counts(session: Session, periods: Sequence[Period],
                names: Sequence[str] | None = None, *,
                late: timedelta | None = None) -> dict[str, int]:
    """Mentions per matched rule in `periods` (only `names` when given)."""
    if not periods or names == ():
        return {}
    rules = _rules_unnested(session)
    q = (select(rules.c.value, func.count()).select_from(M).join(rules, true())
         .where(_in(periods, late)).group_by(rules.c.value))
    if names is not None:
        q = q.where(rules.c.value.in_(list(names)))
    return {str(name): int(n) for name, n in session.execute(q)}


def counts(session: Session, periods: Sequence[Period], rule_names: Sequence[str], *,
           late: timedelta | None = None) -> dict[str, int]:
    """The watched rates in `periods`: all, negative, complaints, and each rule in
    `rule_names` (0 too)."""
    out = {ALL: 0, NEGATIVE: 0, COMPLAINTS: 0, **{rule_key(n): 0 for n in rule_names}}
    if not periods:
        return out
    total, negative, complaints = session.execute(
        select(func.count(), func.coalesce(flag(M.sentiment == "negative"), 0),
               func.coalesce(flag(M.complaint.is_(True)), 0))
        .where(_in(periods, late))).one()
    out[ALL], out[NEGATIVE], out[COMPLAINTS] = int(total), int(negative), int(complaints)
    for name, n in rule_counts(session, periods, tuple(rule_names), late=late).items():
        out[rule_key(name)] = n
    return out


def top_authors(session: Session, period: Period, most: int = 5, *,
                late: timedelta | None = None) -> list[AuthorReach]:
    rows = session.execute(
        select(A.handle, A.network, A.name, A.followers, func.count(M.id))
        .join(M, M.author_id == A.id).where(_in([period], late))
        .group_by(A.id, A.handle, A.network, A.name, A.followers)
        .order_by(A.followers.desc(), func.count(M.id).desc()).limit(most)).all()
    return [AuthorReach(network=n, handle=h, name=name, followers=int(f or 0), mentions=int(c))
            for h, n, name, f, c in rows]


def card_links(session: Session, period: Period, most: int = 8, *,
               late: timedelta | None = None) -> list[CardLink]:
    """The storm's most urgent mentions, most reach first within a priority."""
    rows = session.execute(
        select(M.id, M.priority, M.network, A.handle, M.slack_channel, M.slack_ts, M.url)
        .join(A, M.author_id == A.id).where(_in([period], late))
        .order_by(M.priority, A.followers.desc(), M.id.desc()).limit(most)).all()
    return [CardLink(*r) for r in rows]


def texts(session: Session, period: Period, most: int = TEXTS_MAX, *,
          late: timedelta | None = None) -> list[str]:
    return list(session.scalars(select(M.text).where(_in([period], late))
                                .order_by(M.ingested_at.desc()).limit(most)))
