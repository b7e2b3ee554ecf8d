"""YouTube: new top-level comments and replies on the brand channel's videos.

`commentThreads.list(part=snippet,replies, allThreadsRelatedToChannelId=<channel_id>,
order=time, maxResults=100, textFormat=plainText)`, newest thread first, pages until a page
holds a thread begun before the cursor (at most MAX_PAGES a poll; the first poll reads one
page). A thread carries up to 5 replies inline; when it has more, `comments.list(parentId)`
reads them (MORE_REPLIES threads a poll, REPLY_PAGES pages each; busy threads beyond that are
kept in the source's gaps, scoped `replies:<thread>`, and read first by the next polls). The
cursor is the newest `publishedAt` seen, inclusive (the comment at the cursor comes again;
ingest's dedupe drops it). YouTube orders threads by their first comment, so a reply on a
thread older than the pages read is not in them: the conversations the desk has cards in
(`SourceState.watch`, bot.listening.watching) are read by id, `commentThreads.list(id=…)` 50
a call, their replies since the card kept (they never move the cursor: they are not the
listing's).
A burst larger than the cap leaves a gap (bot.networks.gaps: YouTube's `pageToken` to resume
from, the old cursor its floor) that the next polls read with the pages the new comments leave
over, until it is closed; the units it costs are the gap's cost (`Fetch.backfill_reads`).

Each call costs 1 quota unit; `Fetch.reads` is the units spent, counted per day like X's posts
read (`bot.listening.polling` slows at 80 % of `daily_quota` and pauses at 100 %).

Normalised: `external_id` is the comment id; `conversation_id` the thread (the top-level
comment's id); `in_reply_to_id` the `parentId` of a reply. The channel's own comments are
skipped; so are comments without text (removed while we read).

Errors: a 400 for a gap's page token (expired) → the gap is read again from the newest page
(bot.networks.gaps.TokenRefused); `quotaExceeded` (403) → `RateLimited` until midnight Pacific, with the units spent
before it (mid-poll: nothing is stored, the cursor stays, the next day reads it again);
`rateLimitExceeded`, 429 → `RateLimited` for a minute; an expired or revoked refresh token
(`invalid_grant`), 401 and other 403s → `SourceAuthError`; 5xx, timeouts → `SourceUnavailable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import (
    Fetch,
    RateLimited,
    Rejected,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.gaps import Backfill, Gap, Page, TokenRefused, dump, load
from bot.networks.rejects import rejected as reject
from bot.networks.youtube.client import (
    LIST_UNITS,
    QUOTA_REASONS,
    RATE_REASONS,
    error_reason,
    error_status,
    quota_reset,
    watch_url,
)

PAGE_LIMIT = 100  # the API's maximum
MAX_PAGES = 3
MORE_REPLIES = 5  # threads a poll whose replies beyond the inline 5 are read
REPLY_PAGES = 5  # pages of 100 replies a new or watched busy thread gets a poll (old: 1)
REPLIES = "replies:"  # a gap's scope: a busy thread whose replies the next polls read
WATCH_BATCH = 50  # thread ids a commentThreads.list(id=…) call takes
RATE_WAIT = timedelta(minutes=1)


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _top_time(thread: Any) -> datetime | None:
    try:
        return _time(thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
    except (KeyError, TypeError):
        return None


def _id_of(item: Any) -> object:
    return item.get("id") if isinstance(item, dict) else None


# Busy threads' order for comments.list: left by earlier polls, begun since the cursor (both
# kept until read), the desk's conversations (watched again at the next poll), then older
# threads that happen to share the page (read when there is room, as every poll offers them).
PENDING, NEW, WATCHED, OLD = range(4)


class Busy(NamedTuple):
    thread_id: str
    floor: datetime | None  # its replies must be newer than this
    rank: int


class QuotaSpent(RateLimited):
    """The daily quota is used up; `reads` is the units this poll spent before it."""

    reads = 0
    from_network = False  # the reset is midnight Pacific, by Google's rule, not a header


class YouTubeCommentsSource:
    """`type: youtube_comments` — comments on every video of `channel_id`."""

    follows_conversations = True  # bot.listening.watching: late replies in old threads

    def __init__(self, spec: SourceSpec, brand: Brand, youtube: Any, *,
                 page_limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.youtube = youtube
        self.page_limit = page_limit
        self.max_pages = max_pages
        self.units = 0

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        since = _time(state.cursor) if state.cursor else None
        self.units = 0
        notes: list[str] = []
        pages = 1 if since is None else self.max_pages
        gaps = load(state.backfill)
        waiting = [g for g in gaps if (g.scope or "").startswith(REPLIES)]
        run: Backfill[dict[str, Any]] = Backfill(partial(self._page, now),
                                                 [g for g in gaps if g not in waiting])
        if run.read_new(since.isoformat() if since is not None else None, pages) \
                and since is not None:
            notes.append(f"page cap reached ({self.max_pages} pages of {self.page_limit} threads): "
                         "older comments since the last poll are read by the next polls")
        spent = self.units
        run.read_gaps(self.max_pages - run.pages)
        backfill_units = self.units - spent
        notes.extend(run.refusal_notes("YouTube"))
        comments: list[tuple[dict[str, Any], str, datetime | None]] = []  # (comment, thread, floor)
        # busy threads whose replies are read by comments.list: those left by earlier polls first
        more = [Busy(g.scope[len(REPLIES):], _time(g.newer_than) if g.newer_than else None,
                     PENDING) for g in waiting if g.scope]
        tokens = {g.scope[len(REPLIES):]: g.token for g in waiting if g.scope and g.token}
        rejected: list[Rejected] = []
        for thread, floor in run.items:
            self._collect(thread, _time(floor) if floor else None, comments, more, rejected)
        listed = {thread_id for _, thread_id, _ in comments}
        watched: list[tuple[dict[str, Any], str, datetime | None]] = []
        for thread, replied_since in self._watched(now, state, listed):
            self._collect(thread, replied_since, watched, more, rejected, watched=True)
        left: list[Gap] = []
        for n, (thread_id, low, rank) in enumerate(sorted(more, key=lambda b: b.rank)):
            token = tokens.get(thread_id)
            if n < MORE_REPLIES:
                into = comments if thread_id in listed else watched  # only the listing's move
                pages = REPLY_PAGES if rank <= WATCHED else 1  # an old thread's: as before
                token = self._read_replies(now, thread_id, token, low, into, pages)
            if (n >= MORE_REPLIES or token) and rank <= NEW:  # news: kept until read
                left.append(Gap(older_than=now.isoformat(), token=token, scope=REPLIES + thread_id,
                                newer_than=low.isoformat() if low is not None else None))
        if left:
            notes.append(f"{len(left)} busy thread(s): their other replies are read by the "
                         "next polls")
        fetch = self._result(comments, since, state, notes, rejected, watched)
        return dataclasses.replace(fetch, state=dataclasses.replace(
            fetch.state, backfill=dump(run.gaps + left)), backfill_reads=backfill_units)

    def _read_replies(self, now: datetime, thread_id: str, token: str | None,
                      low: datetime | None,
                      into: list[tuple[dict[str, Any], str, datetime | None]], pages: int
                      ) -> str | None:
        """A busy thread's replies by `comments.list(parentId)`, `pages` at most from `token`:
        the token to go on from, None when all are read. YouTube does not say in which order
        it lists replies, so every page is read, the floor applied to each."""
        for _ in range(pages):
            try:
                page = self._call(now, self._replies(thread_id, token), paged=token is not None)
            except TokenRefused:
                token = None  # expired: the thread's replies again from the first page
                continue
            into.extend((c, thread_id, low) for c in page.get("items") or [])
            token = page.get("nextPageToken") or None
            if token is None:
                return None
        return token

    def _page(self, now: datetime, token: str | None, floor: str | None, scope: str | None
              ) -> Page[dict[str, Any]]:
        """One page of threads from YouTube's `pageToken`, newest first (by their first
        comment); it reaches the floor at a thread begun before it."""
        page = self._call(now, self._threads(token), paged=token is not None)
        threads = [t for t in page.get("items") or () if isinstance(t, dict)]
        low = _time(floor) if floor else None
        tops = [t for t in (_top_time(thread) for thread in threads) if t is not None]
        return Page(threads, next=page.get("nextPageToken"),
                    reached=low is not None and any(t < low for t in tops),
                    oldest=min(tops).isoformat() if tops else None)

    def _watched(self, now: datetime, state: SourceState, listed: set[str]
                 ) -> list[tuple[dict[str, Any], datetime]]:
        """The watched threads the pages did not hold, read by id, each with the time its
        replies must be newer than (a removed thread is simply not returned)."""
        since = {w.conversation_id: w.since for w in state.watch
                 if w.conversation_id not in listed}
        ids = list(since)
        threads: list[tuple[dict[str, Any], datetime]] = []
        for start in range(0, len(ids), WATCH_BATCH):
            page = self._call(now, self._by_id(ids[start:start + WATCH_BATCH]))
            threads.extend((t, since[str(t["id"])]) for t in page.get("items") or ()
                           if isinstance(t, dict) and str(t.get("id")) in since)
        return threads

    def _by_id(self, ids: list[str]) -> Callable[[], dict[str, Any]]:
        return lambda: self.youtube.commentThreads().list(
            part="snippet,replies", id=",".join(ids), textFormat="plainText").execute()

    def _threads(self, token: str | None) -> Callable[[], dict[str, Any]]:
        paging = {"pageToken": token} if token else {}
        return lambda: self.youtube.commentThreads().list(
            part="snippet,replies", allThreadsRelatedToChannelId=self.spec.channel_id,
            order="time", maxResults=self.page_limit, textFormat="plainText", **paging).execute()

    def _replies(self, thread_id: str, token: str | None) -> Callable[[], dict[str, Any]]:
        paging = {"pageToken": token} if token else {}
        return lambda: self.youtube.comments().list(
            part="snippet", parentId=thread_id, maxResults=PAGE_LIMIT,
            textFormat="plainText", **paging).execute()

    def _collect(self, thread: dict[str, Any], floor: datetime | None,
                 comments: list[tuple[dict[str, Any], str, datetime | None]],
                 more: list[Busy], rejected: list[Rejected], *, watched: bool = False) -> None:
        """Add the thread's comments (each with the floor it must be newer than), and to
        `more` a thread with replies beyond the inline ones; a thread that cannot be read
        goes to `rejected`, the rest of the page is read."""
        try:
            snippet = thread.get("snippet", {})
            top = snippet.get("topLevelComment") or {}
            inline = (thread.get("replies") or {}).get("comments") or []
            thread_id = str(thread["id"])
            wants_more = int(snippet.get("totalReplyCount") or 0) > len(inline)
        except Exception as exc:  # one unreadable thread must not fail the page
            rejected.append(reject("youtube", thread, exc, _id_of(thread)))
            return
        comments.append((top, thread_id, floor))
        comments.extend((c, thread_id, floor) for c in inline)
        if wants_more and all(b.thread_id != thread_id for b in more):
            begun = _top_time(thread)
            rank = WATCHED if watched else NEW if floor is None or (
                begun is not None and begun >= floor) else OLD
            more.append(Busy(thread_id, floor, rank))

    def _result(self, comments: list[tuple[dict[str, Any], str, datetime | None]],
                since: datetime | None, state: SourceState, notes: list[str],
                rejected: list[Rejected],
                watched: list[tuple[dict[str, Any], str, datetime | None]]) -> Fetch:
        mentions: dict[str, Mention] = {}
        newest = since
        own = empty = 0
        for n, (comment, thread_id, floor) in enumerate([*comments, *watched]):
            try:
                snippet = comment.get("snippet", {})
                at = _time(snippet.get("publishedAt"))
                if at is None:
                    raise ValueError(f"publishedAt is not a time: "
                                     f"{snippet.get('publishedAt')!r:.60}")
                if floor is not None and at < floor:
                    continue
                if n < len(comments):  # a watched thread's reply is not the listing's
                    newest = at if newest is None or at > newest else newest
                author = (snippet.get("authorChannelId") or {}).get("value")
                if author and author == self.spec.channel_id:
                    own += 1
                    continue
                if not str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""
                           ).strip():
                    empty += 1
                    continue
                mentions[str(comment["id"])] = self._normalise(comment, thread_id, at)
            except Exception as exc:  # one unreadable comment must not fail the page
                rejected.append(reject("youtube", comment, exc, _id_of(comment)))
        if own:
            notes.append(f"{own} of the channel's own comment(s) skipped")
        if empty:
            notes.append(f"{empty} comment(s) without text (removed?) skipped")
        cursor = newest.isoformat() if newest is not None else state.cursor
        return Fetch(sorted(mentions.values(), key=lambda m: m.created_at or datetime.min),
                     SourceState(cursor=cursor), reads=self.units, notes=notes,
                     rejected=rejected)

    def _normalise(self, comment: dict[str, Any], thread_id: str, at: datetime) -> Mention:
        snippet = comment.get("snippet", {})
        video = str(snippet.get("videoId") or "")
        parent = snippet.get("parentId")
        handle = str(snippet.get("authorDisplayName") or "").lstrip("@")
        extra = {"thread_id": thread_id, "video_id": video}
        if snippet.get("likeCount") is not None:
            extra["likes"] = str(snippet["likeCount"])
        return Mention(
            network="youtube", external_id=str(comment["id"]),
            text=str(snippet.get("textOriginal") or snippet.get("textDisplay") or ""),
            author=Author(handle=handle, name=handle,
                          external_id=(snippet.get("authorChannelId") or {}).get("value")),
            url=watch_url(video, str(comment["id"])) if video else None, created_at=at,
            source_id=self.spec.id, mentions_brand=True,  # a comment on the brand's video
            in_reply_to_id=str(parent) if parent else None, conversation_id=thread_id,
            extra=extra)

    def _call(self, now: datetime, fn: Callable[[], dict[str, Any]], *, paged: bool = False
              ) -> dict[str, Any]:
        """`fn`'s answer, its failure read; `paged`: a page token was sent, so a 400 means
        YouTube no longer honours it ("The request specifies an invalid page token")."""
        spent = self.units
        self.units += LIST_UNITS
        try:
            return fn()
        except HttpError as exc:
            status, reason = error_status(exc), error_reason(exc)
            if reason in QUOTA_REASONS:
                spent_error = QuotaSpent(quota_reset(now), f"youtube: daily quota used up "
                                         f"({reason}) after {spent} unit(s) this poll")
                spent_error.reads = self.units
                raise spent_error from exc
            if paged and status == 400:
                raise TokenRefused(f"youtube: {reason or status}") from exc
            if status == 429 or reason in RATE_REASONS:
                raise RateLimited(now + RATE_WAIT, f"youtube: {reason or status}") from exc
            if status in (401, 403):
                raise SourceAuthError(f"youtube: access refused ({status} {reason}): check the "
                                      "channel_id and that the token's account owns it") from exc
            if status == 404:
                raise SourceAuthError(f"youtube: channel not found ({reason}): check "
                                      "channel_id") from exc
            raise SourceUnavailable(f"youtube: API error {status} {reason}") from exc
        except RefreshError as exc:
            raise SourceAuthError(
                "youtube: YOUTUBE_REFRESH_TOKEN was refused (expired or revoked; an OAuth app "
                f"in Testing mode gets 7-day tokens): {exc.args[0] if exc.args else exc}"
            ) from exc
        except (TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise SourceUnavailable(f"youtube: {type(exc).__name__}: {exc}") from exc
