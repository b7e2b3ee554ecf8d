"""Bluesky (atproto): the brand account's notifications and a post search.

- `BlueskyMentionsSource` (`type: bluesky_mentions`): `app.bsky.notification.listNotifications`,
  reasons mention / reply / quote.
- `BlueskySearchSource` (`type: bluesky_search`): `app.bsky.feed.searchPosts`, `q=spec.query`,
  `sort=latest`.

Neither endpoint has a `since_id`: the cursor saved in `SourceState.cursor` is the newest
`indexedAt` seen (ISO 8601, UTC). Pages are read newest first until a page brings nothing newer
than the cursor, the server has no next page, or the page cap is reached; items not newer than
the cursor are skipped and the rest deduped by post `uri`, which is the `external_id`. The first
poll (no cursor) reads one page. `extra` keeps `uri` + `cid` of the post and of its thread root
(`root_uri`/`root_cid`): a reply needs both as strong refs.

Login: `createSession` is limited (about 100 a day per account; 30 per 5 minutes), so the session
is created once and reused. `BlueskySession` shares one logged-in `atproto.Client` between both
sources, imports a saved session string when given one (no request), lets atproto refresh the
access token (`refreshSession`) when it nears expiry, and calls `createSession` only when there
is no session or the saved one is expired/revoked. Every new or refreshed session is passed to
`on_session_change` as a session string so the caller can persist it (it holds tokens: store it
like a secret).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from atproto import Client, Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    RequestException,
    UnauthorizedError,
)
from atproto_core.exceptions import AtProtocolError

from bot import __version__
from bot.config import Settings
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import (
    Fetch,
    RateLimited,
    SourceAuthError,
    SourceError,
    SourceState,
    SourceUnavailable,
)

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # the API's maximum for both endpoints
MAX_PAGES = 5
TIMEOUT = 20.0
RATE_WINDOW = timedelta(minutes=5)
MENTION_REASONS = ("mention", "reply", "quote")
# Errors that mean "this session is over", after which one createSession is worth trying.
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired",
                           "AuthMissing", "AccountTakedown"})
T = TypeVar("T")


class BlueskySession:
    """One logged-in `atproto.Client` for all Bluesky sources of the bot (thread-safe)."""

    def __init__(self, client: Client, handle: str, password: str, *,
                 session_string: str | None = None,
                 on_session_change: Callable[[str], None] | None = None) -> None:
        self.client = client
        self.handle = handle
        self._password = password
        self._session_string = session_string or None
        self._on_session_change = on_session_change
        self._lock = threading.RLock()
        self._logged_in = False
        self._creates = 0  # createSession calls made
        self.did: str | None = None
        client.on_session_change(self._changed)

    @property
    def session_string(self) -> str | None:
        """The current session (handle, did, tokens, PDS) to save and give back next start."""
        return self._session_string

    def _changed(self, event: SessionEvent, session: Session) -> None:
        self.did = session.did
        if event is SessionEvent.IMPORT:
            return
        self._session_string = session.export()
        log.info("bluesky session %s for %s", event.value, session.handle)
        if self._on_session_change:
            self._on_session_change(self._session_string)

    def _create(self) -> None:
        self.client.login(self.handle, self._password, fetch_bsky_profile=False)
        self._logged_in = True
        self._creates += 1

    def ensure_login(self) -> None:
        with self._lock:
            if self._logged_in:
                return
            if self._session_string:
                try:
                    self.client.login(session_string=self._session_string,
                                      fetch_bsky_profile=False)
                    self._logged_in = True
                    return
                except (ValueError, AtProtocolError) as exc:
                    log.warning("saved bluesky session unusable (%s): logging in again", exc)
            self._create()

    def call(self, fn: Callable[[Client], T]) -> T:
        """`fn(client)` with a session. When a reused session (imported, or created on an
        earlier call) turns out expired or revoked, one `createSession` and one retry; a session
        created for this very call is not retried. atproto errors propagate."""
        with self._lock:
            before = self._creates
            self.ensure_login()
            fresh = self._creates != before
            generation = self._creates
        try:
            return fn(self.client)
        except (UnauthorizedError, BadRequestError) as exc:
            if fresh or not _is_token_error(exc):
                raise
            log.info("bluesky session no longer valid (%s): creating a new one", exc)
            with self._lock:
                if self._creates == generation:  # another source may have done it meanwhile
                    self._create()
            return fn(self.client)


def build_bluesky(settings: Settings, *, session_string: str | None = None,
                  on_session_change: Callable[[str], None] | None = None,
                  base_url: str | None = None, timeout: float = TIMEOUT,
                  **httpx_options: Any) -> BlueskySession:
    """A `BlueskySession` for BLUESKY_HANDLE / BLUESKY_APP_PASSWORD. No request is made until the
    first poll. `httpx_options` go to `httpx.Client` (tests pass `transport=`)."""
    from atproto_client.request import Request

    request = Request(timeout=httpx.Timeout(timeout), **httpx_options)
    request.add_additional_header("User-Agent", f"socialbot/{__version__}")
    client = Client(base_url=base_url, request=request)
    return BlueskySession(client, settings.secret("BLUESKY_HANDLE"),
                          settings.secret("BLUESKY_APP_PASSWORD"),
                          session_string=session_string, on_session_change=on_session_change)


# --- reading atproto models (pydantic models, or DotDicts for records outside the lexicon) ---

def _f(obj: Any, snake: str, camel: str | None = None) -> Any:
    if obj is None:
        return None
    for name in (snake, camel):
        if not name:
            continue
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        if value is None and not isinstance(obj, Mapping):
            extra = getattr(obj, "model_extra", None) or {}
            value = extra.get(name)
        if value is not None:
            return value
    return None


def _dt(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return _dt(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def post_url(handle: str, uri: str) -> str:
    return f"https://bsky.app/profile/{handle}/post/{_rkey(uri)}"


def _is_token_error(exc: RequestErrorBase) -> bool:
    content = exc.response.content if exc.response is not None else None
    name = _f(content, "error")
    return isinstance(exc, UnauthorizedError) or name in _TOKEN_ERRORS


def _map_error(exc: AtProtocolError, now: datetime, what: str) -> SourceError:
    if isinstance(exc, RateLimitExceededError):
        reset = exc.reset_at
        if reset is None and exc.retry_after is not None:
            reset = now + timedelta(seconds=exc.retry_after)
        if reset is None or reset <= now:
            reset = now + RATE_WINDOW
        return RateLimited(reset, f"bluesky {what}: {exc}")
    if isinstance(exc, UnauthorizedError):
        return SourceAuthError(f"bluesky {what}: credentials refused: {exc}")
    if isinstance(exc, NetworkError):  # transport failures and timeouts, 409/413/502
        return SourceUnavailable(f"bluesky {what}: {type(exc).__name__}: {exc}")
    status = exc.response.status_code if isinstance(exc, RequestErrorBase) and exc.response \
        else None
    if isinstance(exc, BadRequestError) and _is_token_error(exc):
        return SourceAuthError(f"bluesky {what}: session refused: {exc}")
    if isinstance(exc, RequestException | BadRequestError) and status is not None:
        if status >= 500 or status in (408, 429):
            return SourceUnavailable(f"bluesky {what}: HTTP {status}: {exc}")
        return SourceAuthError(f"bluesky {what}: request refused (HTTP {status}): {exc}")
    return SourceUnavailable(f"bluesky {what}: {type(exc).__name__}: {exc}")


def _parse_cursor(cursor: str | None) -> datetime | None:
    return _dt(cursor) if cursor else None


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
        items: list[Any] = []
        page_cursor: str | None = None
        try:
            for page_no in range(pages):
                page, page_cursor = self.bluesky.call(
                    lambda client, c=page_cursor: self._page(client, c))
                items.extend(page)
                any_new = any((_dt(_f(i, "indexed_at", "indexedAt")) or now) > since
                              for i in page) if since else True
                if not page or not page_cursor or not any_new:
                    break
                if page_no == pages - 1:
                    notes.append("first poll: read the newest page only" if since is None else
                                 f"page cap reached ({pages} pages of {self.page_limit}): older "
                                 "items newer than the cursor were not read")
        except AtProtocolError as exc:
            raise _map_error(exc, now, self.what) from exc

        newest = since
        seen: set[str] = set()
        mentions: list[Mention] = []
        own = 0
        for item in items:
            indexed = _dt(_f(item, "indexed_at", "indexedAt"))
            if since and indexed and indexed <= since:
                continue
            if indexed and (newest is None or indexed > newest):
                newest = indexed
            uri = str(_f(item, "uri") or "")
            if not uri or uri in seen or not self._wanted(item):
                continue
            seen.add(uri)
            mention = self._normalise(item)
            if mention is None:
                continue
            if self._is_brand(item):
                own += 1
                continue
            mentions.append(mention)
        if own:
            notes.append(f"{own} of the brand's own posts skipped")
        mentions.sort(key=lambda m: (m.extra.get("indexed_at", ""), m.external_id))
        cursor = newest.isoformat().replace("+00:00", "Z") if newest else state.cursor
        return Fetch(mentions=mentions, state=SourceState(cursor=cursor), reads=len(items),
                     notes=notes)

    def _record_and_author(self, item: Any) -> tuple[Any, Any]:
        return _f(item, "record"), _f(item, "author")

    def _is_brand(self, item: Any) -> bool:
        author = _f(item, "author")
        handle = (self.brand.bluesky_handle or self.bluesky.handle or "").lstrip("@").lower()
        did = self.bluesky.did
        return (bool(handle) and str(_f(author, "handle") or "").lower() == handle) or (
            bool(did) and _f(author, "did") == did)

    def _normalise(self, item: Any) -> Mention | None:
        record, author = self._record_and_author(item)
        uri, cid = str(_f(item, "uri")), str(_f(item, "cid") or "")
        text = str(_f(record, "text") or "")
        handle = str(_f(author, "handle") or "")
        reply = _f(record, "reply")
        parent, root = _f(reply, "parent"), _f(reply, "root")
        root_uri = str(_f(root, "uri") or uri)
        root_cid = str(_f(root, "cid") or cid)
        langs = _f(record, "langs") or []
        followers = _f(author, "followers_count", "followersCount")
        indexed = _dt(_f(item, "indexed_at", "indexedAt"))
        extra = {"uri": uri, "cid": cid, "root_uri": root_uri, "root_cid": root_cid,
                 **self._extra(item)}
        if indexed:
            extra["indexed_at"] = indexed.isoformat()
        return Mention(
            network="bluesky",
            external_id=uri,
            text=text,
            author=Author(handle=handle,
                          name=str(_f(author, "display_name", "displayName") or handle),
                          followers=int(followers or 0),
                          external_id=_f(author, "did")),
            url=post_url(handle, uri) if handle else None,
            created_at=_dt(_f(record, "created_at", "createdAt")) or indexed,
            lang=str(langs[0]).split("-")[0].lower() if langs else None,
            source_id=self.spec.id,
            mentions_brand=self._mentions_brand(item, text),
            in_reply_to_id=str(_f(parent, "uri")) if _f(parent, "uri") else None,
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
        return _f(item, "reason") in MENTION_REASONS

    def _mentions_brand(self, item: Any, text: str) -> bool:
        return True  # the network notified the brand account: it is addressed

    def _extra(self, item: Any) -> dict[str, str]:
        out = {"reason": str(_f(item, "reason"))}
        if _f(item, "reason_subject", "reasonSubject"):
            out["reason_subject"] = str(_f(item, "reason_subject", "reasonSubject"))
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
        for facet in _f(_f(item, "record"), "facets") or []:
            for feature in _f(facet, "features") or []:
                if did and _f(feature, "did") == did:
                    return True
        return False
