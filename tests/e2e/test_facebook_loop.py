"""A Facebook Page through the whole loop over HTTP: the bot polls the fake Graph API (a Page
token), posts one card per comment, a person claims, drafts, gets approval and sends; the fake
receives one `POST /{comment-id}/comments` as the Page. Then the same with a real kill -9 of
`socialbot run` between the send intent and Meta's answer: the reply is found under the
comment, recorded once, and the card is never posted twice."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.publisher import FacebookPublisher
from tests.support.desk_clicks import (
    AGENT,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    one_card,
)
from tests.support.fake_meta import PAGE_ID, FakeMeta
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
from tests.support.rules_files import shipped_rules_with

REPLY = "Sorry Dana! Refunds take 5 days; DM us your reference and we'll chase it 🙏"
MARKER = "Dana Whitfield"


def rules_with_page(tmp_path: Path) -> Path:
    return shipped_rules_with(
        tmp_path, [{"id": "fb", "type": "facebook_page", "page_id": PAGE_ID}])


@pytest.fixture
def meta():
    fake = FakeMeta().start()
    now = datetime.now(UTC).timestamp()
    post = fake.post("555000000000002", "Our winter timetable is live ❄️", now - 3600)
    fake.comment_id = fake.comment(
        post, "777000000000003", "Still waiting for my refund after 3 weeks, and nobody "
        "answers the hotline.", now - 600)
    yield fake
    fake.stop()


def page_cards(fake_slack) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage") if MARKER in str(c.params)
            and not c.params.get("thread_ts")]


def test_a_comment_goes_round_the_loop_and_is_answered_once(start_bot, fake_slack, meta,
                                                            tmp_path):
    bot = start_bot(rules_with_page(tmp_path), **meta.env())
    card = one_card(fake_slack, MARKER)
    text = json.dumps(blocks_of(card), ensure_ascii=False)
    assert "Facebook" in text and "comment_id=" in text
    approved = draft_and_approve(bot, fake_slack, card, REPLY, limit="8000 characters")
    threads = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, approved, "send"))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fake_slack.wait_until(lambda: meta.of_kind("reply"), timeout=10)
    [reply] = meta.of_kind("reply")  # three clicks, one reply
    assert reply.params["message"] == REPLY
    [ours] = meta.replies_by_page(meta.comment_id)

    def reply_states() -> list[str]:
        with session_scope(bot.runtime.factory) as s:
            return [r.state for r in s.scalars(select(models.Reply))]
    fake_slack.wait_until(lambda: reply_states() == ["sent"], timeout=10)  # Meta's answer read
    with session_scope(bot.runtime.factory) as s:
        m = s.scalars(select(models.Mention).where(
            models.Mention.external_id == meta.comment_id)).one()
        assert (m.network, m.extra["kind"], m.status) == ("facebook", "comment", "sent")
        [sent] = s.scalars(select(models.Reply)).all()
        assert (sent.state, sent.network_id) == ("sent", ours["id"])
    assert len(page_cards(fake_slack)) == 1


def test_kill_9_between_the_send_intent_and_metas_answer(fake_slack, meta, tmp_path):
    kill_9_between_send_and_answer(KillCase(
        fake=meta, network="facebook", rules=rules_with_page(tmp_path), env=meta.env(),
        cards=lambda: page_cards(fake_slack), limit="8000 characters",
        publisher=lambda: FacebookPublisher(build_graph(meta.settings())),
        reply_id=lambda: meta.replies_by_page(meta.comment_id)[0]["id"],
        replies_made=lambda: len(meta.of_kind("reply")),
        polls=lambda: len(meta.of_kind("feed"))), fake_slack, tmp_path, REPLY)
