"""A fake X API v2 on 127.0.0.1 (real HTTP), for storms and faults that `responses` can't play:
thousands of posts paged the way X pages them, 429s with hostile reset headers.

It serves what the X sources ask for: the brand's id (`/2/users/by/username/<name>`), the
mentions timeline (`/2/users/<id>/mentions`) and recent search (`/2/tweets/search/recent`),
newest first, with `since_id`, `until_id`, `start_time`, `max_results` and the page token
(`pagination_token` / `next_token`; a token is the id to continue below, so it stays valid
while new posts arrive), `includes.users` and `meta` (`newest_id`, `oldest_id`,
`result_count`, `next_token`). Every request is recorded.

`client(settings)` is the real tweepy client of `bot.networks.x.client.build_x_client`, its
session's `https://api.twitter.com` mounted on this server: every byte goes over a socket.
`fail(status, headers=…, times=…)` answers the next requests with an error; `trickle` sends
bodies a byte at a time.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import tweepy

from bot.config import Settings
from bot.networks.guarded_http import GuardedAdapter
from bot.networks.x.client import build_x_client

BRAND = "NorthwindAir"
BRAND_ID = "1400000000000000001"
BEARER = "AAAAAAAAAAAAAAAAAAAAAFakeStormBearer%2BT0ken%3DNotARealSecretXyZ123"
_SNOWFLAKE_EPOCH_MS = 1288834974657


def snowflake(at: datetime, seq: int = 0) -> int:
    """An X id minted at `at` (ids sort by time, as X's do)."""
    return ((int(at.timestamp() * 1000) - _SNOWFLAKE_EPOCH_MS) << 22) + seq


@dataclass
class Call:
    path: str
    params: dict[str, str]
    status: int


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class ToFake(GuardedAdapter):
    """Sends requests for X's host to the fake instead (same path and query), through the
    bot's own guarded transport."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.url = self.base + (request.url or "").split("api.twitter.com", 1)[1]
        return super().send(request, **kwargs)


@dataclass
class FakeX:
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> tweet
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> user
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    url: str = ""
    trickle: float = 0.0  # > 0: the body is sent a byte every `trickle` seconds (slow loris)

    # --- what the network holds --------------------------------------------------------------

    def user(self, uid: str, username: str, followers: int = 100) -> None:
        self.users[uid] = {"id": uid, "username": username, "name": username.title(),
                           "verified": False, "public_metrics": {"followers_count": followers}}

    def post(self, pid: int, text: str, author_id: str, at: datetime | None = None) -> None:
        tweet: dict[str, Any] = {"id": str(pid), "text": text, "author_id": author_id,
                                 "lang": "en", "conversation_id": str(pid),
                                 "edit_history_tweet_ids": [str(pid)]}
        if at is not None:
            tweet["created_at"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with self._lock:
            self.posts[pid] = tweet

    def fail(self, status: int, *, headers: dict[str, str] | None = None, times: int = 1) -> None:
        self.failures.append(Failure(status, headers or {}, times))

    def client(self, settings: Settings | None = None) -> tweepy.Client:
        client = build_x_client(settings or Settings(_env_file=None, X_BEARER_TOKEN=BEARER))
        client.session.mount("https://api.twitter.com/", ToFake(self.url))
        return client

    # --- serving -----------------------------------------------------------------------------

    def start(self) -> FakeX:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake.serve(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(split.query).items()}
        with self._lock:
            failure = self.failures[0] if self.failures else None
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.pop(0)
        if failure is not None:
            status, payload, headers = failure.status, {"title": "Too Many Requests" if
                                                        failure.status == 429 else "Error",
                                                        "status": failure.status}, failure.headers
        else:
            status, payload = self.answer(split.path, params)
            headers = {}
        with self._lock:
            self.calls.append(Call(split.path, params, status))
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        if not self.trickle:
            handler.wfile.write(data)
            return
        try:
            for i in range(len(data)):
                handler.wfile.write(data[i:i + 1])
                handler.wfile.flush()
                time.sleep(self.trickle)  # the fake's own pace: real time, on purpose
        except OSError:
            return  # the client gave up

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path.startswith("/2/users/by/username/"):
            return 200, {"data": {"id": BRAND_ID, "name": "Northwind Air",
                                  "username": path.rsplit("/", 1)[1]}}
        if path == f"/2/users/{BRAND_ID}/mentions" or path == "/2/tweets/search/recent":
            return 200, self.page(params)
        return 404, {"title": "Not Found"}

    def page(self, params: dict[str, str]) -> dict[str, Any]:
        since = int(params.get("since_id") or 0)
        until = int(params.get("until_id") or 1 << 63)
        token = params.get("pagination_token") or params.get("next_token")
        if token:
            until = min(until, int(token))
        start = params.get("start_time")
        floor = snowflake(datetime.fromisoformat(start.replace("Z", "+00:00"))) if start else 0
        size = min(int(params.get("max_results") or 10), 100)
        with self._lock:
            ids = sorted((i for i in self.posts if since < i < until and i >= floor),
                         reverse=True)
            page = [self.posts[i] for i in ids[:size]]
            users = {p["author_id"]: self.users[p["author_id"]] for p in page
                     if p["author_id"] in self.users}
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
        if len(ids) > size:
            meta["next_token"] = page[-1]["id"]
        body: dict[str, Any] = {"meta": meta}
        if page:
            body.update(data=page, includes={"users": list(users.values())})
        return body
