"""`threads_mentions` and `threads_search`: Threads posts that mention the account, and recent
posts matching a keyword (`query:` in the rules; the app needs `threads_keyword_search`).

- mentions: `GET /me/mentions`, newest first, up to MAX_PAGES pages until one is older than
  the cursor;
- search: `GET /keyword_search?q=…&search_type=RECENT&since=<cursor>` (unix seconds), up to
  MAX_PAGES pages.

One mention per post, `external_id` the Threads media id. The account's own posts are skipped.
A post Threads returns without text or link — a mention from a profile it won't show us (a
private one) — can't be read: it is skipped with a note, never carded as an empty post. The
cursor is the newest `timestamp` seen (epoch seconds), read with OVERLAP; the first poll reads
back FIRST_LOOKBACK. A burst larger than the cap leaves a gap (bot.networks.gaps: Graph's
`after` cursor to resume from, the cursor less OVERLAP its floor) that the next polls read with
the pages the new posts leave over, until it is closed. Errors: `bot.networks.graph.failures` (190: parked with the fix).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import Fetch, RateLimited, Rejected, SourceState
from bot.networks.gaps import Backfill, Page
from bot.networks.graph.client import GraphError, graph_time
from bot.networks.graph.failures import source_error
from bot.networks.rejects import parse_into
from bot.networks.threads.client import POST_FIELDS, TOKEN, WWW, ThreadsApi

PAGE = 25
MAX_PAGES = 3
OVERLAP = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(hours=24)


class ThreadsSource:
    """`type: threads_mentions` or `threads_search`."""

    def __init__(self, spec: SourceSpec, brand: Brand, api: ThreadsApi, *,
                 page_limit: int = PAGE, max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.api = api
        self.page_limit = page_limit
        self.max_pages = max_pages

    @property
    def where(self) -> str:
        return f"threads {'search' if self.spec.type == 'threads_search' else 'mentions'}"

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        usage = self.api.graph.usage
        until = usage.wait_until(now)
        if until is not None and until > now:
            raise RateLimited(until, f"{self.where}: Meta reports {usage.percent}% used")
        cursor = int(state.cursor) if state.cursor and state.cursor.isdigit() else None
        since = (datetime.fromtimestamp(cursor, UTC) - OVERLAP if cursor is not None
                 else now - FIRST_LOOKBACK)
        found: list[Mention] = []
        rejected: list[Rejected] = []
        notes: list[str] = []
        unreadable = 0
        run: Backfill[dict[str, Any]] = Backfill.of(self._page, state.backfill)
        try:
            me, username = self.api.me()
            if run.read_new(str(int(since.timestamp())), self.max_pages,
                            cursor=str(cursor) if cursor is not None else None):
                notes.append(f"page cap reached ({self.max_pages} pages of {self.page_limit}): older "
                             "posts are read by the next polls")
            run.read_gaps(self.max_pages - run.pages)
        except GraphError as exc:
            raise source_error(exc, where=self.where, token=TOKEN, now=now,
                               usage=usage) from exc
        seen: set[str] = set()
        for post, floor in run.items:
            at = graph_time(post.get("timestamp"))
            if floor is not None and at is not None and at.timestamp() < int(floor):
                continue
            if str(post.get("id") or "") in seen:
                continue  # read twice: in the overlap, or new posts moved the pages down
            seen.add(str(post.get("id") or ""))
            if post.get("username") == username and username:
                continue
            if post.get("id") and not post.get("text") and not post.get("permalink"):
                unreadable += 1
                continue
            parse_into("threads", found, rejected, post, self.normalise, post, me)
        if unreadable:
            notes.append(f"{unreadable} post(s) Threads would not show us (a private "
                         "profile?) skipped")
        found.sort(key=lambda m: m.created_at or now)
        newest = max((m.created_at.timestamp() for m in found if m.created_at), default=None)
        keep = max(filter(None, [newest, cursor]), default=None)
        return Fetch(mentions=found,
                     state=SourceState(cursor=str(int(keep)) if keep is not None else None,
                                       backfill=run.state()),
                     reads=len(run.items), notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items)

    def _page(self, after: str | None, floor: str | None, scope: str | None
              ) -> Page[dict[str, Any]]:
        """One page of posts from Graph's `after` cursor, newest first."""
        low = int(floor) if floor is not None else None
        if self.spec.type == "threads_search":
            posts, nxt = self.api.graph.page("keyword_search", after, q=self.spec.query or "",
                                             search_type="RECENT",
                                             **({"since": low} if low is not None else {}),
                                             fields=POST_FIELDS, limit=self.page_limit)
        else:
            posts, nxt = self.api.graph.page("me/mentions", after, fields=POST_FIELDS,
                                             limit=self.page_limit)
        times = [t.timestamp() for t in (graph_time(p.get("timestamp")) for p in posts)
                 if t is not None]
        return Page(posts, next=nxt, reached=low is not None and any(t < low for t in times),
                    oldest=str(int(min(times))) if times else None)

    def normalise(self, post: dict[str, Any], me: str) -> Mention:
        if not post.get("id"):
            raise ValueError("no id")
        created = graph_time(post.get("timestamp"))
        if created is None:  # a post without a time would never leave the cursor's order
            raise ValueError(f"timestamp is not a time: {post.get('timestamp')!r:.60}")
        username = str(post.get("username") or "")
        text = str(post.get("text") or "")
        extra = {"kind": "search" if self.spec.type == "threads_search" else "mention",
                 "threads_user_id": me}
        parent = post.get("replied_to")
        if isinstance(parent, dict) and parent.get("id"):
            extra["replied_to"] = str(parent["id"])
        if not text:
            text = f"[{str(post.get('media_type') or 'media').lower()} without text]"
        return Mention(
            network="threads",
            external_id=str(post["id"]),
            text=text,
            author=Author(handle=username or "A Threads user", name=username),
            url=str(post.get("permalink") or f"{WWW}/@{username}"),
            created_at=created,
            source_id=self.spec.id,
            mentions_brand=self.spec.type == "threads_mentions",
            extra=extra,
        )
