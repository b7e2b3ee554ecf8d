"""Google Play through the whole loop over HTTP: the bot polls the fake Google Play (signed in
as a service account), posts one card per review, a person claims, drafts, gets approval and
sends; the fake receives one `reviews.reply`. Then the same with a real kill -9 of
`socialbot run` between the send intent and Google's answer: the reply is found on the review
(`reviews.get`), recorded once, and the card is never posted twice."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.publisher import GooglePlayPublisher
from tests.support.desk_clicks import (
    AGENT,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    one_card,
)
from tests.support.fake_google_play import PACKAGE, FakeGooglePlay
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
from tests.support.rules_files import shipped_rules_with

REVIEW_ID = "gp:AOqpTOH1-acme-e2e"
REPLY = "Sorry Sam! 4.12.1 fixes the login crash 🙏 Please update."


def one_star_review(now: datetime) -> dict:
    return {"reviewId": REVIEW_ID, "authorName": "Sam Okafor", "comments": [{"userComment": {
        "text": "Looks nice 🙂 since the update",
        "lastModified": {"seconds": str(int(now.timestamp()) - 600), "nanos": 0},
        "starRating": 1, "reviewerLanguage": "en_GB", "device": "a52q",
        "appVersionName": "4.12.0"}}]}


def rules_with_play(tmp_path: Path) -> Path:
    return shipped_rules_with(
        tmp_path, [{"id": "play", "type": "google_play_reviews", "package": PACKAGE}])


@pytest.fixture
def play():
    fake = FakeGooglePlay().start()
    fake.add(one_star_review(datetime.now(UTC)))
    yield fake
    fake.stop()


def review_cards(fake_slack) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage") if "Sam Okafor" in str(c.params)
            and not c.params.get("thread_ts")]


def test_a_review_goes_round_the_loop_and_is_answered_once(start_bot, fake_slack, play,
                                                           tmp_path):
    bot = start_bot(rules_with_play(tmp_path), **play.settings().model_dump(
        include={"GOOGLE_PLAY_SERVICE_ACCOUNT_JSON", "GOOGLE_PLAY_API_URL"}))
    card = one_card(fake_slack, "Sam Okafor")
    text = json.dumps(blocks_of(card), ensure_ascii=False)
    assert "Google Play" in text and "★☆☆☆☆ 1/5" in text and f"id={PACKAGE}" in text
    assert "One reply per review" in text
    approved = draft_and_approve(bot, fake_slack, card, REPLY, limit="350 characters")
    threads = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, approved, "send"))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fake_slack.wait_until(lambda: play.of_kind("reply"), timeout=10)
    [reply] = play.of_kind("reply")  # three clicks, one reply
    assert reply.body == {"replyText": REPLY}
    assert play.developer_comment(REVIEW_ID)["text"] == REPLY

    def reply_states() -> list[str]:
        with session_scope(bot.runtime.factory) as s:
            return [r.state for r in s.scalars(select(models.Reply))]
    # Google's answer reaches the bot after the fake records the call: wait for it to be read.
    fake_slack.wait_until(lambda: reply_states() == ["sent"], timeout=10)
    with session_scope(bot.runtime.factory) as s:
        m = s.scalars(select(models.Mention).where(models.Mention.external_id == REVIEW_ID)).one()
        assert (m.network, m.extra["rating"], m.status) == ("google_play", "1", "sent")
        assert m.score_parts["rating"] > 0 and m.priority != "P4"  # one star: a complaint
        [sent] = s.scalars(select(models.Reply)).all()
        assert (sent.state, sent.network_id) == ("sent", f"{REVIEW_ID}:reply")
    assert len(review_cards(fake_slack)) == 1


def test_kill_9_between_the_send_intent_and_googles_answer(fake_slack, play, tmp_path):
    env = {"GOOGLE_PLAY_SERVICE_ACCOUNT_JSON": json.dumps(play.key_info()),
           "GOOGLE_PLAY_API_URL": play.url}
    kill_9_between_send_and_answer(KillCase(
        fake=play, network="google_play", rules=rules_with_play(tmp_path), env=env,
        cards=lambda: review_cards(fake_slack), limit="350 characters",
        publisher=lambda: GooglePlayPublisher(PlayApi(play.settings())),
        reply_id=lambda: f"{REVIEW_ID}:reply",
        replies_made=lambda: len(play.of_kind("reply")),
        polls=lambda: len(play.of_kind("list"))), fake_slack, tmp_path, REPLY)
