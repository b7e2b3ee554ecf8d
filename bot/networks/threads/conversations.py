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
page by page until one holds a reply older than the floor, or than the conversation's mark
(`SourceState.marks`: the newest reply the last read of it found; kept by the source, never
taken from the stored posts, which a reply @-mentioning the brand reaches through the mentions
ahead of the replies below it), CONVERSATION_PAGES at most. A
busier conversation keeps the rest as a gap scoped `replies:<root>` (bot.networks.gaps: Graph's
`after` cursor, the floor its lower bound), as YouTube's busy threads do: the next polls read
the gap first, from where the cap stopped and instead of the conversation's newest pages (whose
new replies wait for the gap to close: read from the top again, it would be capped again),
CONVERSATION_PAGES a poll until it is closed (a cursor Threads no longer takes: the gap is read
again from the newest page, bot.networks.graph.failures.check_cursor). A conversation Threads
will not give (deleted, or a post the token may not read) is skipped with a note (its gap
closed); throttling, an expired token and server errors fail the poll, as they do for the
mentions (nothing stored, the cursor and the gaps kept).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.networks.base import Watched
from bot.networks.gaps import Backfill, Gap, Page
from bot.networks.graph.client import GraphError, graph_time
from bot.networks.graph.failures import check_cursor
from bot.networks.threads.client import POST_FIELDS, ThreadsApi

OWN_DAYS = timedelta(days=3)  # a brand post older than this is read only when a card watches it
OWN_POSTS = 10
WATCH_PER_POLL = 25  # one request each a poll: Threads has no batch read of conversations
CONVERSATION_PAGES = 4
PAGE = 25
REPLIES = "replies:"  # a gap's scope: a busy conversation whose older replies the next polls read


@dataclass
class Conversations:
    """What the conversations gave: (reply, its conversation's floor, whether it may start a
    card: the brand's post's) newest first per conversation, the requests made, and notes."""

    posts: list[tuple[dict[str, Any], datetime, bool]] = field(default_factory=list)
    requests: int = 0
    notes: list[str] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # busy conversations' replies left unread
    backfill_reads: int = 0  # of `posts`, read closing gaps
    marks: dict[str, str] = field(default_factory=dict)  # root → newest reply read (epoch s)


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


def load_marks(text: str | None) -> dict[str, str]:
    """`SourceState.marks` (a state we did not write, or none: no marks)."""
    try:
        items = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): v for k, v in items.items() if isinstance(v, str) and v.isdigit()} \
        if isinstance(items, dict) else {}


def dump_marks(marks: dict[str, str]) -> str | None:
    return json.dumps(marks, sort_keys=True) if marks else None


def read(api: ThreadsApi, floors: dict[str, datetime], own: set[str], waiting: list[Gap], *,
         marks: dict[str, str] | None = None, page_limit: int = PAGE,
         max_pages: int = CONVERSATION_PAGES) -> Conversations:
    """The replies of each conversation of `floors` since its floor, the gaps `waiting` (of
    earlier polls) first; `own`: the roots that are the brand's posts (their replies may start
    cards). `marks`: root → the newest reply an earlier poll read of it: a top-down read stops
    at the page holding it, and the first page's newest reply is the conversation's new mark
    (`out.marks`: the marks given, moved). While a conversation's gap is open its mark stays
    where the read that opened the gap put it: the replies newer than it wait for the gap."""
    out = Conversations(marks=dict(marks or {}))
    refused: list[str] = []
    pending = {(g.scope or "")[len(REPLIES):]: g for g in waiting}
    for root in [*pending, *(r for r in floors if r not in pending)]:
        run: Backfill[dict[str, Any]] = Backfill(partial(_page, api, out, refused, page_limit),
                                                 [pending[root]] if root in pending else [])
        if run.gaps:
            run.read_gaps(max_pages)
            out.backfill_reads += run.backfill_items
        else:
            mark = out.marks.get(root)
            # a reply listed in the mark's own second is read again, not skipped (ingest
            # stores it once)
            run.read_new(str(int(floors[root].timestamp())), max_pages, scope=REPLIES + root,
                         cursor=str(int(mark) - 1) if mark is not None else None)
            newest = max((t.timestamp() for t in (graph_time(i.get("timestamp"))
                                                  for i, _ in run.items) if t is not None),
                         default=None)
            if newest is not None and (mark is None or newest > int(mark)):
                out.marks[root] = str(int(newest))
        out.gaps.extend(run.gaps)
        out.notes.extend(run.refusal_notes("Threads"))
        out.posts.extend((item, datetime.fromtimestamp(int(low or 0), UTC), root in own)
                         for item, low in run.items)
    if refused:
        out.notes.append(f"{len(refused)} conversation(s) Threads would not give (deleted, or "
                         f"not ours to read) skipped: {', '.join(refused[:3])}")
    if out.gaps:
        out.notes.append(f"{len(out.gaps)} busy conversation(s): their older replies are read "
                         "by the next polls")
    return out


def _page(api: ThreadsApi, out: Conversations, refused: list[str], page_limit: int,
          after: str | None, floor: str | None, scope: str | None) -> Page[dict[str, Any]]:
    """One page of a conversation's replies from Graph's `after` cursor, newest first; one
    Threads will not give is an empty last page (a note)."""
    root = (scope or "")[len(REPLIES):]
    try:
        items, nxt = api.graph.page(f"{root}/conversation", after, fields=POST_FIELDS,
                                    reverse="true", limit=page_limit)
    except GraphError as exc:
        check_cursor(exc, after, "threads")
        if not (exc.gone or (exc.denied and not exc.token_expired)):
            raise
        refused.append(f"{root} ({exc.detail[:80]})")
        return Page([], next=None)
    finally:
        out.requests += 1
    low = int(floor) if floor is not None else None
    times = [t.timestamp() for t in (graph_time(i.get("timestamp")) for i in items)
             if t is not None]
    return Page(items, next=nxt, reached=low is not None and any(t < low for t in times),
                oldest=str(int(min(times))) if times else None)
