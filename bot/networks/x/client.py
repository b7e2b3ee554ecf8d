"""What the X source and the X publisher share: the tweepy client, secrets kept out of the
logs, and reading X's answers.

`build_x_client` makes the one tweepy `Client` both use (app-only bearer token to read, the
brand's OAuth 1.0a user keys to write), never with `wait_on_rate_limit=True`: a call must not
sleep in a thread the scheduler (or Slack) needs. Its requests get `REQUEST_TIMEOUT`.

tweepy logs every request's headers at DEBUG, `Authorization: Bearer …` included, and
requests-oauthlib/oauthlib log the signed OAuth 1.0a header. Importing this module puts a
`RedactSecrets` filter on those loggers (filters on a logger see only the records logged on
that very logger, so every module logger that emits them is listed, not just the parents).

`as_page` turns any tweepy result into the v2 body as a dict, `problem` gives X's own words for
an error, `ref_ids` reads a post's `referenced_tweets`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import requests
import tweepy

from bot.config import Settings
from bot.domain.redaction import redact
from bot.networks.base import SourceAuthError
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedSession

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = (5.0, 30.0)  # requests (connect, read) seconds for every call to X
X_API = "https://api.twitter.com"  # tweepy's one host; `X_API_URL` moves it (tests: a fake)


# --- secrets out of the logs ---------------------------------------------------------------

class RedactSecrets(logging.Filter):
    """Rewrites a record's message with credentials removed; never drops a record.

    The redaction is `bot.domain.redaction.redact` (the one place that decides what a secret
    looks like) with the exact values `build_x_client` registered with `add_secret`, wherever
    they appear (a token in a URL, an exception message)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secret(self, value: str | None) -> None:
        if value and len(value) >= 8:  # a short value would redact ordinary words
            self._secrets.add(value)  # shorter ones are ignored by `redact` as well

    def scrub(self, text: str) -> str:
        return redact(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's problem, not ours
            return True
        cleaned = self.scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


REDACTOR = RedactSecrets()
REDACTED_LOGGERS = (
    "tweepy", "tweepy.client", "tweepy.api", "tweepy.auth", "tweepy.asynchronous.client",
    "urllib3", "urllib3.connectionpool", "requests",
    "requests_oauthlib", "requests_oauthlib.oauth1_auth", "requests_oauthlib.oauth1_session",
    "requests_oauthlib.oauth2_session",
    "oauthlib", "oauthlib.oauth1.rfc5849", "oauthlib.oauth1.rfc5849.signature",
)


def install_log_redaction() -> None:
    """Put `REDACTOR` on every logger that may print X credentials (idempotent)."""
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)


install_log_redaction()


# --- the client ----------------------------------------------------------------------------

_USER_KEYS = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")


class TimeoutSession(GuardedSession):
    """A session whose requests get `timeout` unless the caller gives one, and end within
    `deadline` whatever the server does (`GuardedSession`).

    tweepy's `Client` calls `self.session.request(...)` without a timeout (it would wait for
    ever on a stalled connection) and has no option for it; `build_x_client` swaps this in.
    Nor has it an option for X's host: requests for `X_API` go to `base` instead (same path
    and query; `X_API_URL`, which the end-to-end tests point at a fake X)."""

    def __init__(self, timeout: float | tuple[float, float] = REQUEST_TIMEOUT,
                 deadline: float = REQUEST_DEADLINE, *, base: str = X_API) -> None:
        super().__init__(deadline)
        self.timeout = timeout
        self.base = base.rstrip("/")

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                ) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.base != X_API and isinstance(url, str) and url.startswith(X_API):
            url = self.base + url[len(X_API):]
        return readable_reset(super().request(method, url, *args, **kwargs))


RESET_HEADER = "x-rate-limit-reset"


def readable_reset(response: requests.Response) -> requests.Response:
    """`response` without an `x-rate-limit-reset` that is not epoch seconds.

    tweepy reads the header with `int()` before raising `TooManyRequests`: a garbage value
    made it raise `ValueError` instead, so the 429 was never seen as one. Without the header
    the source waits X's default window (`RATE_LIMIT_FALLBACK`)."""
    value = response.headers.get(RESET_HEADER)
    if value is not None and not value.strip().isdigit():
        log.warning("X answered %s with an unreadable %s (%r): waiting the default window",
                    response.status_code, RESET_HEADER, value[:40])
        del response.headers[RESET_HEADER]
    return response


def build_x_client(settings: Settings, *,
                   timeout: float | tuple[float, float] = REQUEST_TIMEOUT) -> tweepy.Client:
    """A tweepy `Client` for the sources: app-only bearer token for reading when set, else the
    OAuth 1.0a user keys. User keys, when all four are set, are also given to a bearer client so
    the same client can post replies (`create_tweet` uses them). Returns raw JSON dicts."""
    bearer = settings.secret("X_BEARER_TOKEN") if settings.is_set("X_BEARER_TOKEN") else None
    user_missing = [n for n in _USER_KEYS if not settings.is_set(n)]
    user = {} if user_missing else dict(zip(
        ("consumer_key", "consumer_secret", "access_token", "access_token_secret"),
        (settings.secret(n) for n in _USER_KEYS), strict=True))
    if not bearer and not user:
        raise SourceAuthError(
            "X credentials are missing: set X_BEARER_TOKEN, or all of " + ", ".join(_USER_KEYS)
            + " (missing: X_BEARER_TOKEN, " + ", ".join(user_missing) + ")")
    for secret in (bearer, *user.values()):
        REDACTOR.add_secret(secret)
    client = tweepy.Client(bearer_token=bearer, **user, return_type=dict,
                           wait_on_rate_limit=False)
    client.session.close()
    client.session = TimeoutSession(timeout, base=settings.X_API_URL)
    return client


# --- reading X's answers -----------------------------------------------------------------

def _references(tweet: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # X's wire format says referenced_tweets; its newer OpenAPI vocabulary says referenced_posts.
    refs = tweet.get("referenced_tweets") or tweet.get("referenced_posts") or []
    return [r for r in refs if isinstance(r, Mapping)]


def ref_ids(tweet: Mapping[str, Any], kind: str) -> list[str]:
    """The ids of the posts `tweet` references as `kind`: replied_to, quoted or retweeted."""
    return [str(r["id"]) for r in _references(tweet) if r.get("type") == kind and r.get("id")]


def as_page(result: object) -> dict[str, Any]:
    """A v2 response body as a dict, whatever `return_type` the client was built with."""
    if isinstance(result, dict):
        return result
    if isinstance(result, requests.Response):
        return result.json()
    if isinstance(result, tweepy.Response):
        def raw(obj: Any) -> Any:
            return getattr(obj, "data", obj)
        page: dict[str, Any] = {"meta": dict(result.meta or {}), "errors": list(result.errors or [])}
        if isinstance(result.data, list):
            page["data"] = [raw(d) for d in result.data]
        elif result.data is not None:
            page["data"] = raw(result.data)
        page["includes"] = {k: [raw(x) for x in v] for k, v in (result.includes or {}).items()}
        return page
    raise TypeError(f"unexpected tweepy result {type(result).__name__}")


def problem(exc: tweepy.HTTPException) -> str:
    """X's own words for an error: the Problem's detail (or title), else tweepy's message."""
    try:
        body = exc.response.json()
    except Exception:
        body = None
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
        if not parts and isinstance(body.get("errors"), list):
            parts = [str(e.get("detail") or e.get("message") or e) for e in body["errors"]
                     if isinstance(e, dict)]
        if parts:
            return ": ".join(dict.fromkeys(parts))
    return "; ".join(exc.api_messages) or str(exc)
