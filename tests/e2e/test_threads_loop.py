"""Threads through the whole loop over HTTP: the bot polls the fake Threads API for mentions,
posts one card, a person claims, drafts (500 characters at most), gets approval and sends; the
reply is created and published once. Then a real kill -9 of `socialbot run` between the
publish and its answer: reconcile finds our reply under the post, recorded once."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.desk.directory import StaticDirectory
from bot.desk.send import reconcile
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.networks.threads.client import build_threads
from bot.networks.threads.publisher import ThreadsPublisher
from tests.support import bot_process
from tests.support.bot_process import Bot, wait_until
from tests.support.bot_server import BotServer
from tests.support.desk_clicks import (
    AGENT,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    one_card,
)
from tests.support.fake_threads import FakeThreads
from tests.support.rules_files import shipped_rules_with

REPLY = "Sorry Lee! The app is back; DM us if it still fails 🙏"


def rules_with_threads(tmp_path: Path) -> Path:
    return shipped_rules_with(tmp_path, [{"id": "threads", "type": "threads_mentions"},
                                         {"id": "threads-search", "type": "threads_search",
                                          "query": "northwind", "every": "30m"}])


@pytest.fixture
def threads():
    fake = FakeThreads().start()
    fake.post_id = fake.post("18000000000000101", "lee.p",
                             "@acmebank is the app down again? can't log in",
                             datetime.now(UTC).timestamp() - 600, mentions_us=True)
    yield fake
    fake.stop()


def cards(fake_slack) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage") if "lee.p" in str(c.params)
            and not c.params.get("thread_ts")]


def test_a_mention_is_answered_once_in_two_steps(start_bot, fake_slack, threads, tmp_path):
    bot = start_bot(rules_with_threads(tmp_path), **threads.env())
    card = one_card(fake_slack, "lee.p")
    assert "Threads" in json.dumps(blocks_of(card))
    approved = draft_and_approve(bot, fake_slack, card, REPLY, limit="500 characters")
    senders = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, approved, "send"))
               for _ in range(3)]
    for t in senders:
        t.start()
    for t in senders:
        t.join()
    fake_slack.wait_until(lambda: threads.replies_by_us(threads.post_id), timeout=10)

    def reply_states() -> list[str]:
        with session_scope(bot.runtime.factory) as s:
            return [r.state for r in s.scalars(select(models.Reply))]
    fake_slack.wait_until(lambda: reply_states() == ["sent"], timeout=10)
    [ours] = threads.replies_by_us(threads.post_id)
    assert ours["text"] == REPLY
    assert [c.kind for c in threads.calls if c.kind in ("create", "publish")] == [
        "create", "publish"]
    with session_scope(bot.runtime.factory) as s:
        [sent] = s.scalars(select(models.Reply)).all()
        assert sent.network_id == ours["id"]
    assert len(cards(fake_slack)) == 1


def test_kill_9_between_the_publish_and_its_answer(fake_slack, threads, tmp_path):
    db = tmp_path / "bot.db"
    url = f"sqlite:///{db}"
    rules = rules_with_threads(tmp_path)
    bots: list[Bot] = []
    try:
        bots.append(bot := Bot(tmp_path, "before-kill", database_url=url, rules=rules,
                               slack_url=fake_slack.api_url, more_env=threads.env()))
        wait_until(lambda: cards(fake_slack), bot, "the mention's card")
        http = BotServer(f"http://127.0.0.1:{bot.port}", None, bot_process.SIGNING_SECRET)
        approved = draft_and_approve(http, fake_slack, cards(fake_slack)[0], REPLY,
                                     limit="500 characters")
        threads.hold_publish = threading.Event()
        sender = threading.Thread(target=click, args=(http, fake_slack, AGENT, approved,
                                                      "send"))
        sender.start()
        wait_until(threads.published.is_set, bot, "the reply to be published")
        bot.kill9()
        threads.hold_publish.set()
        sender.join(timeout=10)
        with sqlite3.connect(db, timeout=10) as conn:
            assert conn.execute("SELECT state FROM reply").fetchall() == [("sending",)]
            conn.execute("UPDATE reply SET created_at = datetime(created_at, '-3 minutes')")
        engine = make_engine(url)
        try:
            done = reconcile(make_session_factory(engine),
                             {"threads": ThreadsPublisher(build_threads(threads.settings()))},
                             datetime.now(UTC), rules=load_rules(rules),
                             directory=StaticDirectory({}))
        finally:
            engine.dispose()
        [ours] = threads.replies_by_us(threads.post_id)
        assert [(r.before, r.after) for r in done] == [("sending", "sent")]
        with sqlite3.connect(db, timeout=10) as conn:
            assert conn.execute("SELECT state, network_id FROM reply").fetchall() == [
                ("sent", ours["id"])]
        assert len(threads.of_kind("publish")) == 1
    finally:
        for b in bots:
            b.cleanup()
