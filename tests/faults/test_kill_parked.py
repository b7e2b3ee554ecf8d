"""Kill -9 of the outbox sender at every point of parking and resuming (issue 18): the bot is
not in customer care's channel, so its cards are parked (PR's go out); the bot is invited and
the rules reloaded (`resume`), and the cards go out. Or nobody reloads anything and the
sender's own probe finds the channel fixed (`bot.outbox.parking.probe`, PROBE_FIRST later).
Killed at any statement, post or answer of either sequence, a restarted sender (which resumes
at start, then verifies what it finds in `sending`) posts every card exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import make_engine, make_session_factory
from bot.outbox.tuning import LEASE, PROBE_FIRST
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fault_outbox import killable_sender
from tests.support.fault_scenarios import NOW, RULES, seed_cards
from tests.support.fault_world import Killed, Process, kill_plan

CARE = RULES.teams["care"].channel


def run(url: str, fake: FakeSlack, clock: Clock, process: Process, removed: dict, *,
        restart: bool, probe: bool = False) -> None:
    """First life: a round (care's cards park), the fix, `resume` (with `probe`: none, the
    clock moved to the probe instead), rounds until all is sent. A restart: the fix is made;
    `resume` and verification, as `OutboxSender.start()` does; then rounds."""
    engine, sender = killable_sender(url, fake, clock, process)
    try:
        if restart:
            removed["yes"] = False
            sender.resume(clock.now)
            sender.reconcile(clock.now, everything=sender.single_process)
        else:
            sender.run_once(clock.now)
            removed["yes"] = False  # invited again
            if probe:  # nobody tells the bot: its probe finds out
                clock.now += PROBE_FIRST
            else:  # SIGHUP
                sender.resume(clock.now)
        for _ in range(12):
            sender.run_once(clock.now)
            if sender.depth() == 0 and not sender.trouble(clock.now).parked:
                return
            clock.now += LEASE + timedelta(seconds=1)
        raise AssertionError("the outbox did not drain")
    finally:
        engine.dispose()


def check(url: str, fake: FakeSlack, ids: list[int]) -> None:
    posted = Counter(m["metadata"]["event_payload"]["mention_id"] for m in fake.posts())
    assert fault_figures.invariant("mentions lost", sum(1 for i in ids if not posted[i])) == 0
    assert fault_figures.invariant("duplicate cards",
                                   sum(n - 1 for n in posted.values() if n > 1)) == 0, posted
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            assert set(s.scalars(select(models.OutboxMessage.state))) == {"sent"}
    finally:
        engine.dispose()


@pytest.fixture
def fake():
    clock = Clock(NOW)
    fake = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    fake.clock = clock
    fake.removed = {"yes": True}
    fake.outage("chat.postMessage", lambda: fake.removed["yes"], channel=CARE, status=200,
                error="not_in_channel")
    yield fake
    fake.stop()


@pytest.mark.parametrize("probe", [False, True], ids=["sighup", "probe"])
def test_kill_while_parking_and_resuming_then_restart_posts_each_card_once(fresh_db, fake,
                                                                           probe):
    clock, removed = fake.clock, fake.removed
    url = fresh_db()
    ids = seed_cards(url)
    dry = Process()
    run(url, fake, clock, dry, removed, restart=False, probe=probe)
    check(url, fake, ids)
    assert dry.counts["db"] >= 20, dry.counts
    for point in kill_plan(dry.counts):
        fake.messages.clear()
        fake.calls.clear()
        clock.now, removed["yes"] = NOW, True
        url = fresh_db()
        ids = seed_cards(url)
        with pytest.raises(Killed):
            run(url, fake, clock, Process(point), removed, restart=False, probe=probe)
        fault_figures.tried("kill points")
        clock.now += timedelta(seconds=5)
        run(url, fake, clock, Process(), removed, restart=True)
        check(url, fake, ids)
