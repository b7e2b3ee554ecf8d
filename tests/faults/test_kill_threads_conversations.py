"""Kill -9 while Threads conversations are read and threaded: a card answered and closed, then
a poll whose news are none of them in `/me/mentions` (the customer answering our reply without
@, a stranger under the card, a reply to the brand's own post). Killed before every request
the poll makes (the mentions page, the brand's posts, each conversation page) and at every
database statement and COMMIT of its store, then a restart on the same database polls: the
follow-up and the context stored once in the card's thread and queued there once, the card
reopened once, the new customer carded once, our own reply never a post of its own. Against
the fake Threads over real HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import PollOutcome, poll_source
from bot.networks.threads.client import build_threads
from bot.networks.threads.source import ThreadsSource
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_threads import FakeThreads
from tests.support.fault_world import Killed, Process, kill_plan
from tests.support.gap_networks import killable
from tests.support.gap_storm import rules_with
from tests.support.threads_answers import CARD, NEW_CARD, THREAD, answers, close_answered, seed

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
SPEC = SourceSpec(id="threads", type="threads_mentions")
RULES = rules_with(SPEC)


def poll(url: str, fake: FakeThreads, clock: Clock, process: Process | None = None
         ) -> PollOutcome:
    """One poll by a process with its own engine and client: both die with the process."""
    engine = make_engine(url)
    source = ThreadsSource(SPEC, Brand(name="Acme Bank"),
                           build_threads(fake.settings(), clock=lambda: clock.now))
    if process is not None:
        process.attach(engine)
        killable(source.api.graph, "page", process)  # every GET of a list: each request
    try:
        return poll_source(make_session_factory(engine), source, RULES, clock=clock)
    finally:
        engine.dispose()


def answered(url: str) -> tuple[FakeThreads, Clock]:
    """The card polled, answered and closed; then the answers posted: the poll to kill next."""
    fake = FakeThreads(clock=lambda: NOW.timestamp()).start()
    clock = Clock(NOW - timedelta(minutes=30))
    seed(fake, NOW.timestamp())
    assert poll(url, fake, clock).new == 1
    engine = make_engine(url)
    try:
        reply_id = close_answered(make_session_factory(engine), fake, NOW)
    finally:
        engine.dispose()
    answers(fake, reply_id, NOW.timestamp())
    clock.now = NOW
    return fake, clock


def check(url: str) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            posts = s.execute(select(models.ThreadPost.external_id, models.ThreadPost.role)
                              ).all()
            cards = s.scalars(select(models.Mention.external_id)).all()
            card_rows = s.scalar(select(func.count()).select_from(models.OutboxMessage)
                                 .where(models.OutboxMessage.kind == "card"))
            thread_rows = s.scalar(select(func.count()).select_from(models.OutboxMessage)
                                   .where(models.OutboxMessage.kind == "thread"))
            reopens = s.scalar(select(func.count()).select_from(models.AuditEvent).where(
                models.AuditEvent.action == "reopen"))
            card = s.scalars(select(models.Mention).where(
                models.Mention.external_id == CARD)).one()
            state = (card.status, card.follow_ups, card.reopens)
    finally:
        engine.dispose()
    lost = len(set(THREAD) - {p for p, _ in posts}) + (NEW_CARD not in cards)
    assert fault_figures.invariant("mentions lost", lost) == 0, (posts, cards)
    doubled = (len(posts) - len(THREAD) + len(cards) - 2 + max(0, card_rows - 2)
               + max(0, thread_rows - len(THREAD)) + max(0, reopens - 1))
    assert fault_figures.invariant("duplicate cards", doubled) == 0, (
        posts, cards, card_rows, thread_rows, reopens)
    assert dict(posts) == THREAD and sorted(cards) == sorted([CARD, NEW_CARD])
    assert state == ("claimed", 1, 1)


def test_kill_at_every_request_and_statement_of_a_conversation_poll_then_restart(fresh_db):
    url = fresh_db()
    fake, clock = answered(url)
    try:
        dry = Process()
        assert poll(url, fake, clock, dry).status == "ok"
        check(url)
    finally:
        fake.stop()
    assert dry.counts["page"] >= 4, dry.counts  # mentions, the brand's posts, 2 conversations
    for point in kill_plan(dry.counts):
        url = fresh_db()
        fake, clock = answered(url)
        try:
            process = Process(point)
            with pytest.raises(Killed):
                poll(url, fake, clock, process)
            assert process.fired, f"kill point {point} was never reached"
            fault_figures.tried("kill points")
            clock.advance(300)
            assert poll(url, fake, clock).status == "ok", point
            check(url)
            clock.advance(300)
            assert poll(url, fake, clock).new == 0  # once more: nothing new, nothing repeated
            check(url)
        finally:
            fake.stop()
