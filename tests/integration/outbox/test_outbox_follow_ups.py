"""A follow-up to a card still waiting in the outbox (a flooded channel, a paused sender): it
is queued for the card's thread and waits for the card; the card, posted later, already shows
the follow-up, so no update is queued for it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules
from bot.kit.db import make_session_factory, session_scope
from bot.kit.models import OutboxMessage
from bot.listening.ingest import store_mentions
from bot.outbox import OutboxSender, sender_client
from tests.support.fake_slack import FakeSlack
from tests.support.outbox_rows import NOW
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")


def x_post(external_id: str, text: str, reply_to: str | None) -> Mention:
    return Mention(network="x", external_id=external_id, text=text,
                   author=Author(handle="bagless", name="B", followers=5),
                   created_at=NOW - timedelta(minutes=1), lang="en", mentions_brand=True,
                   in_reply_to_id=reply_to, conversation_id="1991")


def render(session, msg: OutboxMessage) -> dict:
    return {"text": f"{msg.kind} {msg.payload.get('type', '')} of {msg.mention_id}"}


def test_a_follow_up_to_a_card_still_in_the_outbox_waits_for_it(engine):
    factory = make_session_factory(engine)
    clock = {"now": NOW}
    fake = FakeSlack(ts_clock=lambda: clock["now"].timestamp()).start()
    try:
        with session_scope(factory) as s:
            store_mentions(s, [x_post("1991", "@NorthwindAir where is my bag", None)], RULES,
                           now=NOW)
            store_mentions(s, [x_post("1992", "@NorthwindAir hello??", "1991")], RULES,
                           now=NOW)
        with session_scope(factory) as s:
            kinds = [(m.kind, m.payload.get("type")) for m in s.scalars(
                select(OutboxMessage).order_by(OutboxMessage.id))]
        assert kinds == [("card", None), ("thread", "thread_post")]  # no update: not posted
        sender = OutboxSender(factory, sender_client("xoxb-test", fake.api_url, timeout=5),
                              render, lambda: clock["now"])
        for _ in range(3):
            sender.run_once(clock["now"])
        posts = fake.calls_to("chat.postMessage")
        assert [p.params["text"] for p in posts] == ["card  of 1", "thread thread_post of 1"]
        card_ts = next(m["ts"] for m in fake.posts() if "thread_ts" not in m)
        assert posts[1].params["thread_ts"] == card_ts
    finally:
        fake.stop()
