"""A conversation on X through the whole desk, over real signed HTTP against a fake Slack and a
fake X (`tests/support/fake_x.py`), each polled and posted to by the running bot: a customer
complains, we answer, the case is closed; the customer answers our reply. That answer, read by
the scheduler's next poll of X, lands in the card's thread (no new card anywhere), the card
says "Customer replied" and is reopened for the same person, who is told in the thread; the
draft modal quotes the customer's latest message and the next reply goes `in_reply_to` it,
once. A new customer in the same poll still gets a card of their own."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from tests.support.desk_clicks import (
    AGENT,
    LEAD,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    draft_and_approve,
    latest_card,
    one_card,
    submit_view,
)
from tests.support.fake_x import FakeX, snowflake
from tests.support.rules_files import shipped_rules_with

CUSTOMER_ID, NEWCOMER_ID = "1500000000000000001", "1500000000000000002"


@pytest.fixture
def fake_x():
    fake = FakeX().start()
    fake.user(CUSTOMER_ID, "bagless", followers=40)
    fake.user(NEWCOMER_ID, "newcomer", followers=40)
    yield fake
    fake.stop()


def replies_to(fake_x: FakeX) -> list[str]:
    """The posts the brand's replies answer, in the order they were posted."""
    return [r["reply"]["in_reply_to_tweet_id"] for r in fake_x.replies]


def send(bot, fake_slack, blocks) -> None:
    clicks = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, blocks, "send"))
              for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()


def test_the_customers_answer_joins_the_card_reopens_it_and_is_answered(
        fake_x, start_bot, fake_slack, tmp_path):
    now = datetime.now(UTC)
    first = str(snowflake(now - timedelta(minutes=30)))
    fake_x.post(int(first), "@NorthwindAir my bag never arrived in Denver", CUSTOMER_ID,
                now - timedelta(minutes=30))
    bot_server = start_bot(shipped_rules_with(tmp_path, [{"id": "x-mentions",
                                                          "type": "x_mentions"}]),
                           **fake_x.env())
    runtime = bot_server.runtime
    card = one_card(fake_slack, "bagless")  # the first poll, at start
    channel = card.params["channel"]
    sendable = draft_and_approve(bot_server, fake_slack, card, "So sorry! DM us your file "
                                 "reference please.", limit="280 weighted characters")
    updates = len(calls(fake_slack, "chat.update"))
    send(bot_server, fake_slack, sendable)
    sent = latest_card(fake_slack, updates + 1)
    updates = len(calls(fake_slack, "chat.update"))
    click(bot_server, fake_slack, AGENT, sent, "outcome", option="resolved")
    latest_card(fake_slack, updates + 1)
    assert replies_to(fake_x) == [first]
    our_reply = fake_x.replies[0]["id"]

    # The customer answers our reply, and someone new writes in: the next poll brings both.
    updates = len(calls(fake_slack, "chat.update"))
    later = datetime.now(UTC)
    answer = str(snowflake(later - timedelta(seconds=30)))
    fake_x.post(int(answer), "@NorthwindAir 3 hours and still no bag <!channel>", CUSTOMER_ID,
                later - timedelta(seconds=30), replied_to=our_reply, conversation_id=first)
    fake_x.post(snowflake(later - timedelta(seconds=20)), "@NorthwindAir hello, seat upgrade?",
                NEWCOMER_ID, later - timedelta(seconds=20))
    runtime.poll_now("x-mentions")
    fake_slack.wait_until(lambda: [c for c in calls(fake_slack, "chat.postMessage")
                                   if c.params.get("thread_ts") and "still no bag"
                                   in json.dumps(c.params)], timeout=15)
    (in_thread,) = [c for c in calls(fake_slack, "chat.postMessage")
                    if c.params.get("thread_ts") and "still no bag" in json.dumps(c.params)]
    shown = json.dumps(blocks_of(in_thread))
    assert in_thread.params["channel"] == channel
    (card_message,) = [m for m in fake_slack.posts(channel) if not m.get("thread_ts")
                       and "never arrived" in json.dumps(m)]
    assert in_thread.params["thread_ts"] == card_message["ts"]  # the card's own thread
    assert "Customer replied" in shown and f"<@{AGENT}>" in shown  # the claimer is told
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown  # escaped like the card
    assert f"https://x.com/bagless/status/{answer}" in shown
    # No new card anywhere: nothing outside a thread carries the answer. (Counting every
    # top-level message also counted the desk's own channel messages, which run beside it.)
    assert [c for c in calls(fake_slack, "chat.postMessage") if not c.params.get("thread_ts")
            and "still no bag" in json.dumps(c.params)] == []
    reopened = latest_card(fake_slack, updates + 1)
    text = json.dumps(reopened)
    assert "Customer replied" in text and "1 message" in text and "reopened" in text
    assert "draft" in [e.get("action_id") for b in reopened for e in b.get("elements", [])]
    one_card(fake_slack, "newcomer")  # a new customer still gets a card of their own

    # Answering: the modal quotes the latest message, the reply goes in_reply_to it, once.
    updates = len(calls(fake_slack, "chat.update"))
    click(bot_server, fake_slack, AGENT, reopened, "draft")
    fake_slack.wait_until(lambda: len(fake_slack.opened) >= 2, timeout=10)
    modal = json.dumps(fake_slack.opened[-1])
    assert "still no bag" in modal and "never arrived" not in modal
    box = next(b for b in fake_slack.opened[-1]["blocks"]
               if b.get("block_id", "").startswith("draft_text"))
    submit_view(bot_server, AGENT, fake_slack.opened[-1], {box["block_id"]: {"draft_text": {
        "type": "plain_text_input", "value": "@bagless Found it: it arrives tonight."}}})
    drafted = latest_card(fake_slack, updates + 1)
    if "submit" in json.dumps(drafted):
        click(bot_server, fake_slack, AGENT, drafted, "submit")
        click(bot_server, fake_slack, LEAD, latest_card(fake_slack, updates + 2), "approve")
        drafted = latest_card(fake_slack, updates + 3)
    updates = len(calls(fake_slack, "chat.update"))
    send(bot_server, fake_slack, drafted)
    latest_card(fake_slack, updates + 1)

    def status() -> str:
        with session_scope(runtime.factory) as s:
            return s.scalars(select(models.Mention.status).where(
                models.Mention.external_id == first)).one()
    assert fake_slack.wait_until(lambda: status() == "sent", timeout=10)
    assert replies_to(fake_x) == [first, answer]  # two Send clicks, one reply

    with session_scope(runtime.factory) as s:
        m = s.scalars(select(models.Mention).where(models.Mention.external_id == first)).one()
        assert (m.status, m.follow_ups, m.reopens, m.awaiting_since) == ("sent", 1, 1, None)
        actions = s.scalars(select(models.AuditEvent.action).where(
            models.AuditEvent.mention_id == m.id).order_by(models.AuditEvent.id)).all()
        assert "reopen" in actions and actions[-1] == "send"
        assert s.scalars(select(models.Mention.external_id).where(
            models.Mention.external_id == answer)).all() == []  # never a card of its own
    assert replies_to(fake_x) == [first, answer]


def test_a_follow_up_while_the_draft_awaits_approval_reaches_the_approver_by_dm(
        fake_x, start_bot, fake_slack, tmp_path):
    """The approver's DM is never redrawn: the customer writing while a draft awaits approval
    sends the approver the request again, with the new message and the warning; approving
    from that DM sends the reply once."""
    now = datetime.now(UTC)
    first = str(snowflake(now - timedelta(minutes=20)))
    fake_x.post(int(first), "@NorthwindAir you lost my bag, my lawyer will hear about this",
                CUSTOMER_ID, now - timedelta(minutes=20))
    bot = start_bot(shipped_rules_with(tmp_path, [{"id": "x-mentions", "type": "x_mentions"}]),
                    **fake_x.env())
    card = one_card(fake_slack, "bagless")
    click(bot, fake_slack, AGENT, blocks_of(card), "claim")
    click(bot, fake_slack, AGENT, latest_card(fake_slack, 1), "draft")
    fake_slack.wait_until(lambda: fake_slack.opened, timeout=10)
    box = next(b for b in fake_slack.opened[-1]["blocks"]
               if b.get("block_id", "").startswith("draft_text"))
    submit_view(bot, AGENT, fake_slack.opened[-1], {box["block_id"]: {"draft_text": {
        "type": "plain_text_input", "value": "@bagless So sorry: DM us your file reference."}}})
    click(bot, fake_slack, AGENT, latest_card(fake_slack, 2), "submit")  # legal: approval

    def dms(marker: str) -> list:
        return [c for c in calls(fake_slack, "chat.postMessage")
                if str(c.params["channel"]).startswith("D") and marker in json.dumps(c.params)]
    fake_slack.wait_until(lambda: dms("Your approval is needed"), timeout=10)
    asked = {c.params["channel"] for c in dms("Your approval is needed")}
    assert f"D{LEAD}" in asked

    later = datetime.now(UTC)
    fake_x.post(snowflake(later - timedelta(seconds=10)), "@NorthwindAir found the tag: "
                "it is in Paris", CUSTOMER_ID, later - timedelta(seconds=10),
                replied_to=first, conversation_id=first)
    bot.runtime.poll_now("x-mentions")
    fake_slack.wait_until(lambda: len(dms("wrote again")) >= len(asked), timeout=15)
    again = dms("wrote again")
    assert {c.params["channel"] for c in again} == asked  # each approver, once
    shown = json.dumps(blocks_of(again[0]))
    assert "found the tag" in shown and "written before the customer's last message" in shown
    assert "DM us your file reference" in shown  # the draft the approver decides on

    lead_dm = next(c for c in again if c.params["channel"] == f"D{LEAD}")
    updates = len(calls(fake_slack, "chat.update"))
    click(bot, fake_slack, LEAD, blocks_of(lead_dm), "approve")
    approved = latest_card(fake_slack, updates + 1)
    send(bot, fake_slack, approved)
    fake_slack.wait_until(lambda: fake_x.replies, timeout=10)
    latest_card(fake_slack, updates + 2)
    assert len(fake_x.replies) == 1  # two Send clicks, one reply
    assert len(dms("wrote again")) == len(asked)  # and no DM more
