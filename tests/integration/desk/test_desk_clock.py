"""`card_view` without a clock: `now` is optional, and the card then shows the mention as of
the real time. Found by the type checker: the default had been lost, and a mention with an SLA
due time failed with `datetime >= None` instead of drawing its card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.desk import commands as desk
from bot.domain.rules.schema import Rules

RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1", "approvers": ["U0LEAD"]}},
    "default_team": "support",
    "outcomes": ["resolved", "no_action"],
})
LONG_AGO = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)


def test_card_view_without_now_judges_the_sla_by_the_real_clock(session, make_mention):
    late = make_mention(team="support", sla_due_at=LONG_AGO)
    view = desk.card_view(session, RULES, late.id)
    assert (view.sla_due_at, view.overdue) == (LONG_AGO, True)


def test_card_view_without_now_is_not_overdue_before_the_due_time(session, make_mention):
    due = datetime.now(UTC) + timedelta(days=1)
    m = make_mention(team="support", sla_due_at=due)
    assert not desk.card_view(session, RULES, m.id).overdue
