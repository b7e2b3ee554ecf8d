"""Kill -9 while Threads conversations are read and threaded: a card answered and closed, then
a poll whose news are none of them in `/me/mentions` (the customer answering our reply without
@, a stranger under the card, a reply to the brand's own post). Killed before every request
the poll makes (the mentions page, the brand's posts, each conversation page) and at every
database statement and COMMIT of its store, then a restart on the same database polls: the
follow-up and the context stored once in the card's thread and queued there once, the card
reopened once, the new customer carded once, our own reply never a post of its own. And a
busy conversation: the poll that reads the gap an earlier poll's page cap left in it, killed at
each point the same way: every reply stored once in the card's thread, none lost. Against the
fake Threads over real HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain.rules.schema import Brand, SourceSpec
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import PollOutcome, poll_source
from bot.networks.gaps import load
from bot.networks.threads.client import build_threads
from bot.networks.threads.source import ThreadsSource
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_threads import FakeThreads
from tests.support.fault_world import Process
from tests.support.gap_networks import killable
from tests.support.gap_storm import rules_with
from tests.support.kill_restart import Replay, kill_every_point_then_restart, stored
from tests.support.threads_answers import CARD, NEW_CARD, THREAD, answers, close_answered, seed

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
SPEC = SourceSpec(id="threads", type="threads_mentions")
RULES = rules_with(SPEC)


def poll(url: str, fake: FakeThreads, clock: Clock, process: Process | None = None, *,
         page_limit: int = 25) -> PollOutcome:
    """One poll by a process with its own engine and client: both die with the process."""
    engine = make_engine(url)
    source = ThreadsSource(SPEC, Brand(name="Acme Bank"),
                           build_threads(fake.settings(), clock=lambda: clock.now),
                           page_limit=page_limit)
    if process is not None:
        process.attach(engine)
        killable(source.api.graph, "page", process)  # every GET of a list: each request
    try:
        return poll_source(make_session_factory(engine), source, RULES, clock=clock)
    finally:
        engine.dispose()


def answered(url: str) -> Replay:
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
    return Replay(lambda process: poll(url, fake, clock, process), clock, fake.stop)


def check(url: str) -> None:
    got = stored(url)
    lost = len(set(THREAD) - {p for p, _ in got.posts}) + (NEW_CARD not in got.cards)
    assert fault_figures.invariant("mentions lost", lost) == 0, got
    doubled = (len(got.posts) - len(THREAD) + len(got.cards) - 2 + max(0, got.outbox["card"] - 2)
               + max(0, got.outbox["thread"] - len(THREAD)) + max(0, got.reopens - 1))
    assert fault_figures.invariant("duplicate cards", doubled) == 0, got
    assert dict(got.posts) == THREAD and sorted(got.cards) == sorted([CARD, NEW_CARD])
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            card = s.scalars(select(models.Mention).where(
                models.Mention.external_id == CARD)).one()
            assert (card.status, card.follow_ups, card.reopens) == ("claimed", 1, 1)
    finally:
        engine.dispose()


def test_kill_at_every_request_and_statement_of_a_conversation_poll_then_restart(fresh_db):
    counts = kill_every_point_then_restart(fresh_db, answered, check)
    assert counts["page"] >= 4, counts  # mentions, the brand's posts, 2 conversations


BUSY = [str(18000000000001000 + n) for n in range(12)]  # 6 pages of 2: 4 read, 2 left


def gap_left(url: str) -> Replay:
    """The card polled, then 6 pages of lee's replies under it: a poll reads 4 and leaves the
    rest as the conversation's gap; the poll to kill next reads it."""
    fake = FakeThreads(clock=lambda: NOW.timestamp()).start()
    clock = Clock(NOW - timedelta(minutes=30))
    fake.post(CARD, "lee.p", "@acmebank app down?", NOW.timestamp() - 2400, mentions_us=True)
    assert poll(url, fake, clock, page_limit=2).new == 1
    for n, reply in enumerate(BUSY):
        fake.post(reply, "lee.p", f"still down ({n})", NOW.timestamp() - 1200 + n, parent=CARD)
    clock.now = NOW - timedelta(minutes=5)
    assert poll(url, fake, clock, page_limit=2).status == "ok"
    assert len(stored(url).posts) == 8 and _gaps(url) == [f"replies:{CARD}"]
    clock.now = NOW
    return Replay(lambda process: poll(url, fake, clock, process, page_limit=2), clock,
                  fake.stop)


def _gaps(url: str) -> list[str | None]:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            row = s.get(models.Source, SPEC.id)
            return [g.scope for g in load(row.backfill if row else None)]
    finally:
        engine.dispose()


def check_busy(url: str) -> None:
    got = stored(url)
    lost = len(set(BUSY) - {p for p, _ in got.posts})
    assert fault_figures.invariant("mentions lost", lost) == 0, got
    doubled = (len(got.posts) - len(BUSY) + len(got.cards) - 1
               + max(0, got.outbox["thread"] - len(BUSY)) + max(0, got.outbox["card"] - 1))
    assert fault_figures.invariant("duplicate cards", doubled) == 0, got
    assert got.cards == [CARD]


def test_kill_at_every_point_of_the_poll_reading_a_busy_conversations_gap_then_restart(
        fresh_db):
    counts = kill_every_point_then_restart(fresh_db, gap_left, check_busy)
    assert counts["page"] >= 4, counts  # mentions, the brand's posts, the gap's 2 pages
