"""A Reddit mention through the whole desk against the fake Reddit over real HTTP: the bot
polls the inbox with PRAW, posts the card once, a person claims, drafts (the modal holds
Reddit's 10,000-character limit), submits, another approves, three Send clicks make one
reply on Reddit, the outcome closes it. Then the same with the answer to the reply lost
after Reddit made the comment: a restarted bot reconciles, finds the reply under the parent
comment and never sends it again; and with a real kill -9 of `socialbot run` between the send
intent and Reddit's answer."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.publisher import RedditPublisher
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
from tests.support.fake_reddit import BRAND, FakeReddit
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
from tests.support.paths import ROOT

TEXT = "u/NorthwindAir you lost my bag in Denver, third day now 😡 حقيبتي"
REPLY = "So sorry — please DM us your file reference and we'll chase it today 🙏"


@pytest.fixture
def fake_reddit():
    fake = FakeReddit().start()
    fake.clock = datetime.now(UTC).timestamp()
    fake.mention("k9lost", "frequent_flyer", TEXT, fake.clock - 120, post="p7bags")
    yield fake
    fake.stop()


def reddit_rules(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["brand"]["reddit_username"] = BRAND
    data["sources"] = [{"id": "reddit", "type": "reddit_mentions", "every": "1h"}]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def reddit_settings(fake: FakeReddit) -> dict:
    return {k: v for k, v in fake.settings().model_dump().items()
            if k.startswith("REDDIT_") and v is not None} | {
        "REDDIT_CLIENT_SECRET": "fake-client-secret", "REDDIT_PASSWORD": "fake-password"}


def test_a_reddit_mention_is_answered_once_through_the_desk(start_bot, fake_slack,
                                                            fake_reddit, tmp_path):
    bot = start_bot(reddit_rules(tmp_path), **reddit_settings(fake_reddit))
    card = one_card(fake_slack, "frequent_flyer")
    shown = json.dumps(blocks_of(card))
    assert "Reddit" in shown and "u/frequent_flyer" in shown
    assert "https://www.reddit.com/r/travel/comments/p7bags/a_thread/k9lost/" in shown
    approved = draft_and_approve(bot, fake_slack, card, REPLY, limit="10000 characters")
    updates = len(calls(fake_slack, "chat.update"))
    clicks = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, approved, "send"))
              for _ in range(3)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()
    click(bot, fake_slack, AGENT, latest_card(fake_slack, updates + 1), "outcome",
          option="resolved")
    latest_card(fake_slack, updates + 2)

    [posted] = fake_reddit.calls("POST", "/api/comment")  # three clicks, one reply
    assert (posted.form["thing_id"], posted.form["text"]) == ("t1_k9lost", REPLY)
    with session_scope(bot.runtime.factory) as s:
        m = s.scalars(select(models.Mention)).one()
        assert (m.network, m.external_id, m.status, m.outcome) == (
            "reddit", "t1_k9lost", "closed", "resolved")
        assert (m.conversation_id, m.in_reply_to_id, m.text) == ("t3_p7bags", "t3_p7bags", TEXT)
        reply = s.scalars(select(models.Reply)).one()
        assert (reply.state, reply.network_id) == ("sent", "t1_br0001")
    assert len([c for c in calls(fake_slack, "chat.postMessage")
                if "frequent_flyer" in str(c.params)]) == 1

    # The customer answers our reply without writing u/NorthwindAir: Reddit puts it in the
    # brand's inbox, the next poll brings it into the card's thread and reopens the card.
    updates = len(calls(fake_slack, "chat.update"))
    fake_reddit.reply("k9late", "frequent_flyer", "still nothing <!channel>",
                      datetime.now(UTC).timestamp() - 5, parent="t1_br0001")
    bot.runtime.poll_now("reddit")
    fake_slack.wait_until(lambda: in_thread(fake_slack, "still nothing"), timeout=15)
    [answer] = in_thread(fake_slack, "still nothing")
    shown = json.dumps(blocks_of(answer))
    assert "Customer replied" in shown and "&lt;!channel&gt;" in shown
    assert not [c for c in calls(fake_slack, "chat.postMessage")
                if not c.params.get("thread_ts") and "still nothing" in json.dumps(c.params)]
    assert "reopened" in json.dumps(latest_card(fake_slack, updates + 1))


def in_thread(fake_slack, text: str) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage")
            if c.params.get("thread_ts") and text in json.dumps(c.params)]


def test_an_answer_lost_after_reddit_made_the_reply_is_reconciled_never_resent(
        start_bot, fake_slack, fake_reddit, tmp_path):
    rules, settings = reddit_rules(tmp_path), reddit_settings(fake_reddit)
    bot = start_bot(rules, **settings)
    approved = draft_and_approve(bot, fake_slack, one_card(fake_slack, "frequent_flyer"), REPLY,
                                 limit="10000 characters")
    fake_reddit.fail("/api/comment", 502, deliver=True)  # made the comment, answer lost
    told = len(fake_slack.calls)
    click(bot, fake_slack, AGENT, approved, "send")
    fake_slack.wait_until(lambda: any(  # the person hears that it may have been sent
        c.method in ("chat.postEphemeral", "respond") for c in fake_slack.calls[told:]),
        timeout=10)
    with session_scope(bot.runtime.factory) as s:
        assert s.scalars(select(models.Reply.state)).one() == "unknown"
    bot.runtime.stop()

    later = datetime.now(UTC) + timedelta(minutes=3)  # past reconcile's 2 minutes
    restarted = start_bot(rules, **settings)
    restarted.runtime.clock = lambda: later
    restarted.runtime.reconcile()
    with session_scope(restarted.runtime.factory) as s:
        reply = s.scalars(select(models.Reply)).one()
        assert (reply.state, reply.network_id) == ("sent", "t1_br0001")
        assert s.scalars(select(models.Mention.status)).one() == "sent"
    assert len(fake_reddit.calls("POST", "/api/comment")) == 1
    assert len(fake_reddit.replies_to("t1_k9lost")) == 1


def test_kill_9_between_the_send_intent_and_reddits_answer(fake_slack, fake_reddit, tmp_path):
    def publisher() -> RedditPublisher:
        window = RateWindow()
        return RedditPublisher(build_reddit(fake_reddit.settings(), account=BRAND,
                                            window=window), account=BRAND, window=window)
    kill_9_between_send_and_answer(KillCase(
        fake=fake_reddit, network="reddit", rules=reddit_rules(tmp_path),
        env=reddit_settings(fake_reddit), cards=lambda: mention_cards(fake_slack),
        limit="10000 characters", publisher=publisher, reply_id=lambda: "t1_br0001",
        replies_made=lambda: len(fake_reddit.calls("POST", "/api/comment")),
        polls=lambda: len(fake_reddit.calls("GET", "/message/inbox"))),
        fake_slack, tmp_path, REPLY)
    assert len(fake_reddit.replies_to("t1_k9lost")) == 1


def mention_cards(fake_slack) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage")
            if "frequent_flyer" in str(c.params) and not c.params.get("thread_ts")]
