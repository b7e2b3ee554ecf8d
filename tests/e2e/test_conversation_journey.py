"""A conversation on X through the whole desk, over real signed HTTP against a fake Slack and a
fake X: a customer complains, we answer, the case is closed; the customer answers our reply.
That answer lands in the card's thread (no new card anywhere), the card says "Customer
replied" and is reopened for the same person, who is told in the thread; the draft modal
quotes the customer's latest message and the next reply goes `in_reply_to` it, once. A new
customer still gets a card of their own."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from bot.kit import models
from bot.kit.db import session_scope
from bot.listening.ingest import store_mentions
from bot.networks.x.source import BrandMatcher, normalise_page
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
    wait_calls,
)

X_TWEETS = "https://api.twitter.com/2/tweets"
BRAND_ID = "1400000000000000001"
CUSTOMER_ID = "1500000000000000001"
FIRST, OUR_REPLY, ANSWER, NEXT_REPLY = ("1998100000000000001", "1998100000000000002",
                                        "1998100000000000003", "1998100000000000004")


@pytest.fixture
def fake_x(monkeypatch):
    """X's write API: each reply gets the next id of ours."""
    for name, value in {"X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t",
                        "X_ACCESS_TOKEN_SECRET": "ts"}.items():
        monkeypatch.setenv(name, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for post_id in (OUR_REPLY, NEXT_REPLY):
            mock.post(X_TWEETS, status=201, json={"data": {"id": post_id, "text": "reply"}})
        yield mock


def page(tweet_id: str, text: str, *, reply_to: str | None, at: datetime,
         author: tuple[str, str] = (CUSTOMER_ID, "bagless")) -> dict:
    """One X API v2 mentions page holding one post, as X sends it."""
    tweet = {"id": tweet_id, "text": text, "author_id": author[0], "lang": "en",
             "conversation_id": FIRST, "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
             "entities": {"mentions": [{"username": "NorthwindAir", "id": BRAND_ID}]}}
    if reply_to:
        tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        tweet["in_reply_to_user_id"] = BRAND_ID
    return {"data": [tweet], "includes": {"users": [
        {"id": author[0], "username": author[1], "name": author[1].title(),
         "public_metrics": {"followers_count": 40}}]}}


def ingest(runtime, body: dict, now: datetime) -> None:
    mentions = normalise_page(body, brand=BrandMatcher("NorthwindAir", BRAND_ID),
                              source_id=None)  # offline rules: no X source row
    with session_scope(runtime.factory) as s:
        store_mentions(s, mentions, runtime.rules, now=now)
    runtime.sender.wake()


def x_replies(fake_x) -> list[dict]:
    return [json.loads(c.request.body) for c in fake_x.calls if c.request.url == X_TWEETS]


def send(bot, fake_slack, blocks) -> None:
    clicks = [threading.Thread(target=click, args=(bot, fake_slack, AGENT, blocks, "send"))
              for _ in range(2)]
    for t in clicks:
        t.start()
    for t in clicks:
        t.join()


def test_the_customers_answer_joins_the_card_reopens_it_and_is_answered(
        fake_x, bot_server, fake_slack):
    runtime = bot_server.runtime
    now = datetime.now(UTC)
    ingest(runtime, page(FIRST, "@NorthwindAir my bag never arrived in Denver",
                         reply_to=None, at=now - timedelta(minutes=30)), now)
    card = one_card(fake_slack, "bagless")
    channel = card.params["channel"]
    sendable = draft_and_approve(bot_server, fake_slack, card, "So sorry! DM us your file "
                                 "reference please.", limit="280 weighted characters")
    updates = len(calls(fake_slack, "chat.update"))
    send(bot_server, fake_slack, sendable)
    sent = latest_card(fake_slack, updates + 1)
    updates = len(calls(fake_slack, "chat.update"))
    click(bot_server, fake_slack, AGENT, sent, "outcome", option="resolved")
    latest_card(fake_slack, updates + 1)
    assert [r["reply"]["in_reply_to_tweet_id"] for r in x_replies(fake_x)] == [FIRST]

    # The customer answers our reply, hours later: a poll brings it in.
    updates = len(calls(fake_slack, "chat.update"))
    later = datetime.now(UTC)  # the outbox sends what is due by the wall clock
    ingest(runtime, page(ANSWER, "@NorthwindAir 3 hours and still no bag <!channel>",
                         reply_to=OUR_REPLY, at=later - timedelta(seconds=30)), later)
    fake_slack.wait_until(lambda: [c for c in calls(fake_slack, "chat.postMessage")
                                   if c.params.get("thread_ts") and "still no bag"
                                   in json.dumps(c.params)], timeout=10)
    (in_thread,) = [c for c in calls(fake_slack, "chat.postMessage")
                    if c.params.get("thread_ts") and "still no bag" in json.dumps(c.params)]
    shown = json.dumps(blocks_of(in_thread))
    assert in_thread.params["channel"] == channel
    assert "Customer replied" in shown and f"<@{AGENT}>" in shown  # the claimer is told
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown  # escaped like the card
    assert f"https://x.com/bagless/status/{ANSWER}" in shown
    # No new card anywhere: nothing outside a thread carries the answer. (Counting every
    # top-level message also counted the desk's own channel messages, which run beside it.)
    assert [c for c in calls(fake_slack, "chat.postMessage") if not c.params.get("thread_ts")
            and "still no bag" in json.dumps(c.params)] == []
    reopened = latest_card(fake_slack, updates + 1)
    text = json.dumps(reopened)
    assert "Customer replied" in text and "1 message" in text and "reopened" in text
    assert "draft" in [e.get("action_id") for b in reopened for e in b.get("elements", [])]

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
    send(bot_server, fake_slack, drafted)
    fake_slack.wait_until(lambda: len(x_replies(fake_x)) >= 2, timeout=10)
    assert [r["reply"]["in_reply_to_tweet_id"] for r in x_replies(fake_x)] == [FIRST, ANSWER]

    # A new customer still gets a card of their own.
    ingest(runtime, page("1998100000000000009", "@NorthwindAir hello, seat upgrade?",
                         reply_to=None, at=later, author=("1500000000000000002", "newcomer")),
           later)
    one_card(fake_slack, "newcomer")
    with session_scope(runtime.factory) as s:
        m = s.scalars(select(models.Mention).where(models.Mention.external_id == FIRST)).one()
        assert (m.status, m.follow_ups, m.reopens, m.awaiting_since) == ("sent", 1, 1, None)
        actions = s.scalars(select(models.AuditEvent.action).where(
            models.AuditEvent.mention_id == m.id).order_by(models.AuditEvent.id)).all()
        assert "reopen" in actions and actions[-1] == "send"
    wait_calls(fake_slack, "chat.update", 1)
