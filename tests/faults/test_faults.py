"""Faults from outside: Slack 429 storms and 5xx (chat.postMessage and chat.update), X 429 and
503 on polling, a database error while storing a poll. Each: nothing lost, nothing doubled,
the bot keeps going (lasting Slack outages and channel errors: test_slack_outage.py). Time is
injected: nothing sleeps, Retry-After and backoffs are exact.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.domain.rules.schema import SourceSpec
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening import polling
from bot.listening.polling import backoff, poll_source
from bot.networks.rss.source import RssSource
from bot.networks.x.client import build_x_client
from bot.networks.x.source import XSearchSource
from bot.outbox import OutboxSender, sender_client
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.fault_scenarios import (
    check_ingest,
    more_posts,
    render_card,
    seed_cards,
    x_network,
)
from tests.support.fault_world import FakeX, FakeXSource, Process, kill_plan
from tests.support.paths import ROOT
from tests.support.scripted_http import ScriptedHTTP
from tests.support.x_api import BEARER, SEARCH_URL, x_body

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEED = 20261123


def faults_answered(fake: FakeSlack) -> int:
    """Calls the fake Slack answered with an error (429, 5xx) or never answered."""
    return sum(1 for c in fake.calls if c.status != 200 or c.error == "dropped")


# --- Slack ---------------------------------------------------------------------------------

def test_slack_429_storm_and_5xx_lose_and_double_nothing(engine):
    rng = random.Random(SEED)
    clock = Clock(NOW)
    fake = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    try:
        # Slack's own per-channel limit, on our clock, on top of the scripted misbehaviour.
        fake.rate_limit_posts(1.0, 3, clock=lambda: clock.now.timestamp())
        script = ([dict(status=429, error="ratelimited", retry_after=rng.randint(1, 30))] * 12
                  + [dict(status=500, error="internal_error", deliver=True),  # posted, 500
                     dict(status=503, error="service_unavailable"),
                     dict(status=502, error="bad_gateway", deliver=True, drop=True)])
        rng.shuffle(script)
        for how in script:
            fake.fail("chat.postMessage", **how)
        url = engine.url.render_as_string(hide_password=False)
        ids = seed_cards(url) + seed_cards(url, batch=1) + seed_cards(url, batch=2)  # 9 care, 3 PR
        factory = make_session_factory(engine)
        sender = OutboxSender(factory, sender_client("xoxb-faults", fake.api_url, timeout=5),
                              render_card, clock)
        drain(sender, clock)
        posted = Counter(m["metadata"]["event_payload"]["mention_id"] for m in fake.posts())
        assert fault_figures.invariant("mentions lost", sum(1 for i in ids if not posted[i])) == 0
        assert fault_figures.invariant("duplicate cards",
                                 sum(n - 1 for n in posted.values() if n > 1)) == 0, posted

        # Then every card is updated (a click each) through 429s and 5xx on chat.update.
        for how in ([dict(status=429, error="ratelimited", retry_after=rng.randint(1, 20))] * 6
                    + [dict(status=500, error="internal_error")] * 2):
            fake.fail("chat.update", **how)
        with session_scope(factory) as s:
            for m in s.scalars(select(models.Mention)):
                s.add(models.OutboxMessage(kind="update", channel=m.slack_channel,
                                           mention_id=m.id, priority=m.priority, payload={},
                                           not_before=clock.now, created_at=clock.now))
        drain(sender, clock)
        updated = Counter(c.params["ts"] for c in fake.calls_to("chat.update") if c.status == 200)
        assert set(updated) == {m["ts"] for m in fake.posts()}  # every card updated
        with factory() as s:
            states = Counter(s.scalars(select(models.OutboxMessage.state)))
        assert states == {"sent": len(ids) * 2}  # no row failed, none left behind
        assert len(fake.posts()) == len(ids)
        injected = faults_answered(fake)
        assert injected >= len(script) + 8
        fault_figures.tried("faults injected", injected)
    finally:
        fake.stop()


def drain(sender: OutboxSender, clock: Clock, rounds: int = 200) -> None:
    for _ in range(rounds):
        sender.run_once(clock.now)
        if sender.depth() == 0:
            return
        clock.now += timedelta(seconds=2)
    raise AssertionError(f"outbox not drained: {sender.depth()} left")


# --- X -------------------------------------------------------------------------------------

PAGE_IDS = {t["id"] for t in x_body("northwind_search_recent")["data"]
            if t["author_id"] != "1400000000000000001"}  # the brand's own post is skipped


def test_x_429_and_503_wait_back_off_and_then_store_each_mention_once(engine, tmp_path):
    factory = make_session_factory(engine)
    clock = Clock(datetime(2024, 11, 5, 9, 0, tzinfo=UTC))
    reset = clock.now + timedelta(minutes=7)
    feed = tmp_path / "alerts.xml"
    feed.write_bytes((ROOT / "tests/data/feeds/google_alerts_atom.xml").read_bytes())
    rss = RssSource(SourceSpec(id="alerts", type="rss", url=feed.as_uri(), every="15m"))
    with ScriptedHTTP(ordered=True) as api:  # X, answering in this order and nothing else
        x = XSearchSource(RULES.source("x-search"), RULES.brand, build_x_client(
            Settings(_env_file=None, X_BEARER_TOKEN=BEARER, X_API_URL=api.url)))
        spec = x.spec
        api.get(SEARCH_URL, status=429, json={"title": "Too Many Requests"},
                headers={"x-rate-limit-reset": str(int(reset.timestamp())),
                         "x-rate-limit-remaining": "0"})
        for _ in range(3):
            api.get(SEARCH_URL, status=503, json={"title": "Service Unavailable"})
        api.get(SEARCH_URL, json=x_body("northwind_search_recent"))
        api.get(SEARCH_URL, json=x_body("northwind_search_recent"))  # the same page again

        assert poll_source(factory, x, RULES, clock=clock).status == "rate_limited"
        assert poll_source(factory, rss, RULES, clock=clock).new == 20  # the others go on
        with session_scope(factory) as s:
            assert s.get(models.Source, spec.id).next_run_at == reset
        clock.now = reset - timedelta(seconds=1)
        assert poll_source(factory, x, RULES, clock=clock).status == "skipped"  # no call
        clock.now = reset
        for n in range(1, 4):
            assert poll_source(factory, x, RULES, clock=clock).status == "unavailable"
            with session_scope(factory) as s:
                row = s.get(models.Source, spec.id)
                assert row.next_run_at == clock.now + backoff(spec, n)
                assert row.cursor is None
            clock.now = row.next_run_at
        ok = poll_source(factory, x, RULES, clock=clock)
        assert (ok.status, ok.new) == ("ok", len(PAGE_IDS) - 0)
        again = poll_source(factory, x, RULES, clock=clock)
        assert (again.status, again.new, again.duplicates) == ("ok", 0, len(PAGE_IDS))
        assert len(api.calls) == 6
    with session_scope(factory) as s:
        stored = Counter(s.scalars(select(models.Mention.external_id)
                                   .where(models.Mention.network == "x")))
        cards = Counter(s.scalars(select(models.OutboxMessage.mention_id)
                                  .where(models.OutboxMessage.kind == "card")))
        row = s.get(models.Source, spec.id)
        assert (row.failures, row.last_error, row.next_run_at) == (0, None, None)
    assert fault_figures.invariant("mentions lost", len(PAGE_IDS - set(stored))) == 0
    assert fault_figures.invariant("duplicate cards", sum(n - 1 for n in stored.values())
                             + sum(n - 1 for n in cards.values())) == 0
    fault_figures.tried("faults injected", 4)  # one 429, three 503 (all answered, all seen above)


# --- the database --------------------------------------------------------------------------

class StoreFails:
    """Raises OperationalError ("database is locked") at the k-th statement or COMMIT of the
    store transaction only (from `store_fetch`, its first statement, to its COMMIT or
    ROLLBACK): the fetch worked, the database did not."""

    def __init__(self, engine, monkeypatch: pytest.MonkeyPatch, at: int | None) -> None:
        self.at, self.seen, self.armed, self.fired = at, 0, False, False
        event.listen(engine, "before_cursor_execute", lambda *a, **k: self._op())
        event.listen(engine, "commit", lambda conn: self._end(count=True))
        event.listen(engine, "rollback", lambda conn: self._end(count=False))
        real = polling.store_fetch

        def store(*args, **kwargs):
            self.armed = True
            return real(*args, **kwargs)

        monkeypatch.setattr(polling, "store_fetch", store)

    def _end(self, *, count: bool) -> None:
        try:
            if count:
                self._op()
        finally:
            self.armed = False

    def _op(self) -> None:
        if not self.armed:
            return
        self.seen += 1
        if self.seen == self.at:
            self.fired = True
            raise OperationalError("INSERT", {}, Exception("database is locked (injected)"))


def test_a_database_error_at_any_statement_of_the_store_is_a_backoff_not_a_loss(
        fresh_db, monkeypatch):
    url = fresh_db()
    engine = make_engine(url)
    dry = StoreFails(engine, monkeypatch, None)
    clock = Clock(NOW)
    poll_source(make_session_factory(engine), FakeXSource(RULES.source("x-search"), x_network()),
                RULES, clock=clock)
    engine.dispose()
    monkeypatch.undo()
    statements = dry.seen
    assert statements >= 8

    spec = RULES.source("x-search")
    for k in range(1, statements + 1):
        url = fresh_db()
        x = x_network()
        engine = make_engine(url)
        factory = make_session_factory(engine)
        clock = Clock(NOW)
        poll_source(factory, FakeXSource(spec, x), RULES, clock=clock)  # a good first poll
        more_posts(x)
        clock.now += timedelta(minutes=5)
        with monkeypatch.context() as mp:
            fails = StoreFails(engine, mp, k)
            outcome = poll_source(factory, FakeXSource(spec, x), RULES, clock=clock)
        assert fails.fired
        fault_figures.tried("faults injected")
        assert outcome.status == "unavailable" and "storing 4 mention(s) failed" in outcome.detail
        with session_scope(factory) as s:
            row = s.get(models.Source, spec.id)
            assert (row.failures, row.next_run_at) == (1, clock.now + backoff(spec, 1))
            assert s.scalar(select(func.count()).select_from(models.Mention)) == 3
        assert poll_source(factory, FakeXSource(spec, x), RULES, clock=clock).status == "skipped"
        clock.now = row.next_run_at
        assert poll_source(factory, FakeXSource(spec, x), RULES, clock=clock).new == 3
        engine.dispose()
        check_ingest(url, x)


def test_kill_plan_lists_every_counted_point():
    """The enumeration the kill tests rely on: (kind, 1..n) for each kind, nothing else."""
    p = Process()
    for kind in ("db", "db", "post", "db"):
        p.point(kind)
    assert kill_plan(p.counts) == [("db", 1), ("db", 2), ("db", 3), ("post", 1)]
    assert isinstance(FakeX(), FakeX)
