"""`socialbot replay --json`'s conversation fields: each post placed as ingest would place it
(bot.domain.conversation), knowing the file's earlier posts (a replay has no desk: no sent
replies, no cards in a database), so a policy change can be dry-run on threads.

A follow-up may answer a post from anywhere earlier in the file (a customer writing again a
week later, a year of posts replayed), so every post stays findable; memory stays flat all the
same: the latest `RECENT` posts are in a dict, older ones are spilled to a temporary SQLite
file (deleted when the replay ends) and looked up there only for a post that names a parent
or root not in the dict. A post's entry is what placing a reply to it needs (the card of its
conversation, its author, whether the brand wrote it, the card's author), never the post.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.domain.conversation import Link, Role, classify, handle_key, is_by_brand, links_of
from bot.domain.mention import Mention


@dataclass(frozen=True, slots=True)
class Threaded:
    conversation_id: str  # the id of the post whose card the conversation is
    follow_up: bool  # the customer again: the live bot would thread it, not card it


# Posts kept in memory before they are spilled to the temporary file (~100 KB): a customer's
# follow-up mostly comes within the few hundred posts after the thread it answers, which then
# costs no lookup at all; an older parent costs one indexed SELECT.
RECENT = 500
_CACHE_KIB = 2048  # SQLite's page cache for the spilled posts (bounded, whatever the file)


class Threads:
    def __init__(self, recent: int = RECENT) -> None:
        self._recent: dict[tuple[str, str], Link] = {}
        self._most = max(1, recent)
        self._disk: sqlite3.Connection | None = None  # opened at the first spill
        self.spilled = 0  # posts written to the temporary file (for tests and curiosity)

    @property
    def held(self) -> int:
        """Posts held in memory now (at most `recent` - 1)."""
        return len(self._recent)

    def _spill(self) -> None:
        if self._disk is None:
            # "": a private temporary database on disk, deleted when closed.
            self._disk = sqlite3.connect("", isolation_level=None)
            self._disk.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
            self._disk.execute("CREATE TABLE post (network TEXT, id TEXT, card TEXT, "
                               "author TEXT, by_brand INTEGER, card_author TEXT, "
                               "PRIMARY KEY (network, id)) WITHOUT ROWID")
        with self._disk:  # one transaction per spill
            self._disk.executemany(
                "INSERT OR REPLACE INTO post VALUES (?, ?, ?, ?, ?, ?)",
                [(net, pid, str(link.card), link.author, int(link.by_brand), link.card_author)
                 for (net, pid), link in self._recent.items()])
        self.spilled += len(self._recent)
        self._recent.clear()

    def _remember(self, key: tuple[str, str], link: Link) -> None:
        self._recent[key] = link
        if len(self._recent) >= self._most:
            self._spill()

    def _find(self, network: str, post_id: str | None) -> Link | None:
        if post_id is None:
            return None
        link = self._recent.get((network, post_id))
        if link is not None or self._disk is None:
            return link
        row = self._disk.execute("SELECT card, author, by_brand, card_author FROM post "
                                 "WHERE network = ? AND id = ?", (network, post_id)).fetchone()
        return Link(row[0], row[1], bool(row[2]), row[3]) if row else None

    def place(self, m: Mention) -> Threaded:
        parent_id, root_id = links_of(m)
        parent = self._find(m.network, parent_id)
        root = self._find(m.network, root_id)
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

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
