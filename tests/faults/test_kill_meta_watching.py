"""Kill -9 while Facebook and Instagram watch the desk's older posts (no webhook): a card on a
comment under a post the poll no longer lists, then a poll that reads that post's comments
because the desk watches it, finding the customer's answer and a stranger's. Killed before
every comment page the poll reads and at every database statement and COMMIT of its store,
then a restart polls twice: each answer stored once in the card's thread and queued there
once, never a card of its own. Against the fake Graph API over real HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import PollOutcome, poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_meta import FakeMeta
from tests.support.fault_world import Killed, Process, kill_plan
from tests.support.gap_networks import killable
from tests.support.gap_storm import rules_with
from tests.support.meta_watching import OldPost, old_post_case

NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


def poll(url: str, case: OldPost, clock: Clock, process: Process | None = None
         ) -> PollOutcome:
    """One poll by a process with its own engine and source: both die with the process."""
    engine = make_engine(url)
    source = case.source()
    if process is not None:
        process.attach(engine)
        killable(source, "_comment_page", process)
    try:
        return poll_source(make_session_factory(engine), source, rules_with(case.spec),
                           clock=clock)
    finally:
        engine.dispose()


def answered(url: str, network: str) -> tuple[FakeMeta, OldPost, Clock]:
    fake = FakeMeta(clock=lambda: NOW.timestamp()).start()
    clock = Clock(NOW - timedelta(minutes=30))
    case = old_post_case(network, fake, clock)
    assert poll(url, case, clock).new == 1
    case.answer()
    clock.now = NOW
    return fake, case, clock


def check(url: str, case: OldPost) -> None:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            posts = s.execute(select(models.ThreadPost.external_id, models.ThreadPost.role)
                              ).all()
            cards = s.scalars(select(models.Mention.external_id)).all()
            thread_rows = s.scalar(select(func.count()).select_from(models.OutboxMessage)
                                   .where(models.OutboxMessage.kind == "thread"))
    finally:
        engine.dispose()
    lost = len(set(case.thread) - {p for p, _ in posts})
    assert fault_figures.invariant("mentions lost", lost) == 0, posts
    doubled = len(posts) - len(case.thread) + len(cards) - 1 + max(0, thread_rows
                                                                     - len(case.thread))
    assert fault_figures.invariant("duplicate cards", doubled) == 0, (posts, cards,
                                                                      thread_rows)
    assert dict(posts) == case.thread and cards == [case.card]


@pytest.mark.parametrize("network", ["facebook", "instagram"])
def test_kill_at_every_page_and_statement_of_a_watching_poll_then_restart(fresh_db, network):
    url = fresh_db()
    fake, case, clock = answered(url, network)
    try:
        dry = Process()
        assert poll(url, case, clock, dry).status == "ok"
        check(url, case)
    finally:
        fake.stop()
    assert dry.counts["page"] >= 1, dry.counts  # the old post's comments
    for point in kill_plan(dry.counts):
        url = fresh_db()
        fake, case, clock = answered(url, network)
        try:
            process = Process(point)
            with pytest.raises(Killed):
                poll(url, case, clock, process)
            assert process.fired, f"kill point {point} was never reached"
            fault_figures.tried("kill points")
            clock.advance(300)
            assert poll(url, case, clock).status == "ok", point
            check(url, case)
            clock.advance(300)
            assert poll(url, case, clock).new == 0  # once more: nothing new, nothing repeated
            check(url, case)
        finally:
            fake.stop()
