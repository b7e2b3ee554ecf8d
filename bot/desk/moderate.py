"""Hide or show again a comment on the brand's own Facebook Page or Instagram media, from the
card's overflow menu, audited.

Hiding is the usual answer to spam and abuse under the brand's posts: the comment stays
visible to its author (and, on Facebook, their friends), so they are not provoked, and nobody
else sees it. Like `bot.desk.amplify`, the network call is made with no transaction open; the
`AuditEvent` (`hide` or `unhide`: who, when) is written after it succeeds, with the mention's
`extra["hidden"]` and a refresh of its card, so the card says "Hidden by the Page" at once.
Hiding twice is harmless (Meta answers success again), so no click is refused for being
second; each one that reached Meta is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.desk.commands import refresh_card
from bot.domain.errors import DomainError, NotAllowed
from bot.kit import models
from bot.networks.base import PublishError, Target

HIDEABLE_KINDS = ("comment", "reply")
NAMES = {"facebook": "Facebook", "instagram": "Instagram"}


@runtime_checkable
class Moderator(Protocol):
    """A publisher that can hide comments (Facebook, Instagram)."""

    network: str

    def hide(self, target: Target, hidden: bool) -> None: ...


class ModerationFailed(DomainError):
    """Meta refused or could not be reached; nothing was recorded."""

    def __init__(self, hidden: bool, network: str, error: PublishError) -> None:
        self.kind = error.kind
        detail = error.detail.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        later = " Try again later." if error.kind == "unavailable" else ""
        super().__init__(f"Couldn't {'hide' if hidden else 'show'} it on "
                         f"{NAMES.get(network, network)}: {detail}.{later}")


def can_hide(network: str, extra: dict[str, str] | None) -> bool:
    return network in NAMES and (extra or {}).get("kind") in HIDEABLE_KINDS


def set_hidden(factory: sessionmaker[Session], mention_id: int, publisher: object,
               hidden: bool, actor: str, now: datetime) -> models.AuditEvent:
    """Hide (or unhide) the comment on its network, then audit it and refresh its card."""
    with factory() as session:
        mention = session.scalars(select(models.Mention).where(
            models.Mention.id == mention_id)).one()
        if not can_hide(mention.network, mention.extra):
            raise NotAllowed("Only comments on the brand's own Facebook and Instagram posts "
                             "can be hidden.")
        if not isinstance(publisher, Moderator) or publisher.network != mention.network:
            raise NotAllowed(f"{NAMES[mention.network]} isn't connected for moderation "
                             "(see `socialbot check`).")
        target = Target.of(mention)
    try:
        publisher.hide(target, hidden)
    except PublishError as exc:
        raise ModerationFailed(hidden, target.network, exc) from exc
    with factory() as session, session.begin():
        m = session.get(models.Mention, mention_id)
        if m is None:  # housekeeping removed it meanwhile: the comment is hidden all the same
            raise NotAllowed("Done on the network, but the mention is gone from the desk.")
        extra = dict(m.extra or {})
        if hidden:
            extra["hidden"] = "1"
        else:
            extra.pop("hidden", None)
        m.extra = extra
        event = models.AuditEvent(mention_id=mention_id, at=now, actor=actor,
                                  action="hide" if hidden else "unhide",
                                  from_status=m.status, to_status=m.status,
                                  detail={"network": target.network, "url": target.url})
        session.add(event)
        refresh_card(session, m, now)
    return event
