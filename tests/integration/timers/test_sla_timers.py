"""The SLA job on a real database (SQLite, and PostgreSQL when configured), with a fake
clock: the reminder at 75 %, the escalation at breach, never twice (run again, run by two
workers at once, run after a restart), nothing for answered mentions; the messages as they
reach a fake Slack through the real outbox and renderer; deadlines recomputed by the desk."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.desk import commands as desk
from bot.desk.directory import StaticDirectory
from bot.desk.work import Work
from bot.domain import sla
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.outbox import OutboxSender, sender_client
from bot.slack.ids import CardRef
from bot.slack.render import Renderer
from bot.timers.sla import run_sla, start_timer
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.threads import run_at_once

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {
        "support": {"channel": "C0SUPPORT1", "label": "Customer support",
                    "approvers": ["U0LEAD", "S0LEADS"], "sla": {"P1": "15m", "P2": "1h"}},
        "pr": {"channel": "C0PRESS01", "approvers": ["U0PRLEAD"], "sla": {"P2": "4h"},
               "business_hours": {"days": ["mon", "tue", "wed", "thu", "fri"],
                                  "start": "09:00", "end": "17:00", "timezone": "UTC"}},
    },
    "default_team": "support",
    "outcomes": ["resolved", "no_action"],
})
DIRECTORY = StaticDirectory({"S0LEADS": {"U0GLEAD"}})
ANA = "U0ANA"
_ts = itertools.count(1)


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


def add(factory, *, priority: str = "P2", team: str = "support", posted: bool = True,
        **extra) -> int:
    """A mention ingested at NOW with its SLA timer set, its card posted unless not `posted`."""
    with session_scope(factory) as s:
        author = models.Author(network="x", handle=f"user{next(_ts)}", followers=10,
                               author_type="customer")
        m = models.Mention(
            network="x", external_id=f"sla-{next(_ts)}", text="my card was swallowed",
            author=author, compound=-0.5, sentiment="negative", author_type="customer",
            score=50, priority=priority, team=team, ingested_at=NOW, mentions_brand=True,
            slack_channel=RULES.teams[team].channel if posted else None,
            slack_ts=f"1700000000.{next(_ts):06d}" if posted else None, **extra)
        start_timer(m, RULES, NOW)
        s.add(m)
        s.flush()
        return m.id


def rows(factory, mention_id: int | None = None) -> list[tuple[str, str | None]]:
    """(kind, payload type) of the SLA outbox rows, in order."""
    with factory() as s:
        q = select(models.OutboxMessage).where(models.OutboxMessage.dedupe_key.like("sla:%"))
        if mention_id is not None:
            q = q.where(models.OutboxMessage.mention_id == mention_id)
        return [(r.kind, r.payload.get("type"))
                for r in s.scalars(q.order_by(models.OutboxMessage.id))]


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_reminder_at_75_percent_then_escalation_at_breach_each_once(factory):
    mid = add(factory)  # P2: 1 h → reminder at 45 min, due at 60 min
    with factory() as s:
        m = s.get(models.Mention, mid)
        assert (m.sla_due_at, m.sla_next_at) == (at(60), at(45))
    assert run_sla(factory, RULES, at(44.9)).reminders == 0
    assert rows(factory) == []
    assert run_sla(factory, RULES, at(45)).reminders == 1
    assert rows(factory) == [("thread", "sla_reminder")]
    for minute in (45, 46, 59.9):
        assert run_sla(factory, RULES, at(minute)) == (0, 0)
    assert rows(factory) == [("thread", "sla_reminder")]
    run = run_sla(factory, RULES, at(60))
    assert (run.reminders, run.escalations) == (0, 1)
    assert rows(factory) == [("thread", "sla_reminder"), ("thread", "sla_breach"),
                             ("update", None)]
    for minute in (60, 61, 600):
        assert run_sla(factory, RULES, at(minute)) == (0, 0)
    assert len(rows(factory)) == 3
    with factory() as s:
        assert s.get(models.Mention, mid).sla_next_at is None


def test_a_late_run_escalates_without_a_stale_reminder(factory):
    mid = add(factory, priority="P1")
    assert run_sla(factory, RULES, at(30)) == (0, 1)
    assert rows(factory, mid) == [("thread", "sla_breach"), ("update", None)]


def test_answered_or_closed_mentions_are_not_chased(factory):
    sent = add(factory, status="sent", claimed_by=ANA)
    closed = add(factory, status="closed", outcome="resolved")
    open_ = add(factory)
    run_sla(factory, RULES, at(45))
    run_sla(factory, RULES, at(60))
    assert rows(factory, sent) == [] and rows(factory, closed) == []
    assert len(rows(factory, open_)) == 3
    with factory() as s:  # their timers were stopped: the job won't look at them again
        assert [s.get(models.Mention, i).sla_next_at for i in (sent, closed)] == [None, None]


def test_no_duplicates_after_a_restart(factory, migrated_url):
    add(factory)
    run_sla(factory, RULES, at(45))
    # A restart: a new engine, and the timer column as a crash might have left it (the
    # reminder committed, the move of sla_next_at lost is impossible: one transaction; but
    # an operator resetting timers must not cause repeats either).
    with session_scope(factory) as s:
        for m in s.scalars(select(models.Mention)):
            start_timer(m, RULES, m.ingested_at)
    engine = make_engine(migrated_url)
    try:
        again = make_session_factory(engine)
        assert run_sla(again, RULES, at(46)).reminders == 0
    finally:
        engine.dispose()
    assert rows(factory) == [("thread", "sla_reminder")]


def test_two_workers_at_once_send_each_message_once(factory, migrated_url):
    ids = [add(factory) for _ in range(40)]
    runs = run_at_once(migrated_url, lambda f: (run_sla(f, RULES, at(45)),
                                                 run_sla(f, RULES, at(60))))
    results = [r for pair in runs for r in pair]
    assert sum(r.reminders for r in results) == 40
    assert sum(r.escalations for r in results) == 40
    for mid in ids:
        assert rows(factory, mid) == [("thread", "sla_reminder"), ("thread", "sla_breach"),
                                      ("update", None)]


def test_business_hours_move_the_stages(factory):
    # Friday 15:00 UTC, P2 with 4 business hours (09–17): 2 h on Friday, 2 h on Monday.
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    with session_scope(factory) as s:
        author = models.Author(network="x", handle="biz", followers=1, author_type="press")
        m = models.Mention(network="x", external_id="biz-1", text="press question",
                           author=author, compound=0.0, sentiment="neutral",
                           author_type="press", score=50, priority="P2", team="pr",
                           ingested_at=friday, slack_channel="C0PRESS01",
                           slack_ts="1700000001.000001")
        start_timer(m, RULES, friday)
        s.add(m)
        s.flush()
        mid = m.id
        assert m.sla_due_at == datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
        assert m.sla_next_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # 3 of 4 h
    assert run_sla(factory, RULES, datetime(2026, 11, 29, 23, 0, tzinfo=UTC)) == (0, 0)
    assert run_sla(factory, RULES, datetime(2026, 11, 30, 10, 0, tzinfo=UTC)) == (1, 0)
    assert run_sla(factory, RULES, datetime(2026, 11, 30, 11, 0, tzinfo=UTC)) == (0, 1)
    assert len(rows(factory, mid)) == 3


def test_reassign_and_priority_change_recompute_the_deadline(factory, session):
    mid = add(factory)
    m = session.get(models.Mention, mid)
    m = desk.correct(Work(session, RULES, DIRECTORY, at(5)), ANA, CardRef(m.id, m.version), "priority", "P1")
    assert (m.sla_due_at, m.sla_next_at) == (at(15), at(11.25))  # from arrival, P1: 15 min
    m = desk.reassign(Work(session, RULES, DIRECTORY, at(6)), ANA, CardRef(m.id, m.version), "pr")
    assert m.sla_due_at is None and m.sla_next_at is None  # pr has no P1 SLA
    session.commit()
    assert run_sla(factory, RULES, at(120)) == (0, 0)


def test_a_new_deadline_gets_its_own_reminder(factory, session):
    mid = add(factory)
    run_sla(factory, RULES, at(45))
    m = session.get(models.Mention, mid)
    desk.reassign(Work(session, RULES, DIRECTORY, at(50)), ANA, CardRef(m.id, m.version), "pr")
    session.commit()
    m = session.get(models.Mention, mid)
    due = sla.due_at(RULES, "pr", "P2", NOW)
    assert m.sla_due_at == due == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert run_sla(factory, RULES, datetime(2026, 11, 23, 13, 0, tzinfo=UTC)).reminders == 1
    assert [k for k in rows(factory, mid)] == [("thread", "sla_reminder")] * 2


# --- the messages, through the real outbox and renderer, to a fake Slack ---------------------

@pytest.fixture
def slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


def blocks_text(call) -> str:
    b = call.params.get("blocks")
    return json.dumps(json.loads(b) if isinstance(b, str) else b, ensure_ascii=False)


def test_reminder_and_escalation_reach_the_cards_thread(factory, slack):
    clock = Clock(NOW)
    sender = OutboxSender(factory, sender_client("xoxb-test", slack.api_url, timeout=5),
                          Renderer(lambda: RULES, DIRECTORY, clock), clock)
    claimed = add(factory, status="claimed", claimed_by=ANA)
    unclaimed = add(factory)
    with factory() as s:
        cards = {i: s.get(models.Mention, i).slack_ts for i in (claimed, unclaimed)}

    clock.now = at(45)
    run_sla(factory, RULES, clock.now)
    assert sender.run_once(clock.now) == 2
    posts = {c.params["thread_ts"]: c for c in slack.calls_to("chat.postMessage")}
    to_ana = posts[cards[claimed]]
    assert to_ana.params["channel"] == "C0SUPPORT1"
    assert "<@U0ANA>, a reminder" in blocks_text(to_ana)
    to_team = posts[cards[unclaimed]]
    assert to_team.params.get("reply_broadcast") in (True, "1", "true", "True")
    assert "Nobody has claimed" in blocks_text(to_team) and '"claim"' in blocks_text(to_team)

    clock.now = at(60)
    run_sla(factory, RULES, clock.now)
    sender.run_once(clock.now)
    escalations = [c for c in slack.calls_to("chat.postMessage") if "overdue" in blocks_text(c)]
    assert len(escalations) == 2
    assert all("<@U0LEAD>, <!subteam^S0LEADS>: *overdue*" in blocks_text(c) for c in escalations)
    updates = slack.calls_to("chat.update")
    assert sorted(c.params["ts"] for c in updates) == sorted(cards.values())
    assert all(":rotating_light: *Overdue*" in blocks_text(c) for c in updates)

    clock.now = at(120)
    run_sla(factory, RULES, clock.now)
    sender.run_once(clock.now)
    assert len(slack.calls_to("chat.postMessage")) == 4 and len(updates) == 2
