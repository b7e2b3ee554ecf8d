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


# Posts remembered as possible parents: a replay streams files of any length in flat memory,
# and a customer's follow-up comes within the few hundred posts after the thread it answers.
REMEMBERED = 500


class Threads:
    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._known: dict[tuple[str, str], Link] = {}
        self._most = remembered

    def _remember(self, key: tuple[str, str], link: Link) -> None:
        if len(self._known) >= self._most:  # dicts keep insertion order: drop the oldest
            del self._known[next(iter(self._known))]
        self._known[key] = link

    def place(self, m: Mention) -> Threaded:
        parent_id, root_id = links_of(m)
        parent = self._known.get((m.network, parent_id)) if parent_id else None
        root = self._known.get((m.network, root_id)) if root_id else None
        author = handle_key(m.author.handle)
        p = classify(m, author, parent=parent, root=root)
        link = parent or root
        if p.role is Role.CARD or link is None:
            self._remember((m.network, m.external_id),
                           Link(m.external_id, author, card_author=author))
            return Threaded(m.external_id, False)
        self._remember((m.network, m.external_id),
                       Link(link.card, author, is_by_brand(m), link.card_author))
        return Threaded(str(link.card), p.role is Role.FOLLOW_UP)
