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

from bot.kit.db import make_engine, make_session_factory
from bot.listening.polling import PollOutcome, poll_source
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_meta import FakeMeta
from tests.support.fault_world import Process
from tests.support.gap_networks import killable
from tests.support.gap_storm import rules_with
from tests.support.kill_restart import Replay, kill_every_point_then_restart, stored
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


def answered(url: str, network: str) -> tuple[Replay, OldPost]:
    fake = FakeMeta(clock=lambda: NOW.timestamp()).start()
    clock = Clock(NOW - timedelta(minutes=30))
    case = old_post_case(network, fake, clock)
    assert poll(url, case, clock).new == 1
    case.answer()
    clock.now = NOW
    return Replay(lambda process: poll(url, case, clock, process), clock, fake.stop), case


def check(url: str, case: OldPost) -> None:
    got = stored(url)
    lost = len(set(case.thread) - {p for p, _ in got.posts})
    assert fault_figures.invariant("mentions lost", lost) == 0, got
    doubled = (len(got.posts) - len(case.thread) + len(got.cards) - 1
               + max(0, got.outbox["thread"] - len(case.thread)))
    assert fault_figures.invariant("duplicate cards", doubled) == 0, got
    assert dict(got.posts) == case.thread and got.cards == [case.card]


@pytest.mark.parametrize("network", ["facebook", "instagram"])
def test_kill_at_every_page_and_statement_of_a_watching_poll_then_restart(fresh_db, network):
    cases: dict[str, OldPost] = {}

    def start(url: str) -> Replay:
        replay, cases[url] = answered(url, network)
        return replay

    counts = kill_every_point_then_restart(fresh_db, start, lambda url: check(url, cases[url]))
    assert counts["page"] >= 1, counts  # the old post's comments
