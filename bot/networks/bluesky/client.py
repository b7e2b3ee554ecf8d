"""What the Bluesky sources and the Bluesky publisher share: the logged-in session, reading
atproto's models, and telling a dead session from other errors.

Login: `createSession` is limited (about 100 a day per account; 30 per 5 minutes), so the session
is created once and reused. `BlueskySession` shares one logged-in `atproto.Client` between all
sources and the publisher, imports a saved session string when given one (no request), lets
atproto refresh the access token (`refreshSession`) when it nears expiry, and calls
`createSession` only when there is no session or the saved one is expired/revoked. Every new or
refreshed session is passed to `on_session_change` as a session string so the caller can persist
it (it holds tokens: store it like a secret). `build_bluesky` makes one from the settings; the
composition root makes one and gives it to both the sources and the publisher.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from atproto import Client, Session, SessionEvent
from atproto.exceptions import (
    AtProtocolError,
    BadRequestError,
    RequestErrorBase,
    UnauthorizedError,
)

from bot import __version__
from bot.config import Settings
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedTransport

log = logging.getLogger(__name__)

TIMEOUT = 20.0
# Errors that mean "this session is over", after which one createSession is worth trying.
_TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired",
                           "AuthMissing", "AccountTakedown"})
T = TypeVar("T")


class BlueskySession:
    """One logged-in `atproto.Client` for all Bluesky sources and the publisher (thread-safe)."""

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
            if fresh or not is_token_error(exc):
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
    """A `BlueskySession` for BLUESKY_HANDLE / BLUESKY_APP_PASSWORD on BLUESKY_API_URL (unless
    `base_url`). No request is made until the first poll. `httpx_options` go to
    `httpx.Client`."""
    from atproto_client.request import Request

    httpx_options.setdefault("transport", GuardedTransport(REQUEST_DEADLINE))  # whole request
    request = Request(timeout=httpx.Timeout(timeout), **httpx_options)
    request.add_additional_header("User-Agent", f"socialbot/{__version__}")
    client = Client(base_url=base_url or settings.BLUESKY_API_URL, request=request)
    return BlueskySession(client, settings.secret("BLUESKY_HANDLE"),
                          settings.secret("BLUESKY_APP_PASSWORD"),
                          session_string=session_string, on_session_change=on_session_change)


def build_bluesky_if_set(settings: Settings, **kw: Any) -> BlueskySession | None:
    """`build_bluesky(settings, **kw)` when BLUESKY_HANDLE and BLUESKY_APP_PASSWORD are both
    set, else None (no Bluesky for this bot)."""
    if settings.is_set("BLUESKY_HANDLE") and settings.is_set("BLUESKY_APP_PASSWORD"):
        return build_bluesky(settings, **kw)
    return None


# --- reading atproto models (pydantic models, or DotDicts for records outside the lexicon) ---

def field_of(obj: Any, snake: str, camel: str | None = None) -> Any:
    """The field `snake` (or `camel`) of an atproto model, DotDict or dict; None if absent."""
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


def utc_time(value: Any) -> datetime | None:
    """An atproto datetime (ISO 8601 string or datetime) as an aware UTC datetime, or None."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return utc_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _rkey(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def post_url(handle: str, uri: str) -> str:
    """The bsky.app address of the post `uri` by `handle`."""
    return f"https://bsky.app/profile/{handle}/post/{_rkey(uri)}"


def is_token_error(exc: RequestErrorBase) -> bool:
    """Whether the error says the session is over (expired, revoked), so a new login may help."""
    content = exc.response.content if exc.response is not None else None
    name = field_of(content, "error")
    return isinstance(exc, UnauthorizedError) or name in _TOKEN_ERRORS
