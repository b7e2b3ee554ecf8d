"""App Store reviews through the whole loop over HTTP: the bot polls the fake App Store Connect
(every request signed with an ES256 JWT the fake verifies), posts one card per review, a person
claims, drafts, gets approval and sends; the fake receives one `customerReviewResponses`
create. Then the same with a real kill -9 of `socialbot run` between the send intent and
Apple's answer: the response is found on the review, recorded once, and the card is never
posted twice."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.app_store.client import AscApi
from bot.networks.app_store.publisher import AppStorePublisher
from tests.support.desk_clicks import (
    AGENT,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    one_card,
)
from tests.support.fake_app_store import APP_ID, FakeAppStore, review
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
from tests.support.rules_files import shipped_rules_with

REVIEW_ID = "00000042-1111-2222-3333-acmee2e00001"
REPLY = "Sorry Sam! 4.12.1 fixes the Face ID loop 🙏 Please update."


def rules_with_app_store(tmp_path: Path) -> Path:
    return shipped_rules_with(
        tmp_path, [{"id": "ios", "type": "app_store_reviews", "app_id": APP_ID}])


@pytest.fixture
def asc():
    fake = FakeAppStore().start()
    fake.add(review(REVIEW_ID, rating=1, title="Nice looking but 🙂", body="since the update",
                    nickname="Sam Okafor", created=datetime.now(UTC).timestamp() - 600))
    yield fake
    fake.stop()


def review_cards(fake_slack) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage") if "Sam Okafor" in str(c.params)
            and not c.params.get("thread_ts")]


def test_a_review_goes_round_the_loop_and_is_answered_once(start_bot, fake_slack, asc,
                                                           tmp_path):
    bot = start_bot(rules_with_app_store(tmp_path), **asc.env())
    card = one_card(fake_slack, "Sam Okafor")
    text = json.dumps(blocks_of(card), ensure_ascii=False)
    assert "App Store" in text and "★☆☆☆☆ 1/5" in text and f"id{APP_ID}" in text
    assert "territory GBR" in text and "One reply per review" in text
    approved = draft_and_approve(bot, fake_slack, card, REPLY, limit="5970 characters")
    threads = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, approved, "send"))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fake_slack.wait_until(lambda: asc.of_kind("create"), timeout=10)
    [create] = asc.of_kind("create")  # three clicks, one response

    def status() -> str | None:
        with session_scope(bot.runtime.factory) as s:
            return s.scalar(select(models.Mention.status)
                            .where(models.Mention.external_id == REVIEW_ID))
    # Apple's answer reaches the bot after the fake records the call, and the mention moves to
    # `sent` after that: wait for it (as test_google_play_loop does), not for the call alone.
    fake_slack.wait_until(lambda: status() == "sent", timeout=10)
    assert create.body["data"]["attributes"] == {"responseBody": REPLY}
    assert asc.response_text(REVIEW_ID) == REPLY
    with session_scope(bot.runtime.factory) as s:
        m = s.scalars(select(models.Mention).where(models.Mention.external_id == REVIEW_ID)).one()
        assert (m.network, m.extra["rating"], m.status) == ("app_store", "1", "sent")
        assert m.score_parts["rating"] > 0 and m.priority != "P4"  # one star: a complaint
        [sent] = s.scalars(select(models.Reply)).all()
        assert (sent.state, sent.network_id) == ("sent", asc.responses[REVIEW_ID]["id"])
    assert len(review_cards(fake_slack)) == 1


def test_kill_9_between_the_send_intent_and_apples_answer(fake_slack, asc, tmp_path):
    kill_9_between_send_and_answer(KillCase(
        fake=asc, network="app_store", rules=rules_with_app_store(tmp_path), env=asc.env(),
        cards=lambda: review_cards(fake_slack), limit="5970 characters",
        publisher=lambda: AppStorePublisher(AscApi(asc.settings())),
        reply_id=lambda: asc.responses[REVIEW_ID]["id"],
        replies_made=lambda: len(asc.of_kind("create")),
        polls=lambda: len(asc.of_kind("list"))), fake_slack, tmp_path, REPLY)
