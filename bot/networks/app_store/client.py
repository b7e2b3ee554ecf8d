"""What the App Store source and publisher share: the App Store Connect session and reading
its answers.

Sign-in is a JSON Web Token the bot signs itself, no token endpoint: ES256 with the team's API
key (the `.p8` file App Store Connect lets you download once: APP_STORE_PRIVATE_KEY holds its
PEM text, or APP_STORE_PRIVATE_KEY_PATH its path), header `kid` = APP_STORE_KEY_ID, claims
`iss` = APP_STORE_ISSUER_ID, `aud` = `appstoreconnect-v1`, `iat` and `exp`. Apple refuses a
token that lives longer than 20 minutes, so one lives TOKEN_LIFETIME and is signed again a
minute before it runs out (the clock is injected: tests move it).

Every call goes through `AscApi.call`, which turns a failure into one `AscError`: the HTTP
status, Apple's error `code`s (`NOT_AUTHORIZED`, `FORBIDDEN_ERROR`, `RATE_LIMIT_EXCEEDED`,
`NOT_FOUND`, …), whether the request surely never left, and Retry-After when Apple sends one.
`X-Rate-Limit` (`user-hour-lim:3600;user-hour-rem:3599;`) is kept for the logs.

`responses_by_id` and `response_of` read a review's response out of a JSON:API answer
(`include=response`); `parse_time` reads Apple's date-times.
APP_STORE_API_URL moves the API (tests point it at a local fake); a `links.next` URL of
another host is refused, so the token never goes anywhere else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bot.config import Settings
from bot.networks.base import connection_never_made
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedSession

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = 15 * 60  # seconds; Apple refuses more than 20 minutes
RENEW_BEFORE = 60  # seconds left when a new token is signed
REQUEST_TIMEOUT = 20.0
KEY_ID_VARIABLE = "APP_STORE_KEY_ID"
ISSUER_VARIABLE = "APP_STORE_ISSUER_ID"
KEY_VARIABLE = "APP_STORE_PRIVATE_KEY"
KEY_PATH_VARIABLE = "APP_STORE_PRIVATE_KEY_PATH"
USER_AGENT = "socialbot (App Store Connect customer reviews)"


class AscKeyError(ValueError):
    """The App Store Connect key settings cannot sign a token."""


class AscError(Exception):
    """One failed App Store Connect call, read: what kind of failure and the words to log."""

    def __init__(self, status: int | None, detail: str, *, codes: frozenset[str] = frozenset(),
                 retry_after: float | None = None, never_sent: bool = False) -> None:
        self.status = status
        self.detail = detail[:300]
        self.codes = codes
        self.retry_after = retry_after
        self.never_sent = never_sent
        super().__init__(self.detail)

    @property
    def rate_limited(self) -> bool:
        return self.status == 429 or "RATE_LIMIT_EXCEEDED" in self.codes

    @property
    def auth(self) -> bool:
        """Credentials refused (or unusable): park, don't retry."""
        return self.status in (401, 403) and not self.rate_limited


def private_key_pem(settings: Settings) -> str:
    """The key's PEM text, from APP_STORE_PRIVATE_KEY or the file APP_STORE_PRIVATE_KEY_PATH,
    checked to be the P-256 key ES256 needs."""
    if settings.is_set(KEY_VARIABLE):
        name, text = KEY_VARIABLE, settings.secret(KEY_VARIABLE).replace("\\n", "\n").strip()
    elif settings.is_set(KEY_PATH_VARIABLE):
        name = KEY_PATH_VARIABLE
        path = Path(settings.secret(KEY_PATH_VARIABLE).strip()).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AscKeyError(f"{KEY_PATH_VARIABLE}: cannot read the key file {path}: "
                              f"{exc.strerror or exc}") from None
    else:
        raise AscKeyError(f"{KEY_VARIABLE} (or {KEY_PATH_VARIABLE}) is not set")
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise AscKeyError(f"{name}: not a PEM private key (App Store Connect → Users and "
                          "Access → Integrations → Team Keys: the AuthKey_….p8 file)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise AscKeyError(f"{name}: not an App Store Connect key (ES256 needs a P-256 EC key)")
    return text


def parse_time(value: Any) -> datetime | None:
    """Apple's ISO 8601 date-time (`2026-12-05T11:20:31-08:00`) in UTC; None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


def app_url(app_id: str) -> str:
    """The app's public page (Apple gives a review no address of its own)."""
    return f"https://apps.apple.com/app/id{app_id}?see-all=reviews"


def responses_by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The `customerReviewResponses` in `included`, by id."""
    return {str(r.get("id")): r for r in answer.get("included") or ()
            if isinstance(r, dict) and r.get("type") == "customerReviewResponses"}


def response_of(review: dict[str, Any], responses: dict[str, dict[str, Any]]
                ) -> dict[str, Any] | None:
    """The review's response resource (from `included`), None when it has none."""
    data = ((review.get("relationships") or {}).get("response") or {}).get("data")
    if isinstance(data, dict) and data.get("id"):
        return responses.get(str(data["id"])) or {"id": str(data["id"]), "attributes": {}}
    return None


class AscApi:
    """A requests session signed in with the team key, shared by the sources and the
    publisher (one token, renewed under `lock`)."""

    def __init__(self, settings: Settings, *, session: requests.Session | None = None,
                 clock: Callable[[], float] = time.time,
                 timeout: float = REQUEST_TIMEOUT) -> None:
        self._settings = settings
        self.base = settings.APP_STORE_API_URL.rstrip("/")
        self.session = session or GuardedSession(REQUEST_DEADLINE)  # a whole request ends in time
        self.session.headers["User-Agent"] = USER_AGENT
        self.clock = clock
        self.timeout = timeout
        self.lock = threading.Lock()
        self._token: tuple[str, float] | None = None  # (token, expires at)
        self.rate_limit: str = ""  # the last X-Rate-Limit header seen

    def token(self) -> str:
        """A token with at least RENEW_BEFORE seconds left; raises AscKeyError."""
        with self.lock:
            now = self.clock()
            if self._token is None or self._token[1] - now < RENEW_BEFORE:
                key_id = self._setting(KEY_ID_VARIABLE)
                issuer = self._setting(ISSUER_VARIABLE)
                pem = private_key_pem(self._settings)
                expires = int(now) + TOKEN_LIFETIME
                token = jwt.encode({"iss": issuer, "iat": int(now), "exp": expires,
                                    "aud": AUDIENCE}, pem, algorithm="ES256",
                                   headers={"kid": key_id, "typ": "JWT"})
                self._token = (token, float(expires))
            return self._token[0]

    def _setting(self, name: str) -> str:
        if not self._settings.is_set(name):
            raise AscKeyError(f"{name} is not set")
        return self._settings.secret(name).strip()

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
             body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request; the JSON answer ({} for 204). `path` is `/v1/…` or a URL Apple gave
        (`links.next`) on the same host. Raises AscError."""
        url = path if path.startswith(("http://", "https://")) else self.base + path
        if not url.startswith(self.base + "/"):
            raise AscError(None, f"refusing to send the token to {url[:80]}", never_sent=True)
        try:
            token = self.token()
        except AscKeyError as exc:
            raise AscError(401, str(exc), codes=frozenset({"KEY_SETTINGS"}),
                           never_sent=True) from None
        try:
            response = self.session.request(
                method, url, params=params, json=body, timeout=self.timeout,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        except requests.RequestException as exc:
            raise AscError(None, f"{type(exc).__name__}: {str(exc)[:200]}",
                           never_sent=connection_never_made(exc)) from exc
        self.rate_limit = response.headers.get("X-Rate-Limit", self.rate_limit)
        if response.status_code >= 400:
            raise _error_of(response)
        if response.status_code == 204 or not response.content:
            return {}
        try:
            answer = response.json()
        except ValueError:
            raise AscError(response.status_code, f"{response.status_code}: not JSON: "
                           f"{response.text[:120]!r}") from None
        return answer if isinstance(answer, dict) else {}


def _error_of(response: requests.Response) -> AscError:
    """Apple's ErrorResponse (`{"errors": [{"status", "code", "title", "detail"}]}`)."""
    codes: set[str] = set()
    words: list[str] = []
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    for item in errors if isinstance(errors, list) else ():
        if isinstance(item, dict):
            codes.add(str(item.get("code") or ""))
            words.append(str(item.get("detail") or item.get("title") or ""))
    header = response.headers.get("Retry-After", "").strip()
    retry_after = float(header) if header.isdigit() else None  # bot.domain.waits clamps it
    code_words = ", ".join(sorted(c for c in codes if c))
    text = "; ".join(w for w in words if w) or response.reason or "no message"
    status = response.status_code
    return AscError(status, f"{status}{' ' + code_words if code_words else ''}: {text}",
                    codes=frozenset(c for c in codes if c), retry_after=retry_after)
