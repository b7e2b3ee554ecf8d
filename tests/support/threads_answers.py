"""A Threads card answered and closed, then answered back in its conversation without an
@-mention: what the conversation tests and kill points start from (the fake Threads over real
HTTP, a real database).

- `answered_card(factory, fake, now)`: lee's mention, polled into a card; our reply published
  under it on the fake; the card closed with that reply sent, as the desk leaves it;
- `answers(fake, reply_id, at)`: lee answers our reply (no @), sam chimes in under the card,
  ana answers the brand's own post: a follow-up, context and a new card, none in /me/mentions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.base import Target
from bot.networks.threads.client import build_threads
from bot.networks.threads.publisher import ThreadsPublisher
from tests.support.fake_threads import ME, FakeThreads

AGENT = "U0AGENT0001"
CARD = "18000000000000920"
BRAND_POST = "18000000000000930"
# external id → what it is to the desk once the answers are read
THREAD = {"18000000000000921": "follow_up", "18000000000000922": "context"}
NEW_CARD = "18000000000000931"


def seed(fake: FakeThreads, at: float) -> None:
    """lee's mention (`at` - 2,400 s) and the brand's own post (`at` - 7,200 s)."""
    fake.post(CARD, "lee.p", "@acmebank app down?", at - 2400, mentions_us=True)
    fake.post(BRAND_POST, ME, "New card designs are out!", at - 7200)


def close_answered(factory: sessionmaker[Session], fake: FakeThreads, now: datetime) -> str:
    """Our reply published under the card, the card closed with it sent: the reply's id."""
    ours = ThreadsPublisher(build_threads(fake.settings())).reply(
        Target("threads", CARD), "Sorry Lee, DM us", "k")
    with session_scope(factory) as s:
        card = s.scalars(select(models.Mention).where(models.Mention.external_id == CARD)).one()
        draft = models.Draft(mention_id=card.id, text="Sorry Lee, DM us", author=AGENT,
                             created_at=now - timedelta(minutes=20))
        s.add(draft)
        s.flush()
        s.add(models.Reply(mention_id=card.id, draft_id=draft.id, network="threads",
                           idempotency_key=f"reply:{draft.id}", state="sent",
                           network_id=ours.network_id, sent_by=AGENT,
                           sent_at=now - timedelta(minutes=20)))
        s.execute(update(models.Mention).where(models.Mention.id == card.id).values(
            status="closed", outcome="resolved", claimed_by=AGENT, closed_at=now,
            slack_channel="C0CARE00001", slack_ts="1800000000.000100"))
    return ours.network_id


def answers(fake: FakeThreads, reply_id: str, at: float) -> None:
    fake.post("18000000000000921", "lee.p", "still broken", at - 120, parent=reply_id)
    fake.post("18000000000000922", "sam", "same for me", at - 100, parent=CARD)
    fake.post(NEW_CARD, "ana", "love the green one", at - 90, parent=BRAND_POST)
