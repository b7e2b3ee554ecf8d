"""A fake App Store Connect API (customer reviews and their responses) on 127.0.0.1, over real
HTTP, and the team key that signs in to it.

The bot's own requests session talks to it exactly as to Apple: APP_STORE_API_URL points at
the server. Every request must carry an ES256 JWT signed with the fake's P-256 key: the fake
checks the signature with PyJWT, the header's `kid` and `alg`, the `iss`, the audience
`appstoreconnect-v1`, that it has not expired and that it lives at most 20 minutes (Apple's
rule); anything else is answered 401 NOT_AUTHORIZED.

Resources are shaped after Apple's OpenAPI spec (`CustomerReview`, `CustomerReviewResponseV1`,
`CustomerReviewsResponse` with `included`, `links.next`, `meta.paging`; ErrorResponse bodies
from tests/data/app_store/errors.json). Reviews are listed newest first (`sort=-createdDate`),
`limit` a page, `cursor` to the next one. One response per review: creating a second answers
409, as the bot must delete the first. `fail(kind, status, body, …)` answers the next `kind`
call (`list`, `get`, `create`, `delete`; `skip=n`: the one after n more) with an error, optionally after applying it
(`apply=True`: "created, answer lost"); `hold_replies` holds a create's answer (the tests
kill the bot meanwhile).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.config import Settings
from tests.support.fake_server import FakeServer, HeldReplies, read_body, send
from tests.support.paths import DATA

APP_ID = "1473827385"
KEY_ID = "2X9R4HXF34"
ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"
MAX_RESPONSE = 5970
_ROUTES = [
    ("GET", re.compile(r"^/v1/apps/(?P<app>[^/]+)/customerReviews$"), "list"),
    ("GET", re.compile(r"^/v1/customerReviews/(?P<id>[^/]+)$"), "get"),
    ("POST", re.compile(r"^/v1/customerReviewResponses$"), "create"),
    ("DELETE", re.compile(r"^/v1/customerReviewResponses/(?P<id>[^/]+)$"), "delete"),
]


def asc_body(name: str) -> dict[str, Any]:
    """A body of tests/data/app_store/, by file name without `.json`."""
    return json.loads((DATA / "app_store" / f"{name}.json").read_text(encoding="utf-8"))


def asc_error(name: str) -> dict[str, Any]:
    return asc_body("errors")[name]


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


CUPERTINO = timezone(timedelta(hours=-8))


def iso(seconds: float) -> str:
    """Apple's date-time form, in Cupertino's offset as Apple writes it."""
    return datetime.fromtimestamp(int(seconds), CUPERTINO).isoformat()


def _created(r: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(r["attributes"]["createdDate"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


def review(review_id: str, *, rating: int, body: str, created: float, title: str = "",
           nickname: str = "SamO_1987", territory: str = "GBR") -> dict[str, Any]:
    """A `CustomerReview` resource."""
    attrs: dict[str, Any] = {"rating": rating, "body": body, "reviewerNickname": nickname,
                             "createdDate": iso(created), "territory": territory}
    if title:
        attrs["title"] = title
    return {"type": "customerReviews", "id": review_id, "attributes": attrs}


@dataclass
class Failure:
    kind: str  # list | get | create | delete
    status: int
    body: dict[str, Any]
    retry_after: int | None = None
    apply: bool = False
    times: int = 1
    skip: int = 0  # let this many matching calls through first


@dataclass
class AscCall:
    kind: str
    path: str
    query: dict[str, list[str]]
    body: dict[str, Any]
    status: int


@dataclass
class FakeAppStore(HeldReplies, FakeServer):
    """`start()` it; `settings()` are the bot's settings for it, `env()` its variables."""

    methods = ("GET", "POST", "DELETE")

    reviews: list[dict[str, Any]] = field(default_factory=list)  # newest first
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)  # by review id
    calls: list[AscCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    key: ec.EllipticCurvePrivateKey = field(default_factory=new_key)
    tokens_seen: set[str] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- set up -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin + "/"

    def env(self, key: ec.EllipticCurvePrivateKey | None = None) -> dict[str, str]:
        return {"APP_STORE_KEY_ID": KEY_ID, "APP_STORE_ISSUER_ID": ISSUER_ID,
                "APP_STORE_PRIVATE_KEY": pem(key or self.key), "APP_STORE_API_URL": self.url}

    def settings(self, key: ec.EllipticCurvePrivateKey | None = None, **more: Any) -> Settings:
        return Settings(_env_file=None, **{**self.env(key), **more})

    def add(self, *reviews: dict[str, Any]) -> None:
        """Reviews just written or edited: they go to the top of the list."""
        with self._lock:
            for r in reviews:
                self.reviews = [x for x in self.reviews if x["id"] != r["id"]]
                self.reviews.insert(0, json.loads(json.dumps(r)))
            self.reviews.sort(key=_created, reverse=True)

    def load_page(self, page: dict[str, Any]) -> None:
        """The reviews and responses of a `CustomerReviewsResponse` body."""
        included = {r["id"]: r for r in page.get("included", [])}
        for r in page["data"]:
            ref = (r.get("relationships", {}).get("response") or {}).get("data")
            self.add({"type": r["type"], "id": r["id"], "attributes": r["attributes"]})
            if ref:
                self.responses[r["id"]] = json.loads(json.dumps(included[ref["id"]]))

    def edit(self, review_id: str, *, body: str, created: float, rating: int | None = None
             ) -> None:
        """The customer rewrites the review (Apple dates it anew)."""
        with self._lock:
            r = json.loads(json.dumps(self.review(review_id)))
            r["attributes"].update(body=body, createdDate=iso(created))
            if rating is not None:
                r["attributes"]["rating"] = rating
            self.add(r)

    def delete(self, review_id: str) -> None:
        with self._lock:
            self.reviews = [r for r in self.reviews if r["id"] != review_id]
            self.responses.pop(review_id, None)

    def respond(self, review_id: str, text: str, at: float, state: str = "PUBLISHED") -> str:
        """A response made elsewhere (App Store Connect's web page); its id."""
        rid = str(uuid.uuid4())
        self.responses[review_id] = {"type": "customerReviewResponses", "id": rid,
                                     "attributes": {"responseBody": text,
                                                    "lastModifiedDate": iso(at),
                                                    "state": state}}
        return rid

    def fail(self, kind: str, status: int, body: dict[str, Any], *,
             retry_after: int | None = None, apply: bool = False, times: int = 1,
             skip: int = 0) -> None:
        self.failures.append(Failure(kind, status, body, retry_after, apply, times, skip))

    def review(self, review_id: str) -> dict[str, Any] | None:
        return next((r for r in self.reviews if r["id"] == review_id), None)

    def response_text(self, review_id: str) -> str | None:
        r = self.responses.get(review_id)
        return r["attributes"]["responseBody"] if r else None

    def of_kind(self, kind: str) -> list[AscCall]:
        return [c for c in self.calls if c.kind == kind]

    # --- serving ----------------------------------------------------------------------------
    def serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        query = parse_qs(parts.query)
        raw = read_body(req).decode()
        body = json.loads(raw) if raw else {}
        kind, match = "?", None
        for verb, pattern, name in _ROUTES:
            if verb == method and (match := pattern.match(parts.path)):
                kind = name
                break
        if match is None:
            return self._send(req, kind, parts.path, query, 404, asc_error("not_found"), body)
        problem = self._token_problem(req.headers.get("Authorization", ""))
        if problem:
            answer = asc_error("not_authorized")
            answer["errors"][0]["meta"] = {"fake": problem}
            return self._send(req, kind, parts.path, query, 401, answer, body)
        failure = self._failure(kind)
        if failure is not None and not failure.apply:
            return self._send(req, kind, parts.path, query, failure.status, failure.body, body,
                              failure.retry_after)
        with self._lock:
            status, answer = getattr(self, f"_{kind}")(match, query, body)
        if kind == "create" and status == 201:
            self.applied()
        if failure is not None:
            return self._send(req, kind, parts.path, query, failure.status, failure.body, body,
                              failure.retry_after)
        return self._send(req, kind, parts.path, query, status, answer, body)

    def _token_problem(self, header: str) -> str:
        """"" when the bearer token is one Apple would take, else why not."""
        if not header.startswith("Bearer "):
            return "no bearer token"
        token = header.removeprefix("Bearer ")
        public = self.key.public_key()
        try:
            head = jwt.get_unverified_header(token)
            claims = jwt.decode(token, public, algorithms=["ES256"],
                                audience="appstoreconnect-v1", issuer=ISSUER_ID,
                                options={"verify_exp": False, "require": ["exp", "iat"]})
        except jwt.PyJWTError as exc:
            return f"bad token: {exc}"
        if head.get("kid") != KEY_ID or head.get("alg") != "ES256":
            return f"bad header {head}"
        now = self.clock()
        if claims["exp"] <= now:
            return "expired"
        if claims["exp"] - claims["iat"] > 20 * 60:
            return "lives longer than 20 minutes"
        self.tokens_seen.add(token)
        return ""

    def _failure(self, kind: str) -> Failure | None:
        with self._lock:
            for f in self.failures:
                if f.kind == kind and f.times > 0:
                    if f.skip > 0:
                        f.skip -= 1
                        return None
                    f.times -= 1
                    return f
        return None

    def _with_response(self, r: dict[str, Any]) -> dict[str, Any]:
        out = json.loads(json.dumps(r))
        link = f"{self.url}v1/customerReviews/{r['id']}"
        rel: dict[str, Any] = {"links": {"self": f"{link}/relationships/response",
                                         "related": f"{link}/response"}}
        if r["id"] in self.responses:
            rel["data"] = {"type": "customerReviewResponses",
                           "id": self.responses[r["id"]]["id"]}
        out["relationships"] = {"response": rel}
        out["links"] = {"self": link}
        return out

    def _list(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
              ) -> tuple[int, dict[str, Any]]:
        if m["app"] != APP_ID:
            return 404, asc_error("not_found")
        limit = min(int(query.get("limit", ["50"])[0]), 200)
        start = int(query.get("cursor", ["0"])[0])
        page = self.reviews[start:start + limit]
        wants = "response" in ",".join(query.get("include", []))
        answer: dict[str, Any] = {
            "data": [self._with_response(r) for r in page],
            "links": {"self": f"{self.url.rstrip('/')}{m.string}"},
            "meta": {"paging": {"total": len(self.reviews), "limit": limit}}}
        if wants:
            answer["included"] = [self.responses[r["id"]] for r in page
                                  if r["id"] in self.responses]
        if start + limit < len(self.reviews):
            rest = {k: v[0] for k, v in query.items() if k != "cursor"}
            answer["links"]["next"] = (f"{self.url.rstrip('/')}{m.string}?"
                                       + urlencode({**rest, "cursor": str(start + limit)}))
        return 200, answer

    def _get(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
             ) -> tuple[int, dict[str, Any]]:
        r = self.review(m["id"])
        if r is None:
            return 404, asc_error("not_found")
        answer: dict[str, Any] = {"data": self._with_response(r),
                                  "links": {"self": f"{self.url}v1/customerReviews/{r['id']}"}}
        if "response" in ",".join(query.get("include", [])) and r["id"] in self.responses:
            answer["included"] = [self.responses[r["id"]]]
        return 200, answer

    def _create(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
                ) -> tuple[int, dict[str, Any]]:
        data = body.get("data") or {}
        text = str((data.get("attributes") or {}).get("responseBody") or "")
        review_id = str((((data.get("relationships") or {}).get("review") or {})
                         .get("data") or {}).get("id") or "")
        if data.get("type") != "customerReviewResponses" or not text:
            return 409, asc_error("too_long")
        if self.review(review_id) is None:
            return 404, asc_error("not_found")
        if review_id in self.responses:
            return 409, asc_error("already_answered")
        if len(text.encode("utf-16-le")) // 2 > MAX_RESPONSE:
            return 409, asc_error("too_long")
        rid = self.respond(review_id, text, self.clock(), state="PENDING_PUBLISH")
        return 201, {"data": {**self.responses[review_id],
                              "relationships": {"review": {"data": {
                                  "type": "customerReviews", "id": review_id}}}},
                     "links": {"self": f"{self.url}v1/customerReviewResponses/{rid}"}}

    def _delete(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
                ) -> tuple[int, dict[str, Any]]:
        for review_id, r in list(self.responses.items()):
            if r["id"] == m["id"]:
                del self.responses[review_id]
                return 204, {}
        return 404, asc_error("not_found")

    def _send(self, req: BaseHTTPRequestHandler, kind: str, path: str,
              query: dict[str, list[str]], status: int, answer: dict[str, Any],
              body: dict[str, Any] | None = None, retry_after: int | None = None) -> None:
        self.calls.append(AscCall(kind, path, query, body or {}, status))
        data = b"" if status == 204 else json.dumps(answer).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        headers["X-Rate-Limit"] = "user-hour-lim:3600;user-hour-rem:3540;"
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        send(req, status, data, headers)
