"""Threads conversations read beside the mentions: a reply that answers the brand, or a
customer's card, without @-mentioning the brand never reaches `/me/mentions`.

Two kinds of conversation are read, each by its root (the thread's first post):
- the brand's own recent posts (`GET /me/threads?since=…`, the newest OWN_POSTS within
  OWN_DAYS), from the poll's floor: a customer answering the brand's post is news;
- the conversations the desk has cards in (`SourceState.watch`, bot.listening.watching; a
  card's `conversation_id` is its thread's root), the WATCH_PER_POLL most recently active,
  each from the oldest post the desk has of it (their floor does not move with the cursor,
  so one skipped is read whole by the next poll). Such a thread may be anyone's: a reply in
  it is kept only for the card it joins (`THREAD_ONLY`), never carded on its own (the
  strangers answering a post the customer replied under are none of the desk's business).

Each is `GET /{root}/conversation?reverse=true`: every reply at any depth, newest first, read
page by page until one holds a reply older than the floor, CONVERSATION_PAGES at most (a
busier conversation is said in a note). A conversation Threads will not give (deleted, or a
post the token may not read) is skipped with a note; throttling, an expired token and server
errors fail the poll, as they do for the mentions (nothing stored, the cursor kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.networks.base import Watched
from bot.networks.graph.client import GraphError, graph_time
from bot.networks.threads.client import POST_FIELDS, ThreadsApi

OWN_DAYS = timedelta(days=3)  # a brand post older than this is read only when a card watches it
OWN_POSTS = 10
WATCH_PER_POLL = 25  # one request each a poll: Threads has no batch read of conversations
CONVERSATION_PAGES = 4
PAGE = 25


@dataclass
class Conversations:
    """What the conversations gave: (reply, its conversation's floor, whether it may start a
    card: the brand's post's) newest first per conversation, the requests made, and notes."""

    posts: list[tuple[dict[str, Any], datetime, bool]] = field(default_factory=list)
    requests: int = 0
    notes: list[str] = field(default_factory=list)


def roots(watch: tuple[Watched, ...], own: list[dict[str, Any]], since: datetime
          ) -> dict[str, datetime]:
    """Conversation root → the time its replies must be at or after: the watched ones (the
    most recently active WATCH_PER_POLL) from the oldest post the desk has, the brand's posts
    from `since`; a root that is both keeps the earlier."""
    out = {w.conversation_id: w.since for w in watch[:WATCH_PER_POLL]}
    for post in own:
        root = str(post.get("id") or "")
        if root:
            out[root] = min(out.get(root, since), since)
    return out


def own_posts(api: ThreadsApi, now: datetime) -> list[dict[str, Any]]:
    """The brand's newest top-level posts within OWN_DAYS (one request)."""
    posts, _ = api.graph.page("me/threads", None, fields="id,timestamp",
                              since=int((now - OWN_DAYS).timestamp()), limit=OWN_POSTS)
    return posts


def read(api: ThreadsApi, floors: dict[str, datetime], own: set[str], *,
         page_limit: int = PAGE, max_pages: int = CONVERSATION_PAGES) -> Conversations:
    """The replies of each conversation of `floors` since its floor; `own`: the roots that
    are the brand's posts (their replies may start cards)."""
    out = Conversations()
    refused: list[str] = []
    capped = 0
    for root, floor in floors.items():
        after: str | None = None
        for _ in range(max_pages):
            try:
                items, after = api.graph.page(f"{root}/conversation", after, fields=POST_FIELDS,
                                              reverse="true", limit=page_limit)
            except GraphError as exc:
                if not (exc.gone or (exc.denied and not exc.token_expired)):
                    raise
                refused.append(f"{root} ({exc.detail[:80]})")
                break
            finally:
                out.requests += 1
            out.posts.extend((item, floor, root in own) for item in items)
            times = [graph_time(i.get("timestamp")) for i in items]
            if after is None or any(t is not None and t < floor for t in times):
                break
        else:
            capped += 1
    if refused:
        out.notes.append(f"{len(refused)} conversation(s) Threads would not give (deleted, or "
                         f"not ours to read) skipped: {', '.join(refused[:3])}")
    if capped:
        out.notes.append(f"{capped} busy conversation(s): only their newest {max_pages} pages "
                         f"of {page_limit} replies were read")
    return out
