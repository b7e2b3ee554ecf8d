"""The weekly executive report: due at `reports.weekly.at` in its time zone, queued once per
week whatever the restarts (the outbox dedupe key), posted by the outbox sender with the real
renderer, and carrying the week's critical events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.db import make_engine, make_session_factory
from bot.directory import StaticDirectory
from bot.models import OutboxMessage
from bot.outbox import OutboxSender, sender_client
from bot.render import Renderer
from bot.reports.weekly import latest_slot, run_weekly_report
from bot.rules_schema import Rules, Weekly
from tests.e2e.fake_slack import FakeSlack

EXEC = "C0EXEC00001"
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1"}, "pr": {"channel": "C0PRESS01"}},
    "default_team": "support",
    "reports": {"weekly": {"channel": EXEC, "at": "mon 08:00", "timezone": "Europe/Paris"}},
})
# Paris is UTC+1 in winter: Monday 30 Nov 08:00 there is 07:00 UTC.
DUE = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_slot_covers_the_previous_local_week():
    slot = latest_slot(RULES.reports.weekly, DUE + timedelta(minutes=1))
    assert slot.due == DUE and slot.key == "weekly:2026-W48"
    assert slot.period.start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Mon 00:00 Paris
    assert slot.period.end == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert slot.period.label == "2026-11-23..2026-11-29"
    before = latest_slot(RULES.reports.weekly, DUE - timedelta(seconds=1))
    assert before.key == "weekly:2026-W47"
    # Across a DST change (Paris goes to summer time on 29 March 2026): still 08:00 local.
    spring = latest_slot(Weekly(channel=EXEC, at="mon 08:00", timezone="Europe/Paris"),
                         datetime(2026, 3, 30, 6, 30, tzinfo=UTC))
    assert spring.due == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert spring.period.length == timedelta(days=7, hours=-1)


def _queued(factory) -> list[OutboxMessage]:
    with factory() as s:
        return list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("weekly:%")).order_by(OutboxMessage.id)))


@pytest.fixture
def week(session, make_author, make_mention):
    """The week's mentions: a P1 closed as resolved, a legal risk still open, and noise."""
    inside = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    p1 = make_mention(ingested_at=inside, priority="P1", status="closed", outcome="resolved",
                      first_response_at=inside + timedelta(minutes=7),
                      closed_at=inside + timedelta(hours=1), text="You lost my bag!")
    legal = make_mention(ingested_at=inside + timedelta(hours=3), priority="P2", team="pr",
                         risk=["legal"], text="My lawyer will hear about this")
    make_mention(ingested_at=inside + timedelta(hours=5), priority="P4", sentiment="positive")
    make_mention(ingested_at=datetime(2026, 11, 30, 0, 30, tzinfo=UTC), priority="P1")  # next week
    session.commit()
    return p1, legal


def test_posted_once_per_week_across_restarts(migrated_url, week):
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    assert run_weekly_report(factory, RULES, DUE - timedelta(minutes=1)) is False  # not yet
    assert run_weekly_report(factory, RULES, DUE + timedelta(minutes=1)) is True
    assert run_weekly_report(factory, RULES, DUE + timedelta(minutes=6)) is False
    engine.dispose()

    # A restart: new engine, new factory, the job runs again at once and every 5 minutes.
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    for minutes in (11, 16, 60 * 24):
        assert run_weekly_report(factory, RULES, DUE + timedelta(minutes=minutes)) is False
    [row] = _queued(factory)
    assert (row.kind, row.channel, row.dedupe_key) == ("alert", EXEC, "weekly:2026-W48")
    text = str(row.payload["blocks"])
    assert "weekly listening report" in row.payload["text"] and "Critical events* — 2" in text
    p1, legal = week
    assert "Resolved" in text and "You lost my bag!" in text
    assert "legal" in text and "My lawyer will hear about this" in text

    # The sender posts it exactly once, with what was queued.
    fake = FakeSlack().start()
    try:
        clock = lambda: DUE + timedelta(minutes=20)  # noqa: E731
        sender = OutboxSender(factory, sender_client("xoxb-t", fake.api_url),
                              Renderer(lambda: RULES, StaticDirectory({}), clock), clock)
        assert sender.run_once(clock()) == 1
        assert sender.run_once(clock()) == 0
        [post] = fake.posts(EXEC)
        assert post["text"] == row.payload["text"]
    finally:
        fake.stop()

    # A week later: the next week's report, once.
    nxt = DUE + timedelta(days=7, minutes=2)
    assert run_weekly_report(factory, RULES, nxt) is True
    assert run_weekly_report(factory, RULES, nxt + timedelta(minutes=5)) is False
    assert [r.dedupe_key for r in _queued(factory)] == ["weekly:2026-W48", "weekly:2026-W49"]
    engine.dispose()


def test_too_late_or_not_configured_posts_nothing(migrated_url):
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    # Down from Monday to Thursday: that week's report is skipped, not posted days late.
    assert run_weekly_report(factory, RULES, DUE + timedelta(days=3)) is False
    no_weekly = RULES.model_copy(update={"reports": RULES.reports.model_copy(
        update={"weekly": None})})
    assert run_weekly_report(factory, no_weekly, DUE + timedelta(minutes=1)) is False
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    engine.dispose()
