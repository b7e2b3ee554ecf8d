"""Kill -9 at every database statement and COMMIT of a poll (its read, its store transaction,
its commit), then a restart on the same database: every mention stored once, one card each,
authors counted once, the cursor where the committed mentions are.

The crash is a `Killed` raised from SQLAlchemy's `before_cursor_execute`/`commit` events at
the k-th operation, for k = 1..N where N is what a complete poll takes (counted by a dry run),
plus the network fetch itself; after it the "process" is dead (no later statement runs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.ingest import normalise_handle
from bot.listening.polling import poll_source
from tests.faults import figures
from tests.faults.world import FakeX, FakeXSource, Killed, Process, kill_plan

ROOT = Path(__file__).resolve().parents[2]
RULES = load_rules(ROOT / "routing_rules.yaml")
SPEC = RULES.source("x-search")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def network() -> FakeX:
    """Three posts already stored by an earlier poll, then three more (a known author, a new
    one twice) and the post at the cursor again: every kind of write a poll makes."""
    x = FakeX()
    x.post(1, "ana", "@NorthwindAir my flight is delayed again", NOW - timedelta(hours=2))
    x.post(2, "ben", "Loving the new lounge @NorthwindAir", NOW - timedelta(hours=2))
    x.post(3, "ana", "@NorthwindAir still waiting for my refund", NOW - timedelta(hours=1))
    return x


def more(x: FakeX) -> None:
    x.post(4, "ana", "@NorthwindAir third time asking, I will sue", NOW - timedelta(minutes=9))
    x.post(5, "cara", "@NorthwindAir stranded at Gatwick", NOW - timedelta(minutes=8))
    x.post(6, "cara", "@NorthwindAir no hotel voucher either", NOW - timedelta(minutes=7))


def poll(url: str, x: FakeX, clock: Clock, process: Process | None = None):
    """One poll by a process with its own engine: the engine dies with the process."""
    engine = make_engine(url)
    if process is not None:
        process.attach(engine)
    try:
        return poll_source(make_session_factory(engine), FakeXSource(SPEC, x, process), RULES,
                           clock=clock)
    finally:
        engine.dispose()  # the kernel closes a killed process's sockets: its transaction aborts


def stored(url: str) -> dict:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            mentions = s.execute(select(models.Mention.external_id, models.Mention.id)).all()
            cards = s.execute(select(models.OutboxMessage.mention_id, func.count())
                              .where(models.OutboxMessage.kind == "card")
                              .group_by(models.OutboxMessage.mention_id)).all()
            authors = dict(s.execute(select(models.Author.handle,
                                            models.Author.mention_count)).all())
            cursor = s.scalar(select(models.Source.cursor).where(models.Source.id == SPEC.id))
    finally:
        engine.dispose()
    return {"ids": [e for e, _ in mentions], "mention_pk": dict(mentions),
            "cards": dict(cards), "authors": authors, "cursor": cursor}


def check(url: str, x: FakeX) -> None:
    """The invariants after a restart has polled: counted in the figures, then asserted."""
    state = stored(url)
    expected = {m.external_id for m in x.posts}
    ids = state["ids"]
    no_card = [e for e in ids if state["cards"].get(state["mention_pk"][e], 0) == 0]
    lost = len(expected - set(ids)) + len(no_card)
    dup_mentions = len(ids) - len(set(ids))
    dup_cards = sum(n - 1 for n in state["cards"].values() if n > 1) + dup_mentions
    assert figures.invariant("mentions lost", lost) == 0, (expected - set(ids), no_card)
    assert figures.invariant("duplicate cards", dup_cards) == 0, state["cards"]
    by_author: dict[str, int] = {}
    for m in x.posts:
        key = normalise_handle(m.author.handle)
        by_author[key] = by_author.get(key, 0) + 1
    assert state["authors"] == by_author  # a repeated store never counts a mention twice
    assert state["cursor"] == max(expected, key=int)


def test_kill_at_every_point_of_a_poll_then_restart_stores_each_mention_once(fresh_db):
    # Dry run: how many kill points a complete second poll passes.
    url = fresh_db()
    x = network()
    clock = Clock()
    poll(url, x, clock)
    more(x)
    dry = Process()
    outcome = poll(url, x, clock, dry)
    assert (outcome.status, outcome.new, outcome.duplicates) == ("ok", 3, 1)
    plan = kill_plan(dry.counts)
    assert dry.counts["db"] >= 10 and dry.counts["fetch"] == 1, dry.counts

    for point in plan:
        url = fresh_db()
        x = network()
        clock = Clock()
        poll(url, x, clock)
        more(x)
        clock.now += timedelta(minutes=5)
        process = Process(point)
        with pytest.raises(Killed):
            poll(url, x, clock, process)
        assert process.fired, f"kill point {point} was never reached"
        figures.tried("kill points")

        clock.now += timedelta(minutes=5)  # restart: a new process polls the same database
        after = poll(url, x, clock)
        assert after.status == "ok", (point, after)
        check(url, x)
        clock.now += timedelta(minutes=5)  # and once more: nothing new, nothing repeated
        assert poll(url, x, clock).new == 0
        check(url, x)
