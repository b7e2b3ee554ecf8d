"""The conversations a source watches: where a customer may answer out of the listing's sight.

YouTube lists comment threads by their first comment, so a customer answering our reply in a
thread begun days ago never reaches the pages a poll reads. A source that says
`follows_conversations = True` gets, in `SourceState.watch`, the conversations the desk has
cards in from it, and reads them directly (YouTube: `commentThreads.list(id=…)`, 50 threads a
call); Threads lists a post in `/me/mentions` only when it @-mentions the brand, so a
customer answering our reply without one is read from the card's conversation
(`GET /{root}/conversation`, one a call: bot.networks.threads.conversations); Facebook and
Instagram list only their newest posts, so the comments of older ones with cards are read
too. Their replies are stored like any post: a follow-up joins the card's thread
(bot.listening.follow_ups), a post seen before is dropped by ingest's dedupe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.kit import models
from bot.networks.base import Source, Watched

WATCH_DAYS = timedelta(days=7)  # a customer answering after a week starts a new card
WATCH_MAX = 100  # conversations a poll reads, the most recently active first


def follows_conversations(source: Source) -> bool:
    return bool(getattr(source, "follows_conversations", False))


def watched(session: Session, source_id: str, now: datetime) -> tuple[Watched, ...]:
    """The conversations with a card from `source_id` ingested in the last WATCH_DAYS, the
    most recently active first, each with the oldest post the desk has of it."""
    posted = func.coalesce(models.Mention.created_at, models.Mention.ingested_at)
    rows = session.execute(
        select(models.Mention.conversation_id, func.min(posted))
        .where(models.Mention.ingested_at >= now - WATCH_DAYS,
               models.Mention.source_id == source_id,
               models.Mention.conversation_id.is_not(None))
        .group_by(models.Mention.conversation_id)
        .order_by(func.max(models.Mention.ingested_at).desc())
        .limit(WATCH_MAX)).all()
    return tuple(Watched(str(conversation), since) for conversation, since in rows
                 if conversation and since is not None)
