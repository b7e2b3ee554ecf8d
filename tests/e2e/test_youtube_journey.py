"""A YouTube comment through the whole desk against the fake YouTube over real HTTP: the bot
polls the channel's comment threads with google-api-python-client, posts the card once, a
person claims, drafts (the modal holds YouTube's 10,000-character limit), sends; three Send
clicks make one reply in the thread. Then the answer to the reply is lost after YouTube made
it: a restarted bot reconciles, finds the reply in the thread and never sends it again; and
with a real kill -9 of `socialbot run` between the send intent and YouTube's answer."""

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
from bot.networks.youtube.client import build_youtube
from bot.networks.youtube.publisher import YouTubePublisher
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
from tests.support.fake_youtube import CHANNEL, FakeYouTube
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
from tests.support.paths import ROOT

TEXT = "@NorthwindAir my bag never arrived in Denver 😡 — حقيبتي"
REPLY = "So sorry! Please DM us your file reference and we'll chase it today 🙏"


@pytest.fixture
def fake_youtube():
    fake = FakeYouTube().start()
    fake.clock = datetime.now(UTC).timestamp()
    fake.thread("UgzBag01", "bagless_in_denver", TEXT, fake.clock - 120)
    yield fake
    fake.stop()


def youtube_rules(tmp_path: Path) -> Path:
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = [{"id": "youtube", "type": "youtube_comments", "channel_id": CHANNEL,
                        "every": "1h"}]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def youtube_settings(fake: FakeYouTube) -> dict:
    s = fake.settings()
    return {"YOUTUBE_CLIENT_ID": s.YOUTUBE_CLIENT_ID, "YOUTUBE_CLIENT_SECRET": "fake-secret",
            "YOUTUBE_REFRESH_TOKEN": "1//fake-refresh", "YOUTUBE_API_URL": s.YOUTUBE_API_URL,
            "YOUTUBE_TOKEN_URL": s.YOUTUBE_TOKEN_URL}


def test_a_youtube_comment_is_answered_once_through_the_desk(start_bot, fake_slack,
                                                             fake_youtube, tmp_path):
    bot = start_bot(youtube_rules(tmp_path), **youtube_settings(fake_youtube))
    card = one_card(fake_slack, "bagless_in_denver")
    shown = json.dumps(blocks_of(card))
    assert "YouTube" in shown and "@bagless_in_denver" in shown
    assert "https://www.youtube.com/watch?v=vNorthwnd01&amp;lc=UgzBag01" in shown or \
        "https://www.youtube.com/watch?v=vNorthwnd01&lc=UgzBag01" in shown
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

    [posted] = fake_youtube.calls("POST", "/youtube/v3/comments")  # three clicks, one reply
    assert posted.body == {"snippet": {"parentId": "UgzBag01", "textOriginal": REPLY}}
    with session_scope(bot.runtime.factory) as s:
        m = s.scalars(select(models.Mention)).one()
        assert (m.network, m.external_id, m.conversation_id, m.text, m.status) == (
            "youtube", "UgzBag01", "UgzBag01", TEXT, "closed")
        reply = s.scalars(select(models.Reply)).one()
        assert (reply.state, reply.network_id) == ("sent", "UgzBag01.brand001")
    with session_scope(bot.runtime.factory) as s:
        usage = s.scalars(select(models.SourceUsage.reads)).one()
    assert usage == 1  # the poll's quota units, counted per day


def test_an_answer_lost_after_youtube_made_the_reply_is_reconciled_never_resent(
        start_bot, fake_slack, fake_youtube, tmp_path):
    rules, settings = youtube_rules(tmp_path), youtube_settings(fake_youtube)
    bot = start_bot(rules, **settings)
    approved = draft_and_approve(bot, fake_slack, one_card(fake_slack, "bagless_in_denver"),
                                 REPLY, limit="10000 characters")
    fake_youtube.fail("/youtube/v3/comments", 503, deliver=True)  # made it, answer lost
    told = len(fake_slack.calls)
    click(bot, fake_slack, AGENT, approved, "send")
    fake_slack.wait_until(lambda: any(
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
        assert (reply.state, reply.network_id) == ("sent", "UgzBag01.brand001")
    assert len(fake_youtube.calls("POST", "/youtube/v3/comments")) == 1
    assert len(fake_youtube.ours("UgzBag01")) == 1


def test_kill_9_between_the_send_intent_and_youtubes_answer(fake_slack, fake_youtube,
                                                            tmp_path):
    kill_9_between_send_and_answer(KillCase(
        fake=fake_youtube, network="youtube", rules=youtube_rules(tmp_path),
        env=youtube_settings(fake_youtube), cards=lambda: comment_cards(fake_slack),
        limit="10000 characters",
        publisher=lambda: YouTubePublisher(build_youtube(fake_youtube.settings())),
        reply_id=lambda: "UgzBag01.brand001",
        replies_made=lambda: len(fake_youtube.calls("POST", "/youtube/v3/comments")),
        polls=lambda: len(fake_youtube.calls("GET", "/youtube/v3/commentThreads"))),
        fake_slack, tmp_path, REPLY)
    assert len(fake_youtube.ours("UgzBag01")) == 1


def comment_cards(fake_slack) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage")
            if "bagless_in_denver" in str(c.params) and not c.params.get("thread_ts")]
