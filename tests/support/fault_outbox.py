"""The outbox sender inside a killable process, for the fault suite's kill points while the
sender posts (`tests/faults/test_kill_outbox.py`, `test_kill_thread_posts.py`, `test_kill_parked.py`): chat.postMessage is a kill point before
the request (`post`) and after Slack answered (`posted`); `drain` runs a sender until the queue
is empty or the process dies."""

from __future__ import annotations

from datetime import timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.kit.db import make_engine, make_session_factory
from bot.outbox import OutboxSender
from bot.outbox.tuning import LEASE
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fault_scenarios import render_card
from tests.support.fault_world import Process


class KillableClient(WebClient):
    process: Process

    def chat_postMessage(self, **kwargs):
        self.process.point("post")
        resp = super().chat_postMessage(**kwargs)
        self.process.point("posted")
        return resp


def killable_sender(url: str, fake: FakeSlack, clock: Clock,
                    process: Process) -> tuple[Engine, OutboxSender]:
    """An outbox sender whose database and chat.postMessage are `process`'s kill points."""
    engine = process.attach(make_engine(url))
    client = KillableClient(token="xoxb-faults", base_url=fake.api_url, timeout=5,
                            retry_handlers=[])
    client.process = process
    return engine, OutboxSender(make_session_factory(engine), client, render_card, clock)


def drain(url: str, fake: FakeSlack, clock: Clock, process: Process, *, restart: bool) -> None:
    """Run a sender until the queue is empty (or the process dies). A restarted one first
    verifies what it finds in `sending`, as `OutboxSender.start()` does."""
    engine, sender = killable_sender(url, fake, clock, process)
    try:
        if restart:
            sender.reconcile(clock.now, everything=sender.single_process)
        for _ in range(12):
            sender.run_once(clock.now)
            if sender.depth() == 0:
                return
            # Long enough for a token, a backoff and (PostgreSQL) an expired lease.
            clock.now += LEASE + timedelta(seconds=1)
        raise AssertionError("the outbox did not drain")
    finally:
        engine.dispose()
