"""`threads_mentions` and `threads_search`: Threads posts that mention the account, and recent
posts matching a keyword (`query:` in the rules; the app needs `threads_keyword_search`).

- mentions: `GET /me/mentions`, newest first, up to MAX_PAGES pages until one is older than
  the cursor;
- search: `GET /keyword_search?q=…&search_type=RECENT&since=<cursor>` (unix seconds), up to
  MAX_PAGES pages.

One mention per post, `external_id` the Threads media id, `in_reply_to_id` a reply's
`replied_to`, `conversation_id` its `root_post` (a post that answers nothing is its own root):
a customer's answer joins the card's Slack thread (bot.listening.follow_ups). The mentions
source also reads the conversations of the brand's recent posts and of the cards the desk
holds (`follows_conversations`, bot.networks.threads.conversations), where a customer may
answer without @-mentioning the brand. The account's own top-level posts are skipped; its
replies are kept, flagged `by_brand` (a colleague answering in the Threads app: ingest shows it
as answered outside socialbot; socialbot's own replies it recognises and drops).
A post Threads returns without text or link — a mention from a profile it won't show us (a
private one) — can't be read: it is skipped with a note, never carded as an empty post. The
cursor is the newest `timestamp` seen (epoch seconds), read with OVERLAP; the first poll reads
back FIRST_LOOKBACK. A burst larger than the cap leaves a gap (bot.networks.gaps: Graph's
`after` cursor to resume from, the cursor less OVERLAP its floor) that the next polls read with
the pages the new posts leave over, until it is closed (a cursor Threads no longer takes, a 400
with code 2642 or 100: read again from the newest page, bot.networks.graph.failures.check_cursor);
a busy conversation's replies past its page cap are a gap of their own
(bot.networks.threads.conversations). Errors: `bot.networks.graph.failures` (190: parked with
the fix).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.conversation import THREAD_ONLY, flag_by_brand
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import Fetch, RateLimited, Rejected, SourceState
from bot.networks.gaps import Backfill, Gap, Page, dump, load
from bot.networks.graph.client import GraphError, graph_time
from bot.networks.graph.failures import check_cursor, source_error
from bot.networks.rejects import parse_into
from bot.networks.threads import conversations
from bot.networks.threads.client import POST_FIELDS, TOKEN, WWW, ThreadsApi

PAGE = 25
MAX_PAGES = 3
OVERLAP = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(hours=24)


class ThreadsSource:
    """`type: threads_mentions` or `threads_search`."""

    follows_conversations = True  # bot.listening.watching: answers without an @-mention

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
        gaps = load(state.backfill)  # the listing's, and busy conversations' (scoped)
        waiting = [g for g in gaps if (g.scope or "").startswith(conversations.REPLIES)]
        run: Backfill[dict[str, Any]] = Backfill(self._page, [g for g in gaps if g not in waiting])
        try:
            me, username = self.api.me()
            if run.read_new(str(int(since.timestamp())), self.max_pages,
                            cursor=str(cursor) if cursor is not None else None):
                notes.append(f"page cap reached ({self.max_pages} pages of {self.page_limit}): older "
                             "posts are read by the next polls")
            run.read_gaps(self.max_pages - run.pages)
            notes.extend(run.refusal_notes("Threads"))
            talk = self._conversations(state, since, now, waiting)
        except GraphError as exc:
            raise source_error(exc, where=self.where, token=TOKEN, now=now,
                               usage=usage) from exc
        notes.extend(talk.notes)
        seen: set[str] = set()
        listed = [(post, int(floor) if floor is not None else None, "")
                  for post, floor in run.items]
        answers = [(post, int(floor.timestamp()), "reply" if opens else THREAD_ONLY)
                   for post, floor, opens in talk.posts]
        for post, low, kind in listed + answers:
            at = graph_time(post.get("timestamp"))
            if low is not None and at is not None and at.timestamp() < low:
                continue
            if str(post.get("id") or "") in seen:
                continue  # read twice: in the overlap, new posts moved the pages, or both ways
            seen.add(str(post.get("id") or ""))
            if post.get("id") and not post.get("text") and not post.get("permalink"):
                unreadable += 1
                continue
            if post.get("username") == username and username:
                if post.get("is_reply"):  # maybe a colleague answering outside socialbot
                    parse_into("threads", found, rejected, post, self._ours, post, me, kind)
                continue
            parse_into("threads", found, rejected, post, self.normalise, post, me, kind)
        if unreadable:
            notes.append(f"{unreadable} post(s) Threads would not show us (a private "
                         "profile?) skipped")
        found.sort(key=lambda m: m.created_at or now)
        # Only the listing moves the cursor: a conversation's replies have floors of their own.
        newest = max((m.created_at.timestamp() for m in found
                      if m.created_at and m.extra.get("kind") != "reply"), default=None)
        keep = max(filter(None, [newest, cursor]), default=None)
        return Fetch(mentions=found,
                     state=SourceState(cursor=str(int(keep)) if keep is not None else None,
                                       backfill=dump(run.gaps + talk.gaps),
                                       marks=conversations.dump_marks(talk.marks)),
                     reads=len(run.items) + len(talk.posts), notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items + talk.backfill_reads)

    def _page(self, after: str | None, floor: str | None, scope: str | None
              ) -> Page[dict[str, Any]]:
        """One page of posts from Graph's `after` cursor, newest first."""
        low = int(floor) if floor is not None else None
        try:
            if self.spec.type == "threads_search":
                posts, nxt = self.api.graph.page(
                    "keyword_search", after, q=self.spec.query or "", search_type="RECENT",
                    **({"since": low} if low is not None else {}), fields=POST_FIELDS,
                    limit=self.page_limit)
            else:
                posts, nxt = self.api.graph.page("me/mentions", after, fields=POST_FIELDS,
                                                 limit=self.page_limit)
        except GraphError as exc:
            check_cursor(exc, after, "threads")
            raise
        times = [t.timestamp() for t in (graph_time(p.get("timestamp")) for p in posts)
                 if t is not None]
        return Page(posts, next=nxt, reached=low is not None and any(t < low for t in times),
                    oldest=str(int(min(times))) if times else None)

    def _conversations(self, state: SourceState, since: datetime, now: datetime,
                       waiting: list[Gap]) -> conversations.Conversations:
        """The replies of the busy conversations' gaps, of the watched conversations and
        (mentions) of the brand's posts."""
        own = conversations.own_posts(self.api, now) if self.spec.type == "threads_mentions" \
            else []
        ours = {str(p.get("id")) for p in own}
        # a mark is kept while its conversation may be read again: watched, ours, or a gap's
        keep = {w.conversation_id for w in state.watch} | ours | {
            (g.scope or "")[len(conversations.REPLIES):] for g in waiting}
        marks = {r: m for r, m in conversations.load_marks(state.marks).items() if r in keep}
        return conversations.read(self.api, conversations.roots(state.watch, own, since),
                                  ours, waiting, marks=marks, page_limit=self.page_limit)

    def _ours(self, post: dict[str, Any], me: str, kind: str = "") -> Mention:
        return flag_by_brand(self.normalise(post, me, kind))

    def normalise(self, post: dict[str, Any], me: str, kind: str = "") -> Mention:
        if not post.get("id"):
            raise ValueError("no id")
        created = graph_time(post.get("timestamp"))
        if created is None:  # a post without a time would never leave the cursor's order
            raise ValueError(f"timestamp is not a time: {post.get('timestamp')!r:.60}")
        username = str(post.get("username") or "")
        text = str(post.get("text") or "")
        extra = {"kind": "reply" if kind else
                 "search" if self.spec.type == "threads_search" else "mention",
                 "threads_user_id": me}
        if kind == THREAD_ONLY:
            extra[THREAD_ONLY] = "1"
        parent = _id_of(post.get("replied_to"))
        if parent:
            extra["replied_to"] = parent
        # A reply names its thread's first post; a post answering nothing is that post.
        root = _id_of(post.get("root_post")) or (None if post.get("is_reply") else str(post["id"]))
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
            in_reply_to_id=parent,
            conversation_id=root,
            extra=extra,
        )


def _id_of(value: Any) -> str | None:
    """The id of an expanded edge such as `replied_to{id}`."""
    return str(value["id"]) if isinstance(value, dict) and value.get("id") else None
