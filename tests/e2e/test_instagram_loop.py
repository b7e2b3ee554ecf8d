"""Instagram through the whole loop over HTTP: the bot polls the fake Graph API (the Page's
token, the linked professional account), posts one card per comment, a person claims, drafts,
gets approval and sends; the fake receives one `POST /{comment-id}/replies`. A comment is
hidden and shown again from the card's overflow (audited, the card says so). A post tagging
the account can't be answered: its card says why and has no Send. And a real kill -9 of
`socialbot run` between the send intent and Meta's answer: the reply is found under the
comment and recorded once."""

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
from bot.networks.instagram.publisher import InstagramPublisher
from tests.support.desk_clicks import (
    AGENT,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    one_card,
)
from tests.support.fake_meta import IG_USER_ID, FakeMeta
from tests.support.kill_send import KillCase, kill_9_between_send_and_answer
from tests.support.rules_files import shipped_rules_with

REPLY = "So sorry Dana! Please DM us and we'll unblock it today 🙏"


def rules_with_instagram(tmp_path: Path) -> Path:
    return shipped_rules_with(
        tmp_path, [{"id": "ig", "type": "instagram", "ig_user_id": IG_USER_ID}])


@pytest.fixture
def meta():
    fake = FakeMeta().start()
    now = datetime.now(UTC).timestamp()
    media = fake.ig_post("17900000000000001", "New card design ✨", now - 3600)
    fake.comment_id = fake.ig_comment(media, "17850000000000001",
                                      "My card has been blocked for 3 days and nobody answers",
                                      now - 600)
    fake.ig_post("17900000000000009", "Queueing at @acmebank again", now - 300,
                 by="sam.okafor")
    yield fake
    fake.stop()


def cards_of(fake_slack, marker: str) -> list:
    return [c for c in calls(fake_slack, "chat.postMessage") if marker in str(c.params)
            and not c.params.get("thread_ts")]


def test_a_comment_is_answered_once_hidden_and_shown_and_a_tag_cannot_be_answered(
        start_bot, fake_slack, meta, tmp_path):
    bot = start_bot(rules_with_instagram(tmp_path), **meta.env())
    card = one_card(fake_slack, "dana.w")
    text = json.dumps(blocks_of(card), ensure_ascii=False)
    assert "Instagram" in text and "A comment on the account's post" in text
    assert "Hide on Instagram" in text

    approved = draft_and_approve(bot, fake_slack, card, REPLY, limit="2200 characters")
    threads = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, approved, "send"))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fake_slack.wait_until(lambda: meta.of_kind("ig_reply"), timeout=10)
    [reply] = meta.of_kind("ig_reply")  # three clicks, one reply
    assert reply.params["message"] == REPLY
    [ours] = meta.ig_replies_by_account(meta.comment_id)

    def reply_states() -> list[str]:
        with session_scope(bot.runtime.factory) as s:
            return [r.state for r in s.scalars(select(models.Reply))]
    fake_slack.wait_until(lambda: reply_states() == ["sent"], timeout=10)
    with session_scope(bot.runtime.factory) as s:
        [sent] = s.scalars(select(models.Reply)).all()
        assert sent.network_id == ours["id"]
    assert len(cards_of(fake_slack, "dana.w")) == 1

    # Hide from the overflow: Meta hides it, the card says so, the audit trail has it.
    latest = blocks_of(calls(fake_slack, "chat.update")[-1])
    click(bot, fake_slack, AGENT, latest, "more", option="hide")
    fake_slack.wait_until(lambda: meta.ig_find(meta.comment_id)["hidden"], timeout=10)
    fake_slack.wait_until(lambda: any("Hidden by the account" in json.dumps(blocks_of(c))
                                      for c in calls(fake_slack, "chat.update")), timeout=10)
    updated = next(blocks_of(c) for c in reversed(calls(fake_slack, "chat.update"))
                   if "Hidden by the account" in json.dumps(blocks_of(c)))
    assert "Unhide on Instagram" in json.dumps(updated)
    click(bot, fake_slack, AGENT, updated, "more", option="unhide")
    fake_slack.wait_until(lambda: meta.ig_find(meta.comment_id)["hidden"] is False, timeout=10)

    def audited() -> list[str]:
        with session_scope(bot.runtime.factory) as s:
            return [e.action for e in s.scalars(select(models.AuditEvent).where(
                models.AuditEvent.action.in_(("hide", "unhide"))).order_by(models.AuditEvent.id))]
    fake_slack.wait_until(lambda: len(audited()) == 2, timeout=10)  # written after Meta's answer
    assert audited() == ["hide", "unhide"]

    # The tag: someone else's post. The card says why there is no reply, and offers no Send.
    tag = one_card(fake_slack, "sam.okafor")
    tag_text = json.dumps(blocks_of(tag), ensure_ascii=False)
    assert "answer comments only" in tag_text and "Hide on Instagram" not in tag_text


def test_kill_9_between_the_send_intent_and_metas_answer(fake_slack, meta, tmp_path):
    kill_9_between_send_and_answer(KillCase(
        fake=meta, network="instagram", rules=rules_with_instagram(tmp_path), env=meta.env(),
        cards=lambda: cards_of(fake_slack, "dana.w"), limit="2200 characters",
        publisher=lambda: InstagramPublisher(build_graph(meta.settings())),
        reply_id=lambda: meta.ig_replies_by_account(meta.comment_id)[0]["id"],
        replies_made=lambda: len(meta.of_kind("ig_reply")),
        polls=lambda: len(meta.of_kind("ig_comments"))), fake_slack, tmp_path, REPLY)
