"""YouTube: new top-level comments and replies on the brand channel's videos.

`commentThreads.list(part=snippet,replies, allThreadsRelatedToChannelId=<channel_id>,
order=time, maxResults=100, textFormat=plainText)`, newest thread first, pages until a page
holds a thread begun before the cursor (at most MAX_PAGES a poll; the first poll reads one
page). A thread carries up to 5 replies inline; when it has more, `comments.list(parentId)`
reads them (at most MORE_REPLIES threads a poll). The cursor is the newest `publishedAt`
seen, inclusive (the comment at the cursor comes again; ingest's dedupe drops it). YouTube orders
threads by their first comment, so a reply on a thread older than the pages read is not in
them: the conversations the desk has cards in (`SourceState.watch`, bot.listening.watching)
are read by id, `commentThreads.list(id=…)` 50 a call, their replies since the card kept
(they never move the cursor: they are not the listing's).
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
from typing import Any

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
from bot.networks.gaps import Backfill, Page, TokenRefused
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
        run: Backfill[dict[str, Any]] = Backfill.of(partial(self._page, now), state.backfill)
        if run.read_new(since.isoformat() if since is not None else None, pages) \
                and since is not None:
            notes.append(f"page cap reached ({self.max_pages} pages of {self.page_limit} threads): "
                         "older comments since the last poll are read by the next polls")
        spent = self.units
        run.read_gaps(self.max_pages - run.pages)
        backfill_units = self.units - spent
        notes.extend(run.refusal_notes("YouTube"))
        comments: list[tuple[dict[str, Any], str, datetime | None]] = []  # (comment, thread, floor)
        more: list[tuple[str, datetime | None]] = []
        rejected: list[Rejected] = []
        for thread, floor in run.items:
            self._collect(thread, _time(floor) if floor else None, comments, more, rejected)
        listed = {thread_id for _, thread_id, _ in comments}
        watched: list[tuple[dict[str, Any], str, datetime | None]] = []
        for thread, replied_since in self._watched(now, state, listed):
            self._collect(thread, replied_since, watched, more, rejected)
        for thread_id, low in more[:MORE_REPLIES]:
            replies = self._call(now, self._replies(thread_id))
            into = comments if thread_id in listed else watched
            into.extend((c, thread_id, low) for c in replies.get("items") or [])
        if len(more) > MORE_REPLIES:
            notes.append(f"{len(more) - MORE_REPLIES} busy thread(s): only their newest 5 "
                         "replies were read")
        fetch = self._result(comments, since, state, notes, rejected, watched)
        return dataclasses.replace(fetch, state=dataclasses.replace(fetch.state,
                                                                    backfill=run.state()),
                                   backfill_reads=backfill_units)

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

    def _replies(self, thread_id: str) -> Callable[[], dict[str, Any]]:
        return lambda: self.youtube.comments().list(
            part="snippet", parentId=thread_id, maxResults=PAGE_LIMIT,
            textFormat="plainText").execute()

    def _collect(self, thread: dict[str, Any], floor: datetime | None,
                 comments: list[tuple[dict[str, Any], str, datetime | None]],
                 more: list[tuple[str, datetime | None]], rejected: list[Rejected]) -> None:
        """Add the thread's comments (each with the floor it must be newer than); a thread
        that cannot be read goes to `rejected`, the rest of the page is read."""
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
        if wants_more and all(t != thread_id for t, _ in more):
            more.append((thread_id, floor))

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
