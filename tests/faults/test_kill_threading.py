"""Kill -9 at every database statement and COMMIT of a poll that brings follow-ups, context
and a new customer into a closed card's conversation, then a restart: every follow-up stored
once in the card's thread, posted there once, never turned into a card; the card reopened once
and its follow-ups counted once. The same poll into a card whose draft awaits approval: the
approver is asked again by DM exactly once.

The kill points are those of `test_kill_ingest` (SQLAlchemy's cursor and commit events, plus
the fetch): threading adds its lookups, the `thread_post` inserts, the card's compare-and-set,
the reopen's audit and tag removal, the `thread`/`update` outbox rows and the approvers' `dm`
rows, all counted here.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fault_scenarios import NOW, RULES, x_network
from tests.support.fault_world import FakeX, FakeXSource, Killed, Process, kill_plan

SPEC = RULES.source("x-search")
CARD = "1001"  # ana's first post, answered and closed before the second poll
THREAD = {"1004": "follow_up", "1005": "context", "1007": "follow_up"}
LEAD = "U0LEAD"


def poll(url: str, x: FakeX, clock: Clock, process: Process | None = None):
    engine = make_engine(url)
    if process is not None:
        process.attach(engine)
    try:
        return poll_source(make_session_factory(engine), FakeXSource(SPEC, x, process), RULES,
                           clock=clock)
    finally:
        engine.dispose()


def close_card(url: str, awaiting: bool = False) -> None:
    """Closed, or (`awaiting`) with a draft awaiting approval, its request sent to LEAD by
    DM as `bot.desk.commands.submit` queues it."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            card = s.scalars(select(models.Mention).where(
                models.Mention.external_id == CARD)).one()
            if not awaiting:
                card.status, card.outcome, card.claimed_by, card.closed_at = (
                    "closed", "resolved", "U0ANA", NOW)
                return
            card.status, card.claimed_by = "pending_approval", "U0ANA"
            draft = models.Draft(mention_id=card.id, text="On it", author="U0ANA",
                                 created_at=NOW)
            s.add(draft)
            s.flush()
            s.add(models.OutboxMessage(kind="dm", channel=LEAD, mention_id=card.id,
                                       priority=card.priority, state="sent",
                                       payload={"type": "approval_request", "user": LEAD,
                                                "draft_id": draft.id},
                                       dedupe_key=f"approval:{draft.id}:{LEAD}"))
    finally:
        engine.dispose()


def answers(x: FakeX) -> None:
    """Ana answers under her post twice (the second under the first), Ben chimes in, Cara is
    new: one fetch with every threading write."""
    def reply(n: int, handle: str, text: str, parent: str, minutes: int) -> None:
        m = x.post(n, handle, text, NOW - timedelta(minutes=minutes))
        x.posts[-1] = dataclasses.replace(m, in_reply_to_id=parent, conversation_id=CARD)
    reply(4, "ana", "@NorthwindAir still delayed, I will sue", CARD, 9)
    reply(5, "ben", "@NorthwindAir same flight, same story", CARD, 8)
    x.post(6, "cara", "@NorthwindAir stranded at Gatwick", NOW - timedelta(minutes=7))
    reply(7, "ana", "@NorthwindAir hello??", "1004", 6)


def check_threads(url: str, x: FakeX, awaiting: bool = False) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            posts = dict(s.execute(select(models.ThreadPost.external_id,
                                          models.ThreadPost.role)).all())
            as_cards = s.scalars(select(models.Mention.external_id).where(
                models.Mention.external_id.in_(THREAD))).all()
            thread_rows = s.scalar(select(func.count()).select_from(models.OutboxMessage)
                                   .where(models.OutboxMessage.kind == "thread"))
            card = s.scalars(select(models.Mention).where(
                models.Mention.external_id == CARD)).one()
            reopens = s.scalar(select(func.count()).select_from(models.AuditEvent).where(
                models.AuditEvent.action == "reopen"))
            state = (card.status, card.follow_ups, card.reopens)
            asked_again = s.scalars(select(models.OutboxMessage.channel).where(
                models.OutboxMessage.kind == "dm",
                models.OutboxMessage.dedupe_key.like("%:post:%"))).all()
    finally:
        engine.dispose()
    lost = len(set(THREAD) - set(posts))
    assert fault_figures.invariant("mentions lost", lost) == 0, posts
    doubled = len(as_cards) + max(0, thread_rows - len(THREAD)) + max(0, reopens - 1)
    assert fault_figures.invariant("duplicate cards", doubled) == 0, (as_cards, thread_rows,
                                                                       reopens)
    assert posts == THREAD and thread_rows == len(THREAD)
    if awaiting:  # the approver asked again once, with the customer's new message
        assert fault_figures.invariant("duplicate cards", max(0, len(asked_again) - 1)) == 0
        assert (state, asked_again) == (("pending_approval", 2, 0), [LEAD])
    else:
        assert (state, asked_again) == (("claimed", 2, 1), [])


@pytest.mark.parametrize("awaiting", [False, True], ids=["closed", "awaiting-approval"])
def test_kill_at_every_point_of_a_threading_poll_then_restart_threads_each_post_once(
        fresh_db, awaiting):
    url = fresh_db()
    x = x_network()
    clock = Clock(NOW)
    poll(url, x, clock)
    close_card(url, awaiting)
    answers(x)
    dry = Process()
    outcome = poll(url, x, clock, dry)
    assert outcome.status == "ok", outcome
    check_threads(url, x, awaiting)
    plan = kill_plan(dry.counts)

    for point in plan:
        url = fresh_db()
        x = x_network()
        clock = Clock(NOW)
        poll(url, x, clock)
        close_card(url, awaiting)
        answers(x)
        clock.now += timedelta(minutes=5)
        process = Process(point)
        with pytest.raises(Killed):
            poll(url, x, clock, process)
        assert process.fired, f"kill point {point} was never reached"
        fault_figures.tried("kill points")

        clock.now += timedelta(minutes=5)
        assert poll(url, x, clock).status == "ok", point
        check_threads(url, x, awaiting)
        clock.now += timedelta(minutes=5)
        poll(url, x, clock)  # once more: nothing new, nothing repeated
        check_threads(url, x, awaiting)
