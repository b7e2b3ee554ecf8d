"""Like or repost a mention (an advocate's praise: "amplify"), once, with an audit event.

The network call is made with no transaction open; the `AuditEvent` (action `like` or
`repost`, who, when) is written after it succeeds, and a second request for the same action on
the same mention is refused with `AlreadyDone`. Liking or reposting twice is harmless on X and
Mastodon (both idempotent); on Bluesky, where each like is a record of its own, two truly
simultaneous clicks could write two like records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.domain.errors import ConcurrentChange, DomainError, user_ref
from bot.kit import models
from bot.networks.base import Publisher, PublishError, Target

AmplifyAction = Literal["like", "repost"]
_NAMES = {"x": "X", "mastodon": "Mastodon", "bluesky": "Bluesky",
          "reddit": "Reddit",
          "youtube": "YouTube",
          "facebook": "Facebook",
          "instagram": "Instagram",
          "threads": "Threads",
          }


class AmplifyFailed(DomainError):
    """The network refused the like/repost or could not be reached; nothing was recorded.
    `kind` is the `PublishError` kind; the message (mrkdwn, escaped) is for the person."""

    def __init__(self, action: str, network: str, error: PublishError) -> None:
        self.kind = error.kind
        detail = error.detail.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        later = " Try again later." if error.kind == "unavailable" else ""
        super().__init__(f"Couldn't {action} it on {_NAMES.get(network, network)}: "
                         f"{detail}.{later}")


class AlreadyDone(ConcurrentChange):
    def __init__(self, event: models.AuditEvent) -> None:
        self.action: str = event.action
        self.actor: str = event.actor
        self.at: datetime = event.at
        super().__init__(f"Already {'liked' if event.action == 'like' else 'reposted'} "
                         f"by {user_ref(event.actor)}.")


def _previous(session: Session, mention_id: int, action: str) -> models.AuditEvent | None:
    return session.scalars(select(models.AuditEvent).where(
        models.AuditEvent.mention_id == mention_id, models.AuditEvent.action == action)
        .order_by(models.AuditEvent.id).limit(1)).first()


def amplify(factory: sessionmaker[Session], mention_id: int, publisher: Publisher,
            action: AmplifyAction, actor: str, now: datetime) -> models.AuditEvent:
    """Like or repost the mention on its network and audit it. Raises `AlreadyDone`, or
    `AmplifyFailed` (nothing recorded) when the network refuses or cannot be reached; both
    are domain errors, shown to the person who clicked."""
    if action not in ("like", "repost"):
        raise ValueError(f"unknown amplify action {action!r}")
    with factory() as session:
        mention = session.scalars(select(models.Mention).where(models.Mention.id == mention_id)
                                  .options(selectinload(models.Mention.author))).one()
        if mention.network != publisher.network:
            raise ValueError(f"a {mention.network} mention given to the "
                             f"{publisher.network} publisher")
        done = _previous(session, mention_id, action)
        if done is not None:
            raise AlreadyDone(done)
        target = Target.of(mention)
    try:
        getattr(publisher, action)(target)
    except PublishError as exc:
        raise AmplifyFailed(action, target.network, exc) from exc
    with factory() as session, session.begin():
        done = _previous(session, mention_id, action)
        if done is not None:  # a concurrent click got there first: one event is enough
            return done
        status = session.scalars(select(models.Mention.status)
                                 .where(models.Mention.id == mention_id)).one()
        event = models.AuditEvent(mention_id=mention_id, at=now, actor=actor, action=action,
                                  from_status=status, to_status=status,
                                  detail={"network": target.network, "url": target.url})
        session.add(event)
    return event
