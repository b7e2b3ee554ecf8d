"""One rule for "overdue" (bot.domain.sla.is_overdue), and its SQL twin (models.Mention.overdue)
agreeing with it at the boundary, on SQLite and PostgreSQL: the SLA gauge, the App Home and the
report all count a mention as overdue from its due time on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain import sla
from bot.kit import models
from bot.timers.sla import overdue_count

DUE = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
INSTANTS = (DUE - timedelta(seconds=1), DUE, DUE + timedelta(seconds=1))


def test_overdue_from_the_due_time_on():
    assert [sla.is_overdue(DUE, now) for now in INSTANTS] == [False, True, True]
    assert not sla.is_overdue(None, DUE)


def test_the_sql_twin_agrees_at_the_boundary(session, make_mention):
    due = make_mention(sla_due_at=DUE)
    make_mention(sla_due_at=None)
    for now in INSTANTS:
        found = session.scalars(select(models.Mention.id)
                                .where(models.Mention.overdue(now))).all()
        assert (due.id in found) is sla.is_overdue(DUE, now)
        assert overdue_count(session, now) == int(sla.is_overdue(DUE, now))
