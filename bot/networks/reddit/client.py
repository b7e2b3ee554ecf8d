"""What the Reddit source and the Reddit publisher share: the PRAW client, the rate-limit
window and reading PRAW's things.

`build_reddit` makes a `praw.Reddit` for the brand account: a refresh token
(REDDIT_REFRESH_TOKEN) or a "script" app's username and password, the app's
REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET, and a user agent in the form Reddit asks for
(`python:socialbot:<version> (by /u/<account>)`). It never sleeps on its own:
- PRAW's `ratelimit_seconds` is 0, so a "you are doing that too much" answer is raised, not
  slept through;
- `SendOnceRequestor` sends every request once: prawcore retries after a 5xx or a read
  timeout, which for a comment could post it twice (and sleeps seconds between tries); here
  the failure is raised as `UnsureSend` and the scheduler's backoff or the desk's reconcile
  decide what comes next;
- `RateWindow` remembers Reddit's `X-Ratelimit-Remaining/-Used/-Reset` of the last answer, so
  the callers stop before prawcore's rate limiter would sleep until the window resets.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import UTC, datetime, timedelta
from typing import Any

import praw
import requests
from prawcore.exceptions import RequestException
from prawcore.requestor import Requestor

from bot import __version__
from bot.config import Settings
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedSession

REQUEST_TIMEOUT = 20  # seconds (PRAW takes whole seconds)
RATE_WINDOW = timedelta(minutes=10)  # Reddit counts requests per 10-minute window
URL = "https://www.reddit.com"  # the public address of a permalink


class UnsureSend(Exception):
    """A request failed (5xx, timeout, dropped or refused connection): not retried here.
    `original` is the transport error, None for an HTTP status."""

    def __init__(self, detail: str, original: BaseException | None = None) -> None:
        self.original = original
        super().__init__(detail)


class SendOnceRequestor(Requestor):
    """A prawcore `Requestor` that never lets prawcore repeat a request (see the module)."""

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any
                ) -> requests.Response:
        try:
            response = super().request(*args, timeout=timeout, **kwargs)
        except RequestException as exc:
            original = exc.original_exception
            raise RequestException(UnsureSend(repr(original), original), args, kwargs
                                   ) from original
        if response.status_code >= 500 or response.status_code == 408:
            raise RequestException(UnsureSend(f"HTTP {response.status_code}"), args, kwargs)
        return response


@dataclass
class RateWindow:
    """Reddit's rate-limit headers of the last answer (all requests of one client count)."""

    remaining: float | None = None
    used: int | None = None
    reset_at: datetime | None = None
    _lock: threading.Lock = dc_field(default_factory=threading.Lock, repr=False)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A requests response hook: read the headers of every answer."""
        self.update(response.headers, datetime.now(UTC))

    def update(self, headers: Mapping[str, str], now: datetime) -> None:
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or reset is None:
            return
        try:
            with self._lock:
                self.remaining = float(remaining)
                self.used = int(float(headers.get("x-ratelimit-used") or 0))
                self.reset_at = now + timedelta(seconds=int(float(reset)))
        except ValueError:
            return

    def blocked_until(self, now: datetime, need: int = 1) -> datetime | None:
        """When the window resets, if fewer than `need` requests are left in it; else None."""
        with self._lock:
            if self.remaining is None or self.reset_at is None or self.reset_at <= now:
                return None
            return self.reset_at if self.remaining < need else None


def user_agent(account: str | None) -> str:
    """Reddit's requested form: `<platform>:<app id>:<version> (by /u/<username>)`."""
    by = f" (by /u/{account})" if account else ""
    return f"python:socialbot:{__version__}{by}"


def build_reddit(settings: Settings, *, account: str | None = None,
                 window: RateWindow | None = None, timeout: int = REQUEST_TIMEOUT,
                 session: requests.Session | None = None) -> praw.Reddit:
    """A PRAW client as the brand account (refresh token, else username and password). No
    request is made until it is used. `window`, when given, reads every answer's headers."""
    session = session or GuardedSession(REQUEST_DEADLINE)  # a whole request ends in time
    if window is not None:
        session.hooks.setdefault("response", []).append(window.hook)
    auth: dict[str, str] = (
        {"refresh_token": settings.secret("REDDIT_REFRESH_TOKEN")}
        if settings.is_set("REDDIT_REFRESH_TOKEN") else
        {"username": settings.secret("REDDIT_USERNAME"),
         "password": settings.secret("REDDIT_PASSWORD")})
    account = account or settings.REDDIT_USERNAME
    return praw.Reddit(
        client_id=settings.secret("REDDIT_CLIENT_ID"),
        client_secret=settings.secret("REDDIT_CLIENT_SECRET"),
        user_agent=user_agent(account), **auth,
        oauth_url=settings.REDDIT_OAUTH_URL.rstrip("/"),
        reddit_url=settings.REDDIT_WWW_URL.rstrip("/"),
        ratelimit_seconds=0, check_for_updates=False, check_for_async=False,
        timeout=timeout, requestor_class=SendOnceRequestor,
        requestor_kwargs={"session": session})


# --- reading PRAW's things --------------------------------------------------------------------

def field(thing: Any, name: str, default: Any = None) -> Any:
    """An attribute Reddit sent with `thing`, without PRAW's lazy fetch of a missing one (a
    missing attribute on a PRAW object costs one more request)."""
    value = vars(thing).get(name, default) if hasattr(thing, "__dict__") else default
    return default if value is None else value


def author_name(thing: Any) -> str | None:
    """The author's username; None for a deleted account (`[deleted]`)."""
    author = field(thing, "author")
    if author is None:
        return None
    name = str(field(author, "name", "") or author) if not isinstance(author, str) else author
    return None if not name or name == "[deleted]" else name


def utc(epoch: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(epoch), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


_LINK = re.compile(r"/comments/([a-z0-9]+)/")


def link_of(thing: Any) -> str | None:
    """The fullname (`t3_…`) of the post a comment belongs to: `link_id`, or the post id in
    an inbox item's `context` path (inbox mentions carry no `link_id`)."""
    link = field(thing, "link_id")
    if link:
        return str(link)
    m = _LINK.search(str(field(thing, "context", "") or field(thing, "permalink", "")))
    return f"t3_{m.group(1)}" if m else None


def permalink(thing: Any) -> str | None:
    path = str(field(thing, "permalink", "") or field(thing, "context", "")).split("?")[0]
    return URL + path if path.startswith("/") else None


def api_errors(exc: Exception) -> str:
    """Reddit's own words from a `RedditAPIException` (`TOO_LONG: this is too long`)."""
    items = getattr(exc, "items", None) or []
    parts = [f"{getattr(i, 'error_type', '')}: {getattr(i, 'message', '')}" for i in items]
    return "; ".join(parts) or str(exc)


def error_types(exc: Exception) -> set[str]:
    return {str(getattr(i, "error_type", "")) for i in getattr(exc, "items", None) or []}
