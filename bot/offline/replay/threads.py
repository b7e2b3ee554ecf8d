"""`socialbot replay --json`'s conversation fields: each post placed as ingest would place it
(bot.domain.conversation), knowing only the file's earlier posts (a replay has no desk: no
sent replies, no cards in a database), so a policy change can be dry-run on threads."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.conversation import Link, Role, classify, handle_key, is_by_brand, links_of
from bot.domain.mention import Mention


@dataclass(frozen=True, slots=True)
class Threaded:
    conversation_id: str  # the id of the post whose card the conversation is
    follow_up: bool  # the customer again: the live bot would thread it, not card it


class Threads:
    def __init__(self) -> None:
        self._known: dict[tuple[str, str], Link] = {}

    def place(self, m: Mention) -> Threaded:
        parent_id, root_id = links_of(m)
        parent = self._known.get((m.network, parent_id)) if parent_id else None
        root = self._known.get((m.network, root_id)) if root_id else None
        author = handle_key(m.author.handle)
        p = classify(m, author, parent=parent, root=root)
        link = parent or root
        if p.role is Role.CARD or link is None:
            self._known[(m.network, m.external_id)] = Link(m.external_id, author,
                                                           card_author=author)
            return Threaded(m.external_id, False)
        self._known[(m.network, m.external_id)] = Link(link.card, author, is_by_brand(m),
                                                       link.card_author)
        return Threaded(str(link.card), p.role is Role.FOLLOW_UP)
