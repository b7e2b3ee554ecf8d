"""Two polls bring in the same follow-up at the same moment (two sources that both see it, or
two replicas during a leader hand-over): it is stored once, posted in the thread once, counted
once. The race is made exact, as in test_racing_polls: the second poll runs to its commit at
the moment the first is about to insert the thread post, on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.ingest import store_mentions
from bot.listening.polling import poll_source
from bot.networks.base import Fetch, SourceState
from tests.support.fake_source import FakeSource
from tests.support.paths import ROOT

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = load_rules(ROOT / "routing_rules.yaml")


def x_post(external_id: str, text: str, reply_to: str | None) -> Mention:
    return Mention(network="x", external_id=external_id, text=text,
                   author=Author(handle="bagless", name="B", followers=5),
                   created_at=NOW - timedelta(minutes=1), lang="en", mentions_brand=True,
                   in_reply_to_id=reply_to, conversation_id="1991")


def test_the_same_follow_up_polled_twice_at_once_is_threaded_once(migrated_url):
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        (card,) = store_mentions(s, [x_post("1991", "@NorthwindAir where is my bag", None)],
                                 RULES, now=NOW - timedelta(hours=1)).new_mention_ids
    answer = x_post("1992", "@NorthwindAir hello??", "1991")
    first, second = (FakeSource(RULES.source(sid), [Fetch([answer], SourceState(cursor="1992"))])
                     for sid in ("x-search", "x-mentions"))
    outcomes = {}
    raced = threading.Event()

    def about_to_insert_the_post(statement: str, parameters: object) -> bool:
        if statement.lstrip().upper().startswith("INSERT INTO THREAD_POST"):  # SQLite
            return True
        return "nextval" in statement and isinstance(parameters, dict) and \
            parameters.get("table") == "thread_post"

    def second_poll_commits_first(conn, cursor, statement, parameters, *args):
        if about_to_insert_the_post(statement, parameters) and not raced.is_set():
            raced.set()
            racer = threading.Thread(target=lambda: outcomes.setdefault(
                "x-mentions", poll_source(factory, second, RULES, clock=lambda: NOW)))
            racer.start()
            racer.join()

    event.listen(engine, "before_cursor_execute", second_poll_commits_first)
    try:
        outcomes["x-search"] = poll_source(factory, first, RULES, clock=lambda: NOW)
    finally:
        event.remove(engine, "before_cursor_execute", second_poll_commits_first)
    try:
        assert raced.is_set()
        assert {k: o.status for k, o in outcomes.items()} == {"x-search": "ok",
                                                               "x-mentions": "ok"}
        # The poll says it threaded one post (the poller then wakes the outbox for it).
        assert sorted(o.threaded for o in outcomes.values()) == [0, 1]
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(models.ThreadPost)) == 1
            assert s.scalar(select(func.count()).select_from(models.Mention)) == 1
            assert s.scalar(select(func.count()).select_from(models.OutboxMessage).where(
                models.OutboxMessage.kind == "thread")) == 1
            assert s.get(models.Mention, card).follow_ups == 1
    finally:
        engine.dispose()
