"""A fake Google Play Developer API (androidpublisher v3 reviews) and its OAuth token endpoint
on 127.0.0.1, over real HTTP, and the service-account key that signs in to it.

google-api-python-client talks to it through httplib2 exactly as to Google: the key's
`token_uri` points at `/token` (google-auth posts its signed JWT there; the fake checks the
signature with the key's public half), GOOGLE_PLAY_API_URL at the server. The fake keeps the
reviews (newest change first, as Google lists them), applies `:reply` (one developer comment
per review, replaced by a later reply) and can misbehave: `fail(kind, status, body, …)` answers
the next `kind` call (`list`, `get`, `reply`, `token`) with an error, optionally after applying
it (`apply=True`: "replied, answer lost").
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import exceptions as auth_exceptions
from google.auth import jwt

from bot.config import Settings
from tests.support.fake_server import FakeServer, HeldReplies, first_values, read_body, send_json
from tests.support.paths import DATA

PACKAGE = "com.acmebank.mobile"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # what google-auth signs for
_PATH = re.compile(r"^/androidpublisher/v3/applications/(?P<pkg>[^/]+)/reviews"
                   r"(?:/(?P<id>[^/:]+)(?P<reply>:reply)?)?$")


def play_body(name: str) -> dict[str, Any]:
    """A body of tests/data/google_play/, by file name without `.json`."""
    return json.loads((DATA / "google_play" / f"{name}.json").read_text(encoding="utf-8"))


def play_error_body(name: str) -> dict[str, Any]:
    return play_body("errors")[name]


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@dataclass
class Failure:
    kind: str  # list | get | reply | token
    status: int
    body: dict[str, Any]
    retry_after: int | None = None
    apply: bool = False  # reply: store the reply, then fail the answer
    times: int = 1


@dataclass
class PlayCall:
    kind: str
    path: str
    body: dict[str, Any]
    status: int


@dataclass
class FakeGooglePlay(HeldReplies, FakeServer):
    """`start()` it; `settings()` are the bot's settings for it."""

    reviews: list[dict[str, Any]] = field(default_factory=list)  # newest change first
    calls: list[PlayCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    key: rsa.RSAPrivateKey = field(default_factory=new_private_key)
    tokens_issued: int = 0
    page_tokens: int = 0  # generation of the page tokens honoured: `expire_page_tokens()`
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # --- set up -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.origin + "/"

    def key_info(self, key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
        """The service-account key file's JSON (signed with `key`, default the fake's own)."""
        return {"type": "service_account", "project_id": "acme-care",
                "private_key_id": "0123456789abcdef", "private_key": pem(key or self.key),
                "client_email": "socialbot@acme-care.iam.gserviceaccount.com",
                "client_id": "100000000000000000001", "token_uri": self.url + "token"}

    def settings(self, key: rsa.RSAPrivateKey | None = None, **more: Any) -> Settings:
        return Settings(_env_file=None,
                        GOOGLE_PLAY_SERVICE_ACCOUNT_JSON=json.dumps(self.key_info(key)),
                        GOOGLE_PLAY_API_URL=self.url, **more)

    def add(self, *reviews: dict[str, Any]) -> None:
        """Reviews just written or changed: they go to the top of the list."""
        with self._lock:
            for review in reviews:
                self.reviews = [r for r in self.reviews if r["reviewId"] != review["reviewId"]]
                self.reviews.insert(0, json.loads(json.dumps(review)))

    def delete(self, review_id: str) -> None:
        with self._lock:
            self.reviews = [r for r in self.reviews if r["reviewId"] != review_id]

    def fail(self, kind: str, status: int, body: dict[str, Any], *, retry_after: int | None = None,
             apply: bool = False, times: int = 1) -> None:
        self.failures.append(Failure(kind, status, body, retry_after, apply, times))

    def expire_page_tokens(self) -> None:
        """The page tokens given so far are refused from now on (new ones are honoured)."""
        self.page_tokens += 1

    def review(self, review_id: str) -> dict[str, Any] | None:
        return next((r for r in self.reviews if r["reviewId"] == review_id), None)

    def developer_comment(self, review_id: str) -> dict[str, Any] | None:
        review = self.review(review_id) or {}
        return next((c["developerComment"] for c in review.get("comments", [])
                     if "developerComment" in c), None)

    def of_kind(self, kind: str) -> list[PlayCall]:
        return [c for c in self.calls if c.kind == kind]

    # --- serving ----------------------------------------------------------------------------
    def serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        raw = read_body(req).decode()
        if method == "POST" and parts.path == "/token":
            return self._token(req, raw)
        m = _PATH.match(parts.path)
        if m is None:
            return self._send(req, "?", parts.path, 404, {"error": {"code": 404,
                                                                    "message": "no route"}})
        kind = "reply" if m["reply"] else "get" if m["id"] else "list"
        body = json.loads(raw) if raw else {}
        if req.headers.get("Authorization", "") != f"Bearer ya29.fake-{self.tokens_issued}":
            return self._send(req, kind, parts.path, 401,
                              play_error_body("unauthenticated"), body)
        failure = self._failure(kind)
        if failure is not None and not failure.apply:
            return self._send(req, kind, parts.path, failure.status, failure.body, body,
                              failure.retry_after)
        with self._lock:
            status, answer = getattr(self, f"_{kind}")(m, parse_qs(parts.query), body)
        if kind == "reply" and status == 200:
            self.applied()
        if failure is not None:
            return self._send(req, kind, parts.path, failure.status, failure.body, body,
                              failure.retry_after)
        return self._send(req, kind, parts.path, status, answer, body)

    def _failure(self, kind: str) -> Failure | None:
        with self._lock:
            for f in self.failures:
                if f.kind == kind and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def _token(self, req: BaseHTTPRequestHandler, raw: str) -> None:
        form = first_values(raw)
        failure = self._failure("token")
        if failure is not None:
            return self._send(req, "token", "/token", failure.status, failure.body, form)
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        try:
            claims = jwt.decode(form.get("assertion", ""), certs=public,
                                audience=GOOGLE_TOKEN_AUDIENCE)
        except (ValueError, auth_exceptions.GoogleAuthError):
            return self._send(req, "token", "/token", 400, play_error_body("invalid_grant"),
                              form)
        assert claims["scope"] == "https://www.googleapis.com/auth/androidpublisher"
        with self._lock:
            self.tokens_issued += 1
            token = f"ya29.fake-{self.tokens_issued}"
        return self._send(req, "token", "/token", 200,
                          {"access_token": token, "expires_in": 3599, "token_type": "Bearer"},
                          form)

    def _list(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
              ) -> tuple[int, dict[str, Any]]:
        size = int(query.get("maxResults", ["10"])[0])
        token = query.get("token", [""])[0]
        if token and token.split(".")[0] != str(self.page_tokens):
            return 400, {"error": {"code": 400, "message": "Invalid pagination token.",
                                   "status": "INVALID_ARGUMENT"}}
        start = int(token.split(".")[-1]) if token else 0
        page = self.reviews[start:start + size]
        answer: dict[str, Any] = {"reviews": page} if page else {}
        answer["pageInfo"] = {"totalResults": len(self.reviews), "resultPerPage": len(page),
                              "startIndex": start}
        if start + size < len(self.reviews):
            answer["tokenPagination"] = {"nextPageToken": f"{self.page_tokens}.{start + size}"}
        return 200, answer

    def _get(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
             ) -> tuple[int, dict[str, Any]]:
        review = self.review(unquote(m["id"]))
        return (200, review) if review else (404, play_error_body("not_found"))

    def _reply(self, m: re.Match[str], query: dict[str, list[str]], body: dict[str, Any]
               ) -> tuple[int, dict[str, Any]]:
        review = self.review(unquote(m["id"]))
        if review is None:
            return 404, play_error_body("not_found")
        text = str(body.get("replyText", ""))
        if len(text.encode("utf-16-le")) // 2 > 350:
            return 400, play_error_body("too_long")
        now = self.clock()
        stamp = {"seconds": str(int(now)), "nanos": 0}
        review["comments"] = [c for c in review["comments"] if "developerComment" not in c]
        review["comments"].append({"developerComment": {"text": text, "lastModified": stamp}})
        return 200, {"result": {"replyText": text, "lastEdited": stamp}}

    def _send(self, req: BaseHTTPRequestHandler, kind: str, path: str, status: int,
              answer: dict[str, Any], body: dict[str, Any] | None = None,
              retry_after: int | None = None) -> None:
        self.calls.append(PlayCall(kind, path, body or {}, status))
        send_json(req, status, answer,
                  headers={} if retry_after is None else {"Retry-After": str(retry_after)})
