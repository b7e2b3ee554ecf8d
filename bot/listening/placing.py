"""Which conversation each post of a fetch joins: the lookups `bot.domain.conversation.classify`
needs, batched per fetch (three indexed IN queries, whatever the fetch's size).

A post points at its parent (and, where the network names one, its thread's root). What it
points at may be a card's mention, a post already in a card's thread, one of socialbot's
replies, or an earlier post of the same fetch; anything else is unknown to the desk.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from bot.domain.conversation import Link, Placed, Role, classify, is_by_brand, links_of
from bot.domain.mention import Mention
from bot.kit import models
from bot.listening.keys import normalise_handle, per_network

_EPOCH = datetime.min.replace(tzinfo=UTC)  # a post without a time sorts first


@dataclass(frozen=True, slots=True)
class BatchCard:
    """A card created by this same fetch: `index` into the fetch's fresh mentions."""

    index: int


def place(session: Session, fresh: list[Mention]) -> list[Placed]:
    """One `Placed` per post of `fresh`, in the same order. A post's `card` is a mention id
    or a `BatchCard` (a card this fetch creates)."""
    wanted = {(m.network, key) for m in fresh for key in links_of(m) if key}
    known = _links(session, wanted)
    # Our own replies come back only as the brand's posts (a source flags them): no lookup
    # for the customers' posts that make up nearly every fetch.
    ours = _our_replies(session, ((m.network, m.external_id) for m in fresh if is_by_brand(m)))
    placed: list[Placed | None] = [None] * len(fresh)
    # Oldest first: a parent fetched with its reply is placed before the reply asks for it.
    for i in sorted(range(len(fresh)), key=lambda i: (fresh[i].created_at or _EPOCH, i)):
        m = fresh[i]
        parent_id, root_id = links_of(m)
        parent = known.get((m.network, parent_id)) if parent_id else None
        root = known.get((m.network, root_id)) if root_id else None
        author = normalise_handle(m.author.handle)
        p = classify(m, author, parent=parent, root=root,
                     ours=(m.network, m.external_id) in ours)
        placed[i] = p
        link = parent or root
        if p.role is Role.CARD:
            known[(m.network, m.external_id)] = Link(BatchCard(i), author, card_author=author)
        elif p.role is not Role.OURS and link is not None:
            known[(m.network, m.external_id)] = Link(link.card, author, is_by_brand(m),
                                                     link.card_author)
    return [p for p in placed if p is not None]


def _links(session: Session, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], Link]:
    """What each (network, post id) of `wanted` is to the desk, when it is anything."""
    out: dict[tuple[str, str], Link] = {}
    if not wanted:
        return out
    M, A, P, R = models.Mention, models.Author, models.ThreadPost, models.Reply
    card_author = aliased(models.Author)
    for network, chunk in per_network(sorted(wanted)):
        for ext, mention_id, handle in session.execute(
                select(M.external_id, M.id, A.handle).join(A, A.id == M.author_id)
                .where(M.network == network, M.external_id.in_(chunk))):
            out[(network, ext)] = Link(mention_id, handle, card_author=handle)
        for ext, mention_id, handle, role, owner in session.execute(
                select(P.external_id, P.mention_id, P.author_handle, P.role,
                       card_author.handle)
                .join(M, M.id == P.mention_id).join(card_author, card_author.id == M.author_id)
                .where(P.network == network, P.external_id.in_(chunk))):
            out[(network, ext)] = Link(mention_id, handle, role == Role.OUTSIDE, owner)
        for reply_id, mention_id, owner in session.execute(
                select(R.network_id, R.mention_id, card_author.handle)
                .join(M, M.id == R.mention_id).join(card_author, card_author.id == M.author_id)
                .where(R.network == network, R.network_id.in_(chunk))):
            out[(network, str(reply_id))] = Link(mention_id, "", True, owner)
    return out


def _our_replies(session: Session, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """The posts among `keys` that are socialbot's own sent replies, read back by a source."""
    R = models.Reply
    found: set[tuple[str, str]] = set()
    for network, chunk in per_network(keys):
        found.update((network, str(ext)) for (ext,) in session.execute(
            select(R.network_id).where(R.network == network, R.network_id.in_(chunk))))
    return found


def card_of(p: Placed, ids: Mapping[int, int]) -> int:
    """The mention id of the card `p` joins; `ids`: index in the fetch → id of the cards this
    fetch created."""
    card: Hashable | None = p.card
    if isinstance(card, BatchCard):
        return ids[card.index]
    if not isinstance(card, int):
        raise ValueError(f"{p.role} post placed on no card")
    return card
