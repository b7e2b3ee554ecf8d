"""Threads through the whole loop over HTTP: the bot polls the fake Threads API for mentions,
posts one card, a person claims, drafts (500 characters at most), gets approval and sends; the
reply is created and published once; the customer answers our reply without @-mentioning the
brand (so not in `/me/mentions`): the next poll reads the card's conversation and the answer
comes back into the card's Slack thread and reopens it. Then a real kill -9 of `socialbot run` between the
publish and its answer: reconcile finds our reply under the post, recorded once."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.threads.client import build_threads
from bot.networks.threads.publisher import ThreadsPublisher
from tests.support.desk_clicks import (
    AGENT,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    latest_card,
    one_card,
)
from tests.support.fake_threads import FakeThreads
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
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

    updates = len(calls(fake_slack, "chat.update"))
    click(bot, fake_slack, AGENT, latest_card(fake_slack, updates), "outcome", option="resolved")
    latest_card(fake_slack, updates + 1)
    updates = len(calls(fake_slack, "chat.update"))
    threads.post("18000000000000109", "lee.p", "still can't log in <!channel>",
                 datetime.now(UTC).timestamp() - 5, parent=ours["id"])  # no @acmebank
    bot.runtime.poll_now("threads")
    fake_slack.wait_until(lambda: in_thread(fake_slack, "still can"), timeout=15)
    [answer] = in_thread(fake_slack, "still can")
    shown = json.dumps(blocks_of(answer))
    assert "Customer replied" in shown and "&lt;!channel&gt;" in shown
    assert len(cards(fake_slack)) == 1  # in the thread, never a card of its own
    assert "reopened" in json.dumps(latest_card(fake_slack, updates + 1))
    with session_scope(bot.runtime.factory) as s:
        m = s.scalars(select(models.Mention)).one()
        assert (m.conversation_id, m.status, m.follow_ups, m.reopens) == (
            threads.post_id, "claimed", 1, 1)
    assert [c.params["reverse"] for c in threads.of_kind("conversation")
            if threads.post_id in c.path]


def in_thread(fake_slack, text: str) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage")
            if c.params.get("thread_ts") and text in json.dumps(c.params)]


def test_kill_9_between_the_publish_and_its_answer(fake_slack, threads, tmp_path):
    kill_9_between_send_and_answer(KillCase(
        fake=threads, network="threads", rules=rules_with_threads(tmp_path), env=threads.env(),
        cards=lambda: cards(fake_slack), limit="500 characters",
        publisher=lambda: ThreadsPublisher(build_threads(threads.settings())),
        reply_id=lambda: threads.replies_by_us(threads.post_id)[0]["id"],
        replies_made=lambda: len(threads.of_kind("publish")),
        polls=lambda: len(threads.of_kind("mentions"))), fake_slack, tmp_path, REPLY)
