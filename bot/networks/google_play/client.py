"""What the Google Play source and publisher share: the androidpublisher v3 client and reading
its errors.

The client authenticates as a service account (GOOGLE_PLAY_SERVICE_ACCOUNT_JSON: the key file's
JSON, or the path of the file). google-auth signs a JWT with the key and exchanges it at the
key's own `token_uri` for an access token, which it refreshes when it expires. The API is built
from the discovery document that ships inside google-api-python-client (`static_discovery`):
no request is made until the first call. GOOGLE_PLAY_API_URL moves the API (tests point it,
and the key's `token_uri`, at a local fake).

`comments_of` and `seconds_of` read a review (its user comment, its developer reply, their
`Timestamp`s).

Errors are read once, here (`play_error`), into what the source and the publisher decide on:
the HTTP status, Google's `reason`/`status` words, and whether it is a quota answer (Google
says 429 RESOURCE_EXHAUSTED or 403 rateLimitExceeded/quotaExceeded for an exhausted quota:
those are waits, not refused credentials).
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from bot.config import Settings
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedHttp

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
REQUEST_TIMEOUT = 20.0
KEY_VARIABLE = "GOOGLE_PLAY_SERVICE_ACCOUNT_JSON"
QUOTA_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded",
                           "dailyLimitExceeded", "RESOURCE_EXHAUSTED"})


def seconds_of(stamp: Any) -> int | None:
    """A `Timestamp` ({"seconds": "1452807846", "nanos": 0}) as epoch seconds."""
    if isinstance(stamp, dict):
        try:
            return int(str(stamp.get("seconds")))
        except ValueError:
            return None
    return None


def comments_of(review: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the user's comment, the developer's reply or {}) of a review."""
    user: dict[str, Any] = {}
    developer: dict[str, Any] = {}
    for comment in review.get("comments") or ():
        if isinstance(comment, dict):
            user = comment.get("userComment") or user
            developer = comment.get("developerComment") or developer
    return user, developer


class PlayKeyError(ValueError):
    """GOOGLE_PLAY_SERVICE_ACCOUNT_JSON is not a usable service-account key."""


def service_account_info(raw: str) -> dict[str, Any]:
    """The key as a dict, from its JSON text or from the path of its file."""
    text = raw.strip()
    if not text.startswith("{"):
        path = Path(text).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PlayKeyError(f"{KEY_VARIABLE}: cannot read the key file {path}: "
                               f"{exc.strerror or exc}") from None
    try:
        info = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlayKeyError(f"{KEY_VARIABLE}: not JSON ({exc.msg} at line {exc.lineno})"
                           ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise PlayKeyError(f"{KEY_VARIABLE}: not a service-account key (its \"type\" must be "
                           "\"service_account\"; create one in Google Cloud → IAM → Service "
                           "accounts → Keys)")
    missing = [k for k in ("client_email", "private_key", "token_uri") if not info.get(k)]
    if missing:
        raise PlayKeyError(f"{KEY_VARIABLE}: the key lacks {', '.join(missing)}")
    return info


class PlayApi:
    """The androidpublisher v3 `Resource`, built on first use and shared by the sources and the
    publisher (google-auth refreshes the one token). httplib2 is not thread-safe: calls are
    serialised by `lock`."""

    def __init__(self, settings: Settings, *, timeout: float = REQUEST_TIMEOUT,
                 http: httplib2.Http | None = None) -> None:
        self._http = http  # the connection to sign requests on (default: a new one)
        self._raw = settings.secret(KEY_VARIABLE)
        self._api_url = settings.GOOGLE_PLAY_API_URL
        self._timeout = timeout
        self._resource: Any = None
        self.lock = threading.Lock()

    def reviews(self) -> Any:
        """`service.reviews()`; raises PlayKeyError when the key cannot be used."""
        if self._resource is None:
            info = service_account_info(self._raw)
            try:
                creds = service_account.Credentials.from_service_account_info(
                    info, scopes=[SCOPE])
            except (ValueError, TypeError) as exc:
                raise PlayKeyError(f"{KEY_VARIABLE}: the private key cannot be read: {exc}"
                                   ) from None
            http = AuthorizedHttp(creds, http=self._http or GuardedHttp(
                REQUEST_DEADLINE, timeout=self._timeout))  # a whole request ends in time
            self._resource = discovery.build(
                "androidpublisher", "v3", http=http, static_discovery=True,
                cache_discovery=False, client_options={"api_endpoint": self._api_url})
        return self._resource.reviews()

    def execute(self, request: Any) -> dict[str, Any]:
        with self.lock:
            body = request.execute(num_retries=0)
        return body if isinstance(body, dict) else {}


@dataclass(frozen=True, slots=True)
class PlayError:
    """One failed call, read: what kind of failure and the words to log."""

    status: int | None  # HTTP status; None when no answer came
    detail: str
    quota: bool = False  # an exhausted quota (429, or 403 with a quota reason)
    auth: bool = False  # credentials refused (401/403, key refused at the token endpoint)
    retry_after: float | None = None  # seconds, from Retry-After
    never_sent: bool = False  # the connection was never made


def play_error(exc: BaseException) -> PlayError | None:
    """`exc` read as a Google Play failure, None when it is not one (a bug)."""
    if isinstance(exc, PlayKeyError):
        return PlayError(None, str(exc), auth=True, never_sent=True)
    if isinstance(exc, HttpError):
        return _http_error(exc)
    if isinstance(exc, auth_exceptions.RefreshError):
        # The token endpoint refused the key (revoked, deleted, wrong clock) unless it says
        # the failure is transient.
        retryable = bool(getattr(exc, "retryable", False))
        return PlayError(None, f"token exchange failed: {_short(exc)}", auth=not retryable,
                         never_sent=True)
    if isinstance(exc, auth_exceptions.TransportError):
        return PlayError(None, f"token exchange failed: {_short(exc)}", never_sent=True)
    if isinstance(exc, ConnectionRefusedError | socket.gaierror | httplib2.ServerNotFoundError):
        return PlayError(None, f"could not connect: {_short(exc)}", never_sent=True)
    if isinstance(exc, OSError | httplib2.HttpLib2Error):  # timeouts, resets after sending
        return PlayError(None, f"{type(exc).__name__}: {_short(exc)}")
    return None


def _http_error(exc: HttpError) -> PlayError:
    status = int(exc.resp.status)
    reasons: set[str] = set()
    message = ""
    try:
        error = json.loads(exc.content.decode("utf-8", "replace")).get("error", {})
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict):
        message = str(error.get("message") or "")
        reasons.add(str(error.get("status") or ""))
        for item in error.get("errors") or ():
            if isinstance(item, dict):
                reasons.add(str(item.get("reason") or ""))
    quota = status == 429 or (status == 403 and bool(reasons & QUOTA_REASONS))
    retry_after = None
    header = exc.resp.get("retry-after") if hasattr(exc.resp, "get") else None
    if header and str(header).strip().isdigit():
        retry_after = float(str(header).strip())
    words = ", ".join(sorted(r for r in reasons if r))
    detail = f"{status}{' ' + words if words else ''}: {message or exc.reason or 'no message'}"
    return PlayError(status, detail[:300], quota=quota,
                     auth=status in (401, 403) and not quota, retry_after=retry_after)


def _short(exc: BaseException) -> str:
    return str(exc).replace("\n", " ")[:200] or type(exc).__name__
