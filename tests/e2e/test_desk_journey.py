"""One mention through the whole desk, over real signed HTTP, clicking the buttons the fake
Slack actually received: card → claim → draft (modal) → submit → approval by a user-group
member (self-approval refused) → send to X exactly once → outcome."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from bot.domain.mention import Author, Mention
from bot.kit import models
from bot.kit.db import session_scope
from bot.listening.ingest import store_mentions
from tests.support.desk_clicks import (
    AGENT,
    FORM,
    LEAD,
    blocks_of,
    calls,
    click,
    desk_fake_slack,  # noqa: F401 (fixture fake_slack)
    latest_card,
    submit_view,
    wait_calls,
)
from tests.support.fake_slack import FakeSlack
from tests.support.fake_x import FakeX


@pytest.fixture
def x_api(monkeypatch):
    """The fake X (real HTTP); the bot reaches it through X_API_URL, set before it starts."""
    fake = FakeX().start()
    for name, value in {"X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "t",
                        "X_ACCESS_TOKEN_SECRET": "ts", "X_API_URL": fake.url}.items():
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


def test_claim_draft_approve_send_tag(x_api, bot_server, fake_slack):
    runtime = bot_server.runtime
    now = datetime.now(UTC)
    post = Mention(network="x", external_id="1998000000000000001", mentions_brand=True,
                   text="@NorthwindAir you lost my bag in Denver and I'm calling my lawyer <!channel>",
                   author=Author(handle="frustrated_flyer", name="Fran", followers=800),
                   url="https://x.com/frustrated_flyer/status/1998000000000000001",
                   created_at=now - timedelta(minutes=3), lang="en")
    with session_scope(runtime.factory) as s:
        store_mentions(s, [post], runtime.rules, now=now)
    runtime.sender.wake()

    # The runtime also polls a 20-entry news feed into the same channel: ours is P1 and is
    # posted ahead of those P3 cards.
    fake_slack.wait_until(lambda: [c for c in calls(fake_slack, "chat.postMessage")
                                   if "frustrated_flyer" in str(c.params)], timeout=10)
    card = next(c for c in calls(fake_slack, "chat.postMessage")
                if "frustrated_flyer" in str(c.params))
    assert calls(fake_slack, "chat.postMessage").index(card) <= 3  # at most the first burst
    assert card.params["channel"] == "C0PRESS0001"  # legal threat → PR team
    assert "&lt;!channel&gt;" in json.dumps(blocks_of(card)) and "<!channel>" not in \
        json.dumps(blocks_of(card))

    click(bot_server, fake_slack, AGENT, blocks_of(card), "claim")
    claimed = latest_card(fake_slack, 1)
    click(bot_server, fake_slack, AGENT, claimed, "draft")
    fake_slack.wait_until(lambda: fake_slack.opened, timeout=10)
    modal = fake_slack.opened[0]
    text_block = next(b for b in modal["blocks"] if b.get("block_id", "").startswith(
        "draft_text"))
    too_long = "x" * 400
    submit_view(bot_server, AGENT, modal,
                {text_block["block_id"]: {"draft_text": {"type": "plain_text_input",
                                                         "value": too_long}}})
    submit_view(bot_server, AGENT, modal, {text_block["block_id"]: {"draft_text": {
        "type": "plain_text_input",
        "value": "@frustrated_flyer We're so sorry. Please DM us your file reference."}}})
    drafted = latest_card(fake_slack, 2)
    click(bot_server, fake_slack, AGENT, drafted, "submit")
    pending = latest_card(fake_slack, 3)
    # The request goes to the card's thread and by DM to the approvers (group expanded).
    wait_calls(fake_slack, "conversations.open", 1)

    click(bot_server, fake_slack, AGENT, pending, "approve")  # own draft: refused
    refusal = wait_calls(fake_slack, "chat.postEphemeral", 1)[0]
    assert refusal.params["user"] == AGENT and "another approver" in refusal.params["text"]

    click(bot_server, fake_slack, LEAD, pending, "approve")
    approved = latest_card(fake_slack, 4)
    threads = [threading.Thread(target=click, args=(bot_server, fake_slack, AGENT, approved,
                                                    "send")) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = latest_card(fake_slack, 5)
    click(bot_server, fake_slack, AGENT, sent, "outcome", option="case_opened")
    latest_card(fake_slack, 6)

    posts = [c for c in x_api.calls if c.path == "/2/tweets"]
    assert len(posts) == len(x_api.replies) == 1  # three clicks on Send, one reply
    [body] = x_api.replies
    assert body["reply"]["in_reply_to_tweet_id"] == "1998000000000000001"
    with session_scope(runtime.factory) as s:
        m = s.scalars(select(models.Mention).where(
            models.Mention.external_id == "1998000000000000001")).one()
        assert (m.status, m.outcome) == ("closed", "case_opened")
        events = s.scalars(select(models.AuditEvent).where(
            models.AuditEvent.mention_id == m.id).order_by(models.AuditEvent.id)).all()
        # The refused self-approval is on the trail too: who tried what, nothing changed.
        assert [e.action for e in events] == [
            "claim", "draft", "submit", "refused", "approve", "send", "tag"]
        refused = events[3]
        assert (refused.actor, refused.detail["attempted"], refused.from_status,
                refused.to_status) == (AGENT, "approve", "pending_approval", "pending_approval")
        reply = s.scalars(select(models.Reply)).one()
        assert (reply.state, reply.network_id, reply.sent_by) == (
            "sent", body["id"], AGENT)  # the id X answered


def test_choosing_a_saved_reply_fills_the_modal_and_thread_replies_become_drafts(
        bot_server, fake_slack):
    runtime = bot_server.runtime
    now = datetime.now(UTC)
    post = Mention(network="x", external_id="1998000000000000002", mentions_brand=True,
                   text="@NorthwindAir you lost my bag on Tuesday, where is it?",
                   author=Author(handle="bagless", name="B", followers=50),
                   created_at=now, lang="en")
    with session_scope(runtime.factory) as s:
        store_mentions(s, [post], runtime.rules, now=now)
    runtime.sender.wake()
    fake_slack.wait_until(lambda: [c for c in calls(fake_slack, "chat.postMessage")
                                   if "bagless" in str(c.params)], timeout=10)
    card = next(c for c in calls(fake_slack, "chat.postMessage") if "bagless" in str(c.params))
    assert card.params["channel"] == "C0BAGGAGE01"  # lost luggage → baggage desk
    click(bot_server, fake_slack, AGENT, blocks_of(card), "claim")
    claimed = latest_card(fake_slack, 1)
    click(bot_server, fake_slack, AGENT, claimed, "draft")
    fake_slack.wait_until(lambda: fake_slack.opened, timeout=10)
    modal = {**fake_slack.opened[0], "id": "V1", "hash": "h1"}
    chooser = next(b for b in modal["blocks"] if b.get("block_id") == "template")
    option = next(o for o in chooser["element"]["options"] if o["value"] == "Bag tracing")
    payload = {"type": "block_actions", "user": {"id": AGENT}, "team": {"id": "T111"},
               "api_app_id": "A111", "container": {"type": "view", "view_id": "V1"},
               "trigger_id": "t2", "view": modal,
               "actions": [{"action_id": "template", "block_id": "template",
                            "type": "static_select", "selected_option": option}]}
    assert bot_server.post("/slack/events", urlencode({"payload": json.dumps(payload)}),
                           content_type=FORM).status == 200
    update = wait_calls(fake_slack, "views.update", 1)[0]
    view = update.params["view"] if isinstance(update.params["view"], dict) else json.loads(
        update.params["view"])
    box = next(b for b in view["blocks"] if b.get("block_id", "").startswith("draft_text"))
    assert box["block_id"] == "draft_text-1"
    assert box["element"]["initial_value"].startswith("Sorry your bag hasn't arrived")

    # The claimer answers in the card's thread instead: that text becomes the draft.
    event = {"type": "event_callback", "event_id": "Ev1", "team_id": "T111",
             "api_app_id": "A111", "event": {
                 "type": "message", "channel": "C0BAGGAGE01", "user": AGENT,
                 "text": "@bagless So sorry &amp; we're on it: <https://nw.example/bags>",
                 "ts": "1800000000.000100", "thread_ts": card_ts(fake_slack, card)}}
    for retry in (None, "1"):  # Slack's retry of the same event is acknowledged, not redone
        headers = {"X-Slack-Retry-Num": retry} if retry else {}
        assert bot_server.post("/slack/events", json.dumps(event),
                               content_type="application/json", headers=headers).status == 200
    fake_slack.wait_until(lambda: any(
        c.params.get("thread_ts") for c in calls(fake_slack, "chat.postMessage")), timeout=10)
    preview = [c for c in calls(fake_slack, "chat.postMessage") if c.params.get("thread_ts")]
    assert len(preview) == 1
    with session_scope(runtime.factory) as s:
        drafts = s.scalars(select(models.Draft)).all()
        assert [d.text for d in drafts] == [
            "@bagless So sorry & we're on it: https://nw.example/bags"]


def card_ts(fake: FakeSlack, card) -> str:
    """The ts the fake gave the card (its answer to chat.postMessage)."""
    for msg in fake.messages.get(card.params["channel"], []):
        if "bagless" in str(msg.get("text")) or "bagless" in json.dumps(msg.get("blocks")):
            return msg["ts"]
    raise AssertionError("card not stored by the fake")
