"""`GraphClient`: Meta's Graph API (and Threads' API, the same dialect) over httpx.

- The API version is pinned in one place, `bot.config.Settings` (META_GRAPH_API_VERSION,
  THREADS_API_VERSION), and so overridable without a release when Meta retires one.
- The token goes in the `Authorization` header, not the URL, so it never lands in a log line;
  with META_APP_SECRET set every call also carries `appsecret_proof` (HMAC-SHA256 of the token),
  which Meta requires once the app turns on "Require App Secret".
- Paging follows `paging.cursors.after` while Meta says there is a `next` page.
- Every answer's usage headers go to a `UsageMeter` (`bot.networks.graph.usage`).
- Failures become one `GraphError` with what callers decide on: throttled (codes 4, 17, 32,
  613, the 80001-80014 business use case limits, HTTP 429), the token expired or revoked
  (190), permission missing (10, 200-299), the object gone (100/33, 404), and whether the
  request surely never left (a connection never made).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from bot.networks.graph.usage import UsageMeter
from bot.networks.guarded_http import REQUEST_DEADLINE, GuardedTransport

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
THROTTLE_CODES = frozenset({4, 17, 32, 613})
BUSINESS_THROTTLE = range(80001, 80015)  # Pages, Instagram, … business use case limits
TOKEN_CODES = frozenset({190, 102})  # expired, revoked, password changed, session invalid
PERMISSION_CODES = frozenset({3, 10, *range(200, 300)})
GONE = {(100, 33)}  # "Unsupported get request. Object … does not exist, cannot be loaded …"


class GraphError(Exception):
    """A Graph API failure. `status` is None when no HTTP answer came back."""

    def __init__(self, detail: str, *, status: int | None = None, code: int | None = None,
                 subcode: int | None = None, never_sent: bool = False) -> None:
        self.detail, self.status, self.code, self.subcode = detail, status, code, subcode
        self.never_sent = never_sent
        super().__init__(detail)

    @property
    def throttled(self) -> bool:
        return self.status == 429 or self.code in THROTTLE_CODES or (
            self.code is not None and self.code in BUSINESS_THROTTLE)

    @property
    def token_expired(self) -> bool:
        return self.code in TOKEN_CODES

    @property
    def denied(self) -> bool:
        """Missing permission or refused credentials (not a throttle, not a gone object)."""
        if self.throttled or self.gone:
            return False
        return self.token_expired or self.code in PERMISSION_CODES or self.status in (401, 403)

    @property
    def gone(self) -> bool:
        return (self.code, self.subcode) in GONE or self.status == 404

    @property
    def cursor_refused(self) -> bool:
        """Meta refused an `after` cursor (one it gave that has expired, or an edge that
        changed under it): `(#2642) Invalid cursors values`, or a code 100 naming the cursor."""
        return self.status == 400 and (self.code == 2642 or (
            self.code == 100 and "cursor" in self.detail.lower()))

    @property
    def client_error(self) -> bool:
        """Meta refused this request as it is (too long, blocked as spam…): nothing was made."""
        return self.status is not None and 400 <= self.status < 500


def graph_time(value: Any) -> datetime | None:
    """Meta's times, `2026-12-05T20:41:07+0000`, as an aware datetime; None when missing or
    unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def graph_error(response: httpx.Response) -> GraphError:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(f"HTTP {response.status_code}", status=response.status_code)
    code, subcode = error.get("code"), error.get("error_subcode")
    message = str(error.get("error_user_msg") or error.get("message") or "")[:300]
    return GraphError(f"{message} (code {code}{f'/{subcode}' if subcode else ''}, "
                      f"HTTP {response.status_code})",
                      status=response.status_code,
                      code=code if isinstance(code, int) else None,
                      subcode=subcode if isinstance(subcode, int) else None)


class GraphClient:
    """One token's view of one Graph host: `https://graph.facebook.com/v23.0/…`."""

    def __init__(self, base_url: str, version: str, token: str, *, app_secret: str | None = None,
                 http: httpx.Client | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.root = f"{base_url.rstrip('/')}/{version.strip('/')}/"
        self.token = token
        self.proof = (hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
                      if app_secret else None)
        self.http = http or httpx.Client(timeout=TIMEOUT,  # and a whole request in time
                                         transport=GuardedTransport(REQUEST_DEADLINE))
        self.clock = clock
        self.usage = UsageMeter()

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._call("GET", path, params=params)

    def post(self, path: str, **data: Any) -> dict[str, Any]:
        """A form-encoded POST, as Meta's documentation sends them."""
        return self._call("POST", path, data={k: _form(v) for k, v in data.items()})

    def pages(self, path: str, *, max_pages: int, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """The `data` of each page of an edge, at most `max_pages` of them."""
        after: str | None = None
        for _ in range(max_pages):
            items, after = self.page(path, after, **params)
            yield items
            if after is None:
                return

    def page(self, path: str, after: str | None, **params: Any
             ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of an edge from the `after` cursor (None: the first): its `data`, and the
        cursor to the next page while Meta says there is one (None: the last)."""
        body = self.get(path, **params, **({"after": after} if after else {}))
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        return ([x for x in body.get("data") or () if isinstance(x, dict)],
                str(after) if paging.get("next") and after else None)

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              data: dict[str, str] | None = None) -> dict[str, Any]:
        query = dict(params or {})
        if self.proof:
            query["appsecret_proof"] = self.proof
        try:
            response = self.http.request(method, self.root + path.lstrip("/"), params=query,
                                         data=data,
                                         headers={"Authorization": f"OAuth {self.token}"})
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise GraphError(f"could not connect: {type(exc).__name__}", never_sent=True
                             ) from exc
        except httpx.HTTPError as exc:  # read timeout, dropped connection: it may have landed
            raise GraphError(f"no answer: {type(exc).__name__}: {exc}") from exc
        self.usage.update(response.headers, self.clock())
        if response.status_code >= 400:
            raise graph_error(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise GraphError(f"an answer that is not JSON (HTTP {response.status_code})",
                             status=response.status_code) from exc
        if not isinstance(body, dict):
            raise GraphError("an answer that is not a JSON object", status=response.status_code)
        return body


def _form(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
