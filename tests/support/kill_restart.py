"""Kill -9 at every point of one poll, then a restart: the loop the conversation kill tests
share. `start(url)` sets the world up on a fresh database up to the poll to kill and returns a
`Replay`; the dry run counts the poll's points, then each is replayed from scratch: the poll
dies there, a restart polls twice (the second must find nothing new), and `check(url)` counts
the invariants after each (`stored(url)`: what they are counted from)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import PollOutcome
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fault_world import Killed, Process, kill_plan


@dataclass(frozen=True)
class Stored:
    posts: list[tuple[str, str]]  # thread posts: (external id, role)
    cards: list[str]  # the mentions' external ids
    outbox: Counter[str]  # outbox rows by kind
    reopens: int  # `reopen` audit events


def stored(url: str) -> Stored:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            P = models.ThreadPost
            return Stored([(e, r) for e, r in s.execute(select(P.external_id, P.role))],
                          list(s.scalars(select(models.Mention.external_id))),
                          Counter(s.scalars(select(models.OutboxMessage.kind))),
                          s.scalar(select(func.count()).select_from(models.AuditEvent).where(
                              models.AuditEvent.action == "reopen")) or 0)
    finally:
        engine.dispose()


@dataclass
class Replay:
    poll: Callable[[Process | None], PollOutcome]  # one poll by a new process (None: no kill)
    clock: Clock
    stop: Callable[[], None]


def kill_every_point_then_restart(fresh_db: Callable[[], str], start: Callable[[str], Replay],
                                  check: Callable[[str], None]) -> Counter[str]:
    """The dry run's counts of points, once every point was killed and recovered from."""
    url = fresh_db()
    run = start(url)
    try:
        dry = Process()
        assert run.poll(dry).status == "ok"
        check(url)
    finally:
        run.stop()
    for point in kill_plan(dry.counts):
        url = fresh_db()
        run = start(url)
        try:
            process = Process(point)
            with pytest.raises(Killed):
                run.poll(process)
            assert process.fired, f"kill point {point} was never reached"
            fault_figures.tried("kill points")
            run.clock.advance(300)
            assert run.poll(None).status == "ok", point
            check(url)
            run.clock.advance(300)
            assert run.poll(None).new == 0  # once more: nothing new, nothing repeated
            check(url)
        finally:
            run.stop()
    return dry.counts
