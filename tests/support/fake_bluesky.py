"""A fake Bluesky (XRPC by NSID over `httpx.MockTransport`, the seam atproto offers) and the
Acme Bank account the Bluesky tests log in as: JWT-shaped tokens, saved session strings, a
session built on the fake, the two search pages of tests/data/bluesky."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.config import Settings
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.bluesky.client import BlueskySession, build_bluesky
from tests.support.paths import DATA

BRAND_DID = "did:plc:acmebank7x2qk4vnd3hzy5o6"
HANDLE = "acmebank.bsky.social"
BRAND = Brand(name="Acme Bank", bluesky_handle=HANDLE)
SEARCH = SourceSpec(id="bluesky", type="bluesky_search", query="acme bank", every="5m")
XRPC = "https://bsky.social/xrpc/"


def body(name: str) -> dict[str, Any]:
    """A body of tests/data/bluesky/, by file name."""
    return json.loads((DATA / "bluesky" / name).read_text())


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def jwt(exp: int, scope: str = "com.atproto.appPass") -> str:
    """A JWT-shaped token: atproto reads `exp` to decide when to refresh; nothing verifies it."""
    header = _b64({"alg": "ES256K", "typ": "at+jwt"})
    payload = _b64({"scope": scope, "sub": BRAND_DID, "iat": exp - 7200, "exp": exp,
                    "aud": "did:web:bsky.social"})
    return f"{header}.{payload}.c2lnbmF0dXJl"


def session_body(access_exp: int | None = None) -> dict[str, Any]:
    now = int(time.time())  # atproto compares token expiry with the real clock
    return {"did": BRAND_DID, "handle": HANDLE, "email": "desk@acmebank.example",
            "accessJwt": jwt(access_exp or now + 7200),
            "refreshJwt": jwt(now + 60 * 86400, "com.atproto.refresh"), "active": True}


def session_string(access_exp: int) -> str:
    s = session_body(access_exp)
    return ":::".join([HANDLE, BRAND_DID, s["accessJwt"], s["refreshJwt"], "https://bsky.social"])


class FakeBluesky:
    """Routes XRPC calls by NSID to handlers; records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Callable[[httpx.Request], httpx.Response]] = {
            "com.atproto.server.createSession": lambda r: httpx.Response(200,
                                                                          json=session_body()),
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        nsid = request.url.path.rsplit("/", 1)[-1]
        route = self.routes.get(nsid)
        if route is None:
            return httpx.Response(501, json={"error": "MethodNotImplemented",
                                             "message": f"{nsid} not served by this fake"})
        return route(request)

    def calls(self, nsid: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/" + nsid)]


def settings() -> Settings:
    return Settings(BLUESKY_HANDLE=HANDLE, BLUESKY_APP_PASSWORD="app-pass-word-1234")


def session(fake: FakeBluesky, **kw: Any) -> BlueskySession:
    return build_bluesky(settings(), transport=httpx.MockTransport(fake), **kw)


def search_pages(fake: FakeBluesky) -> None:
    def search(request: httpx.Request) -> httpx.Response:
        page = "search_posts_page2.json" if request.url.params.get("cursor") == "3" \
            else "search_posts_page1.json"
        return httpx.Response(200, json=body(page))
    fake.routes["app.bsky.feed.searchPosts"] = search
