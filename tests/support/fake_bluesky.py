"""A fake Bluesky PDS on 127.0.0.1 (real HTTP: XRPC by NSID under `/xrpc/`) and the Acme Bank
account the Bluesky tests log in as: JWT-shaped tokens, saved session strings, a session built
on the fake (`BLUESKY_API_URL` is the fake; a saved session names it as its PDS), the two
search pages of tests/data/bluesky, and a search over posts added as the test goes.

A route takes the request as an `httpx.Request` (the URL, headers and body the server read
off the socket) and gives the answer as an `httpx.Response`, which is written back; or
`STALL` (no answer until the fake stops: the client's read timeout fires) or `DROP` (the
connection is closed without a status line)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from bot.config import Settings
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.bluesky.client import BlueskySession, build_bluesky
from tests.support.fake_server import FakeServer, drop, read_body, send
from tests.support.paths import DATA

BRAND_DID = "did:plc:acmebank7x2qk4vnd3hzy5o6"
HANDLE = "acmebank.bsky.social"
BRAND = Brand(name="Acme Bank", bluesky_handle=HANDLE)
SEARCH = SourceSpec(id="bluesky", type="bluesky_search", query="acme bank", every="5m")
STALL = httpx.Response(599)  # markers a route returns, never sent as they are
DROP = httpx.Response(599)
Route = Callable[[httpx.Request], httpx.Response]


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


def session_string(access_exp: int, pds: str) -> str:
    """A saved session whose PDS (where atproto sends everything after importing it) is `pds`."""
    s = session_body(access_exp)
    return ":::".join([HANDLE, BRAND_DID, s["accessJwt"], s["refreshJwt"], pds])


class FakeBluesky(FakeServer):
    """Routes XRPC calls by NSID to handlers; records every request. `start()` it."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Route] = {
            "com.atproto.server.createSession": lambda r: httpx.Response(200,
                                                                          json=session_body()),
        }

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        request = httpx.Request(method, self.url + handler.path, content=read_body(handler),
                                headers=list(handler.headers.items()))
        self.requests.append(request)
        nsid = request.url.path.rsplit("/", 1)[-1]
        route = self.routes.get(nsid)
        answer = route(request) if route else httpx.Response(
            501, json={"error": "MethodNotImplemented",
                       "message": f"{nsid} not served by this fake"})
        if answer is STALL:
            self.stopped.wait()
        if answer is STALL or answer is DROP:
            return drop(handler)
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        send(handler, answer.status_code, answer.read(), headers)

    def calls(self, nsid: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/" + nsid)]

    def settings(self) -> Settings:
        return Settings(_env_file=None, BLUESKY_HANDLE=HANDLE,
                        BLUESKY_APP_PASSWORD="app-pass-word-1234", BLUESKY_API_URL=self.url)


def session(fake: FakeBluesky, **kw: Any) -> BlueskySession:
    """A session on the fake through the bot's own `build_bluesky` (its guarded transport)."""
    return build_bluesky(fake.settings(), **kw)


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def search_posts(fake: FakeBluesky) -> Callable[[str, str, str, float], str]:
    """`searchPosts` over posts added as the test goes: `post(rkey, handle, text, at)` adds
    one (the first recorded search result with these values) and gives its uri. Newest
    first, `limit` a page; the cursor names the last post given, so it stays valid while
    newer posts arrive."""
    template = body("search_posts_page1.json")["posts"][0]
    posts: list[dict[str, Any]] = []
    lock = threading.Lock()

    def post(rkey: str, handle: str, text: str, at: float) -> str:
        did = f"did:plc:{handle.split('.')[0]}"
        p = {**template, "uri": f"at://{did}/app.bsky.feed.post/{rkey}", "indexedAt": _stamp(at),
             "author": {**template["author"], "did": did, "handle": handle},
             "record": {**template["record"], "createdAt": _stamp(at), "text": text}}
        with lock:
            posts.append(p)
        return str(p["uri"])

    def search(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        limit = int(request.url.params.get("limit", "25"))
        with lock:
            newest = sorted(posts, key=lambda p: (p["indexedAt"], p["uri"]), reverse=True)
        if cursor:
            at, uri = cursor.split("|", 1)
            newest = [p for p in newest if (p["indexedAt"], p["uri"]) < (at, uri)]
        page = newest[:limit]
        more = {"cursor": f"{page[-1]['indexedAt']}|{page[-1]['uri']}"} \
            if len(newest) > limit else {}
        return httpx.Response(200, json={"posts": page, **more})

    fake.routes["app.bsky.feed.searchPosts"] = search
    return post


def search_pages(fake: FakeBluesky) -> None:
    def search(request: httpx.Request) -> httpx.Response:
        page = "search_posts_page2.json" if request.url.params.get("cursor") == "3" \
            else "search_posts_page1.json"
        return httpx.Response(200, json=body(page))
    fake.routes["app.bsky.feed.searchPosts"] = search
