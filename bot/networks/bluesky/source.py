"""Bluesky (atproto): the brand account's notifications and a post search.

- `BlueskyMentionsSource` (`type: bluesky_mentions`): `app.bsky.notification.listNotifications`,
  reasons mention / reply / quote.
- `BlueskySearchSource` (`type: bluesky_search`): `app.bsky.feed.searchPosts`, `q=spec.query`,
  `sort=latest`.

Neither endpoint has a `since_id`: the cursor saved in `SourceState.cursor` is the newest
`indexedAt` seen (ISO 8601, UTC). Pages are read newest first until a page brings nothing newer
than the cursor, the server has no next page, or the page cap is reached; items not newer than
the cursor are skipped and the rest deduped by post `uri`, which is the `external_id`. The first
poll (no cursor) reads one page. A burst larger than the cap leaves a gap (bot.networks.gaps:
the page cursor to resume from and the old cursor as its floor) that the next polls read with
the pages the new items leave over, until it is closed (`gaps.Backfill`, as every token-paged
source). `extra` keeps `uri` + `cid` of the post and of its thread root
(`root_uri`/`root_cid`): a reply needs both as strong refs.

Both use the `BlueskySession` of `bot.networks.bluesky.client`, shared with the publisher: one
login for the whole bot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
from atproto import Client
from atproto.exceptions import (
    AtProtocolError,
    BadRequestError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    RequestException,
    UnauthorizedError,
)

from bot.domain import waits
from bot.domain.conversation import flag_by_brand
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import (
    Fetch,
    RateLimited,
    Rejected,
    SourceAuthError,
    SourceError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.bluesky.client import (
    BlueskySession,
    field_of,
    is_token_error,
    post_url,
    utc_time,
)
from bot.networks.gaps import Backfill, Page
from bot.networks.rejects import rejected as reject

PAGE_LIMIT = 100  # the API's maximum for both endpoints
MAX_PAGES = 5
RATE_WINDOW = timedelta(minutes=5)
MENTION_REASONS = ("mention", "reply", "quote")


def _map_error(exc: AtProtocolError, now: datetime, what: str) -> SourceError:
    if isinstance(exc, RateLimitExceededError):
        # The raw headers: atproto's own reading raises on a reset past year 9999.
        headers = exc.response.headers if exc.response is not None else {}
        reset_header = headers.get("ratelimit-reset")
        reset = (waits.reset_at(reset_header, now=now, default=RATE_WINDOW, what="bluesky")
                 if reset_header is not None else
                 waits.retry_after(headers.get("retry-after"), now=now, default=RATE_WINDOW,
                                   what="bluesky"))
        if reset <= now:
            reset = now + RATE_WINDOW
        return RateLimited(reset, f"bluesky {what}: {exc}")
    if isinstance(exc, UnauthorizedError):
        return SourceAuthError(f"bluesky {what}: credentials refused: {exc}")
    if isinstance(exc, NetworkError):  # transport failures and timeouts, 409/413/502
        return SourceUnavailable(f"bluesky {what}: {type(exc).__name__}: {exc}")
    status = exc.response.status_code if isinstance(exc, RequestErrorBase) and exc.response \
        else None
    if isinstance(exc, BadRequestError) and is_token_error(exc):
        return SourceAuthError(f"bluesky {what}: session refused: {exc}")
    if isinstance(exc, RequestException | BadRequestError) and status is not None:
        if status >= 500 or status in (408, 429):
            return SourceUnavailable(f"bluesky {what}: HTTP {status}: {exc}")
        return SourceAuthError(f"bluesky {what}: request refused (HTTP {status}): {exc}")
    return SourceUnavailable(f"bluesky {what}: {type(exc).__name__}: {exc}")


def _parse_cursor(cursor: str | None) -> datetime | None:
    return utc_time(cursor) if cursor else None


def _oldest(items: list[Any], now: datetime) -> str:
    """The oldest `indexedAt` among `items` (ISO 8601), for a gap's description."""
    times = [t for t in (utc_time(field_of(i, "indexed_at", "indexedAt")) for i in items) if t]
    return (min(times) if times else now).isoformat().replace("+00:00", "Z")


class _BlueskySource:
    what = "bluesky"

    def __init__(self, spec: SourceSpec, brand: Brand, bluesky: BlueskySession, *,
                 page_limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.bluesky = bluesky
        self.page_limit = page_limit
        self.max_pages = max_pages

    # subclasses: one page → (items, next cursor); is an item wanted; item → Mention
    def _page(self, client: Client, cursor: str | None) -> tuple[list[Any], str | None]:
        raise NotImplementedError

    def _wanted(self, item: Any) -> bool:
        return True

    def _mentions_brand(self, item: Any, text: str) -> bool:
        raise NotImplementedError

    def _extra(self, item: Any) -> dict[str, str]:
        return {}

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        since = _parse_cursor(state.cursor)
        pages = 1 if since is None else self.max_pages
        notes: list[str] = []
        run: Backfill[Any] = Backfill.of(partial(self._read_page, now), state.backfill)
        try:
            if run.read_new(state.cursor if since is not None else None, pages):
                notes.append("first poll: read the newest page only" if since is None else
                             f"page cap reached ({pages} pages of {self.page_limit}): older "
                             "items newer than the cursor are read by the next polls")
            run.read_gaps(self.max_pages - run.pages)
        except AtProtocolError as exc:
            raise _map_error(exc, now, self.what) from exc
        except httpx.TransportError as exc:  # one atproto passes on: a reset, no status line
            raise SourceUnavailable(f"bluesky {self.what}: {type(exc).__name__}: {exc}") from exc
        # (item, the time it must be newer than): the gaps' items have their own floor.
        items = [(i, _parse_cursor(floor)) for i, floor in run.items]
        backfilled = run.backfill_items

        newest = since
        seen: set[str] = set()
        mentions: list[Mention] = []
        rejected: list[Rejected] = []
        own = 0
        for item, floor in items:
            indexed = utc_time(field_of(item, "indexed_at", "indexedAt"))
            if floor and indexed and indexed <= floor:
                continue
            if indexed and (newest is None or indexed > newest):
                newest = indexed
            uri = str(field_of(item, "uri") or "")
            if not uri or uri in seen or not self._wanted(item):
                continue
            seen.add(uri)
            try:
                mention = self._normalise(item)
            except Exception as exc:  # one unreadable post must not fail the page
                rejected.append(reject("bluesky", item, exc, uri))
                continue
            if mention is None:
                continue
            if self._is_brand(item):
                if mention.in_reply_to_id:  # maybe a colleague answering outside socialbot
                    mentions.append(flag_by_brand(mention))
                else:
                    own += 1
                continue
            mentions.append(mention)
        if own:
            notes.append(f"{own} of the brand's own posts skipped")
        mentions.sort(key=lambda m: (m.extra.get("indexed_at", ""), m.external_id))
        cursor = newest.isoformat().replace("+00:00", "Z") if newest else state.cursor
        return Fetch(mentions=mentions, state=SourceState(cursor=cursor, backfill=run.state()),
                     reads=len(items), notes=notes, rejected=rejected, backfill_reads=backfilled)

    def _read_page(self, now: datetime, cursor: str | None, floor: str | None,
                   scope: str | None) -> Page[Any]:
        """One page from the page `cursor`, newest first; it reaches the floor when nothing
        in it is newer (an item at the floor beside newer ones reads one page more)."""
        page, cursor = self.bluesky.call(partial(self._page, cursor=cursor))
        since = _parse_cursor(floor)
        any_new = any((utc_time(field_of(i, "indexed_at", "indexedAt")) or now) > since
                      for i in page) if since else True
        return Page(page, next=cursor or None, reached=not any_new,
                    oldest=_oldest(page, now) if page else None)

    def _record_and_author(self, item: Any) -> tuple[Any, Any]:
        return field_of(item, "record"), field_of(item, "author")

    def _is_brand(self, item: Any) -> bool:
        author = field_of(item, "author")
        handle = (self.brand.bluesky_handle or self.bluesky.handle or "").lstrip("@").lower()
        did = self.bluesky.did
        return (bool(handle) and str(field_of(author, "handle") or "").lower() == handle) or (
            bool(did) and field_of(author, "did") == did)

    def _normalise(self, item: Any) -> Mention | None:
        record, author = self._record_and_author(item)
        uri, cid = str(field_of(item, "uri")), str(field_of(item, "cid") or "")
        text = str(field_of(record, "text") or "")
        handle = str(field_of(author, "handle") or "")
        reply = field_of(record, "reply")
        parent, root = field_of(reply, "parent"), field_of(reply, "root")
        root_uri = str(field_of(root, "uri") or uri)
        root_cid = str(field_of(root, "cid") or cid)
        langs = field_of(record, "langs") or []
        followers = field_of(author, "followers_count", "followersCount")
        indexed = utc_time(field_of(item, "indexed_at", "indexedAt"))
        extra = {"uri": uri, "cid": cid, "root_uri": root_uri, "root_cid": root_cid,
                 **self._extra(item)}
        if indexed:
            extra["indexed_at"] = indexed.isoformat()
        return Mention(
            network="bluesky",
            external_id=uri,
            text=text,
            author=Author(handle=handle,
                          name=str(field_of(author, "display_name", "displayName") or handle),
                          followers=int(followers or 0),
                          external_id=field_of(author, "did")),
            url=post_url(handle, uri) if handle else None,
            created_at=utc_time(field_of(record, "created_at", "createdAt")) or indexed,
            lang=str(langs[0]).split("-")[0].lower() if langs else None,
            source_id=self.spec.id,
            mentions_brand=self._mentions_brand(item, text),
            in_reply_to_id=str(field_of(parent, "uri")) if field_of(parent, "uri") else None,
            conversation_id=root_uri,
            extra=extra,
        )


class BlueskyMentionsSource(_BlueskySource):
    """`type: bluesky_mentions` — the brand account's mention, reply and quote notifications."""

    what = "listNotifications"

    def _page(self, client: Client, cursor: str | None) -> tuple[list[Any], str | None]:
        params: dict[str, Any] = {"limit": self.page_limit, "reasons": list(MENTION_REASONS)}
        if cursor:
            params["cursor"] = cursor
        resp = client.app.bsky.notification.list_notifications(params)
        return list(resp.notifications or []), resp.cursor

    def _wanted(self, item: Any) -> bool:
        return field_of(item, "reason") in MENTION_REASONS

    def _mentions_brand(self, item: Any, text: str) -> bool:
        return True  # the network notified the brand account: it is addressed

    def _extra(self, item: Any) -> dict[str, str]:
        out = {"reason": str(field_of(item, "reason"))}
        if field_of(item, "reason_subject", "reasonSubject"):
            out["reason_subject"] = str(field_of(item, "reason_subject", "reasonSubject"))
        return out


class BlueskySearchSource(_BlueskySource):
    """`type: bluesky_search` — posts matching `spec.query`, newest first."""

    what = "searchPosts"

    def __init__(self, spec: SourceSpec, brand: Brand, bluesky: BlueskySession, **kw: Any
                 ) -> None:
        if not spec.query:
            raise ValueError(f"source {spec.id}: a bluesky_search source needs a query")
        super().__init__(spec, brand, bluesky, **kw)

    def _page(self, client: Client, cursor: str | None) -> tuple[list[Any], str | None]:
        params: dict[str, Any] = {"q": self.spec.query, "sort": "latest",
                                  "limit": self.page_limit}
        if cursor:
            params["cursor"] = cursor
        resp = client.app.bsky.feed.search_posts(params)
        return list(resp.posts or []), resp.cursor

    def _mentions_brand(self, item: Any, text: str) -> bool:
        handle = (self.brand.bluesky_handle or self.bluesky.handle or "").lstrip("@").lower()
        if handle and f"@{handle}" in text.lower():
            return True
        did = self.bluesky.did
        for facet in field_of(field_of(item, "record"), "facets") or []:
            for feature in field_of(facet, "features") or []:
                if did and field_of(feature, "did") == did:
                    return True
        return False
