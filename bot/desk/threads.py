"""What the desk shows of a card's conversation (bot.domain.conversation): the card's
"Customer replied" state, the post a reply answers, and each post of its thread."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain.card import Conversation, PostView
from bot.domain.workflow import MentionStatus
from bot.kit import models


def post_view(post: models.ThreadPost, notify: str | None = None) -> PostView:
    return PostView(network=post.network, role=post.role, author_handle=post.author_handle,
                    author_name=post.author_name, text=post.text, url=post.url,
                    created_at=post.created_at, notify=notify)


def load_post(session: Session, post_id: int) -> models.ThreadPost:
    post = session.get(models.ThreadPost, post_id)
    if post is None:
        raise LookupError(f"no thread post {post_id}")
    return post


def reply_target(session: Session, m: models.Mention) -> models.ThreadPost | None:
    """The customer's latest post, which a reply answers by default (None: the mention)."""
    if m.reply_to_post_id is None:
        return None
    post = session.get(models.ThreadPost, m.reply_to_post_id)
    return post if post is not None and post.mention_id == m.id else None


def conversation(session: Session, m: models.Mention, draft: models.Draft | None,
                 now: datetime) -> Conversation | None:
    if not m.follow_ups or m.customer_replied_at is None:
        return None
    target = reply_target(session, m)
    # Nobody waits on a card that is answered or closed (dismissed, handled elsewhere).
    open_case = m.status not in (MentionStatus.SENT, MentionStatus.CLOSED)
    waiting = (max(0, int((now - m.awaiting_since).total_seconds() // 60))
               if m.awaiting_since and open_case else None)
    return Conversation(
        follow_ups=m.follow_ups, replied_at=m.customer_replied_at, waiting_minutes=waiting,
        reply_to=post_view(target) if target else None, reopens=m.reopens,
        # Not yet sent, and written before the customer's last message reached the desk:
        # the drafter had not seen it, and the approver must know.
        draft_stale=(draft is not None and target is not None and draft.reply is None
                     and draft.created_at < target.ingested_at))
