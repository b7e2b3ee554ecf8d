"""The scenarios the kill-point tests replay and test_faults.py reuses under injected faults,
on the shipped rules at `NOW`:

- a poll: `x_network()` (three posts an earlier poll stored), `more_posts()` (three more: a
  known author, a new one twice), `check_ingest()` (every post stored once with one card,
  authors counted once, the cursor at the newest post), counted in `tests.support.fault_figures`;
- the outbox: `seed_cards()` (mentions and their queued cards, as ingest leaves them: three for
  customer care, one legal threat for PR) and `render_card()` (a card's text, enough to count).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.ingest import normalise_handle
from tests.support import fault_figures
from tests.support.fault_world import FakeX
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
X_SEARCH = RULES.source("x-search")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
# Four mentions: three for customer care (one more than a channel's burst of 3 → a paced,
# released, later round), one legal threat for PR.
POSTS = ["@NorthwindAir my flight is delayed again", "@NorthwindAir lost my bag",
         "@NorthwindAir still waiting for my refund", "@NorthwindAir I will sue you, my lawyer"
         " is ready"]


# --- a poll ---------------------------------------------------------------------------------

def x_network() -> FakeX:
    """Three posts already stored by an earlier poll, then three more (a known author, a new
    one twice) and the post at the cursor again: every kind of write a poll makes."""
    x = FakeX()
    x.post(1, "ana", "@NorthwindAir my flight is delayed again", NOW - timedelta(hours=2))
    x.post(2, "ben", "Loving the new lounge @NorthwindAir", NOW - timedelta(hours=2))
    x.post(3, "ana", "@NorthwindAir still waiting for my refund", NOW - timedelta(hours=1))
    return x


def more_posts(x: FakeX) -> None:
    x.post(4, "ana", "@NorthwindAir third time asking, I will sue", NOW - timedelta(minutes=9))
    x.post(5, "cara", "@NorthwindAir stranded at Gatwick", NOW - timedelta(minutes=8))
    x.post(6, "cara", "@NorthwindAir no hotel voucher either", NOW - timedelta(minutes=7))


def stored(url: str) -> dict:
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            mentions = s.execute(select(models.Mention.external_id, models.Mention.id)).all()
            cards = s.execute(select(models.OutboxMessage.mention_id, func.count())
                              .where(models.OutboxMessage.kind == "card")
                              .group_by(models.OutboxMessage.mention_id)).all()
            authors = dict(s.execute(select(models.Author.handle,
                                            models.Author.mention_count)).all())
            cursor = s.scalar(select(models.Source.cursor).where(models.Source.id == X_SEARCH.id))
    finally:
        engine.dispose()
    return {"ids": [e for e, _ in mentions], "mention_pk": dict(mentions),
            "cards": dict(cards), "authors": authors, "cursor": cursor}


def check_ingest(url: str, x: FakeX) -> None:
    """The invariants after a restart has polled: counted in the figures, then asserted."""
    state = stored(url)
    expected = {m.external_id for m in x.posts}
    ids = state["ids"]
    no_card = [e for e in ids if state["cards"].get(state["mention_pk"][e], 0) == 0]
    lost = len(expected - set(ids)) + len(no_card)
    dup_mentions = len(ids) - len(set(ids))
    dup_cards = sum(n - 1 for n in state["cards"].values() if n > 1) + dup_mentions
    assert fault_figures.invariant("mentions lost", lost) == 0, (expected - set(ids), no_card)
    assert fault_figures.invariant("duplicate cards", dup_cards) == 0, state["cards"]
    by_author: dict[str, int] = {}
    for m in x.posts:
        key = normalise_handle(m.author.handle)
        by_author[key] = by_author.get(key, 0) + 1
    assert state["authors"] == by_author  # a repeated store never counts a mention twice
    assert state["cursor"] == max(expected, key=int)


# --- the outbox -----------------------------------------------------------------------------

def render_card(session, row: models.OutboxMessage) -> dict:
    return {"text": f"{row.kind} of mention {row.mention_id}"}


def seed_cards(url: str, batch: int = 0) -> list[int]:
    """The mentions and their queued cards, as ingest leaves them (one `card:<id>` row each);
    `batch` n makes new authors and posts."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            ids = []
            for i, text in enumerate(POSTS):
                team = "pr" if "sue" in text else "care"
                m = models.Mention(
                    network="x", external_id=f"{batch}-{500 + i}", text=text, lang="en",
                    author=models.Author(network="x", handle=f"user{batch}-{i}",
                                         author_type="customer"),
                    compound=-0.5, sentiment="negative", author_type="customer", score=50,
                    priority="P1" if team == "pr" else "P3", team=team, ingested_at=NOW)
                s.add(m)
                s.flush()
                s.add(models.OutboxMessage(
                    kind="card", channel=RULES.teams[team].channel, mention_id=m.id,
                    priority=m.priority, payload={}, state="pending", not_before=NOW,
                    created_at=NOW, dedupe_key=f"card:{m.id}"))
                ids.append(m.id)
            return ids
    finally:
        engine.dispose()
