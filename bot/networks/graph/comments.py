"""The comments a Facebook or Instagram poll reads: under the posts its listing held whose
comments may have changed, then under the older posts the desk has cards on
(`follows_conversations`: `SourceState.watch`, bot.listening.watching), so a customer
answering under an old post joins the card's thread without the webhook. Each post newest
first down to the poll's floor; a burst beyond the page cap is the post's gap
(bot.networks.gaps), read by the next polls."""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import Any

from bot.networks.base import Watched
from bot.networks.gaps import Backfill

WATCH_PER_POLL = 25  # older posts with the desk's cards whose comments a poll reads


def watched(watch: Sequence[Watched], listed: Container[str]) -> list[str]:
    """The posts with the desk's cards that the listing did not hold: the WATCH_PER_POLL most
    recently active (`watch` is newest activity first)."""
    return [w.conversation_id for w in watch if w.conversation_id not in listed][:WATCH_PER_POLL]


def read_comments(run: Backfill[Any], posts: Iterable[str], *, floor: str, cursor: int | None,
                  pages: int, noun: str, notes: list[str]) -> None:
    """Each post's comments newest first down to `floor` (the cursor less the overlap), at most
    `pages` pages; a post the cap stopped gets a note and a gap."""
    last = str(cursor) if cursor is not None else None
    for post_id in posts:
        if run.read_new(floor, pages, scope=post_id, cursor=last):
            notes.append(f"{noun} {post_id}: comment page cap reached ({pages} pages): older "
                         "comments are read by the next polls")
