"""The report's conversation figures (README "Conversations"): how many cards had the customer
write again, replies per such conversation, time to resolution, reopen rate. One aggregate
scan of the period's mentions, one count of their replies, one percentile query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from bot.kit import models
from bot.reports.cube import flag
from bot.reports.figures import Conversations, Durations
from bot.reports.percentiles import percentiles, seconds_between

M, R = models.Mention, models.Reply


def conversation_figures(session: Session, where: Sequence[ColumnElement[bool]],
                         ps: Sequence[float] = (0.5, 0.9)) -> Conversations:
    talked = M.follow_ups > 0
    # Reopen rate's base: mentions that were answered or closed at some point (a reopened
    # one was, even when it is open again now).
    handled = or_(M.first_response_at.is_not(None), M.closed_at.is_not(None), M.reopens > 0)
    row = session.execute(select(
        func.coalesce(flag(talked), 0),
        func.coalesce(func.sum(M.follow_ups), 0),
        func.coalesce(flag(M.reopens > 0), 0),
        func.coalesce(flag(handled), 0),
        func.coalesce(flag(talked & M.closed_at.is_not(None)), 0),
    ).where(*where)).one()
    conversations, follow_ups, reopened, base, resolved = (int(v) for v in row)
    replies = 0
    resolution = Durations(0, None, None)
    if conversations:
        replies = int(session.scalar(
            select(func.count()).select_from(R).join(M, M.id == R.mention_id)
            .where(*where, talked, R.state == "sent")) or 0)
        found = percentiles(session, {"r": seconds_between(session, M.closed_at, M.ingested_at)},
                            [*where, talked], {"r": resolved}, ps)
        n, values = found["r"]
        resolution = Durations(n, values[0], values[1])
    return Conversations(conversations=conversations, follow_ups=follow_ups, replies=replies,
                         reopened=reopened, handled=base, resolution=resolution)
