"""Conversations: which card a newly fetched post belongs to, and what it is there. PURE.

A card is a conversation's card. A post joins a conversation through what its network says it
answers: X's `referenced_tweets` (replied_to) and `conversation_id`, Mastodon's
`in_reply_to_id` chain, Bluesky's reply `parent` and `root`, Reddit's `parent_id`/`link_id`,
YouTube's thread, Threads' `replied_to` and `root_post`; an RSS item is always a conversation
of its own. Ingest looks up what a post points at (`links_of`) and hands what it found to
`classify`; nothing here reads a database.

The parent is asked first. The network's root is the fallback (a follow-up fetched before its
parent, or one whose parent was deleted): X and Bluesky still name the root the card is about.
A root that is nobody's card (the brand's own announcement many customers answer) joins
nothing, so two customers answering one brand post get two cards.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, replace
from enum import StrEnum

from bot.domain.mention import Mention
from bot.domain.workflow import MentionStatus

# Networks whose `conversation_id` names a thread's root post (Mastodon gives none; RSS has
# no threads; app stores' reviews are each their own). Facebook and Instagram: the post or
# media comments are under; Threads: a reply's `root_post`.
ROOTED = ("x", "bluesky", "reddit", "youtube", "facebook", "instagram", "threads")
# Networks where a post is always a conversation of its own (an app store review has one
# answer, which replaces the last).
STANDALONE = ("rss", "google_play", "app_store")
# `Mention.extra` flag a source sets on a post the brand account itself wrote (a colleague
# answering in the network's own app): it never becomes a card.
BY_BRAND = "by_brand"
# `Mention.extra` flag on a post read only for the conversation it may belong to (a reply in a
# watched thread that is not the brand's): it joins a card's thread or is dropped, never a card.
THREAD_ONLY = "thread_only"
POST_KIND = "thread_post"  # the payload `type` of the outbox row showing one thread post
FOLDED_KIND = "thread_folded"  # … and of the one summing up posts too many to post one by one


class Role(StrEnum):
    """What a fetched post is on the desk. Stored as its value (`thread_post.role`)."""

    CARD = "card"  # starts a conversation: a card of its own
    FOLLOW_UP = "follow_up"  # the customer again (or an answer to our reply): reopens the card
    CONTEXT = "context"  # someone else in the conversation: shown in the thread, nothing more
    OUTSIDE = "outside"  # the brand answered outside socialbot: shown, stops the clock
    # Dropped: a reply socialbot itself sent, read back (never a loop), or a post of the
    # brand or a THREAD_ONLY one that answers nothing the desk holds.
    OURS = "ours"


THREAD_ROLES: tuple[str, ...] = (Role.FOLLOW_UP.value, Role.CONTEXT.value, Role.OUTSIDE.value)


@dataclass(frozen=True, slots=True)
class Link:
    """A stored post a new one points at: the card of its conversation (a mention id, or the
    key of a card in the same fetch), who wrote the post, and whether the brand did."""

    card: Hashable
    author: str  # normalised handle
    by_brand: bool = False
    card_author: str = ""  # normalised handle of the card's own author


@dataclass(frozen=True, slots=True)
class Placed:
    role: Role
    card: Hashable | None = None  # None for CARD and OURS


def handle_key(handle: str) -> str:
    """Handles are case-insensitive on every network we poll; `@` is decoration."""
    return handle.strip().lstrip("@").lower()


def links_of(m: Mention) -> tuple[str | None, str | None]:
    """(parent id, root id) to look up for `m` on its network; None where there is none."""
    if m.network in STANDALONE:
        return None, None
    parent = m.in_reply_to_id if m.in_reply_to_id != m.external_id else None
    root = (m.conversation_id if m.network in ROOTED and m.conversation_id
            not in (None, m.external_id, parent) else None)
    return parent, root


def flag_by_brand(m: Mention) -> Mention:
    """`m`, marked as the brand's own post (sources keep the brand's replies this way: ingest
    shows them as answered outside socialbot, or drops them)."""
    return replace(m, extra={**m.extra, BY_BRAND: "1"})


def is_by_brand(m: Mention) -> bool:
    return m.extra.get(BY_BRAND) == "1"


def classify(m: Mention, author: str, *, parent: Link | None, root: Link | None,
             ours: bool = False) -> Placed:
    """Where `m` (written by the normalised handle `author`) goes.

    `ours`: its id is one of socialbot's sent replies. A post answering the brand's reply, or
    written by the card's author, is a follow-up; anyone else's is context; the brand's own
    post answers the conversation outside socialbot and never starts one."""
    if ours:
        return Placed(Role.OURS)
    link = parent or root
    if link is None:
        # The brand's post that answers nothing we hold is none of the desk's business, nor
        # is a stranger's post read only for a thread the desk watches.
        return Placed(Role.OURS) if is_by_brand(m) or m.extra.get(THREAD_ONLY) == "1" \
            else Placed(Role.CARD)
    if is_by_brand(m):
        return Placed(Role.OUTSIDE, link.card)
    if (parent is not None and parent.by_brand) or author == link.card_author:
        return Placed(Role.FOLLOW_UP, link.card)
    return Placed(Role.CONTEXT, link.card)


def reopened(status: str) -> bool:
    """A follow-up to a card that was answered or closed opens the case again."""
    return status in (MentionStatus.SENT, MentionStatus.CLOSED)


def reopen_status(claimed_by: str | None) -> MentionStatus:
    """A reopened card keeps its claimer; nobody holding it, the team sees it unclaimed."""
    return MentionStatus.CLAIMED if claimed_by else MentionStatus.NEW


def raises(current: str, candidate: str) -> bool:
    """Whether a follow-up's priority is more urgent than the card's (P1 < P2 as text):
    a conversation's priority only ever goes up."""
    return candidate < current
