"""A fake X API v2 on 127.0.0.1 (real HTTP): thousands of posts paged the way X pages them,
429s with hostile reset headers, and the brand's replies.

It serves what the X sources ask for: the brand's id (`/2/users/by/username/<name>`), the
mentions timeline (`/2/users/<id>/mentions`) and recent search (`/2/tweets/search/recent`),
newest first, with `since_id`, `until_id`, `start_time`, `max_results` and the page token
(`pagination_token` / `next_token`; a token is the id to continue below, so it stays valid
while new posts arrive), `includes.users` and `meta` (`newest_id`, `oldest_id`,
`result_count`, `next_token`). Recent search filters by its `query` as X does for the
operators the bot writes (tests/support/x_query.py: words, quoted phrases, `@handle`, `#tag`,
`from:`, `is:retweet`, `is:reply`, `-`, `OR`, parentheses; anything else is X's 400).
With a `clock`, each endpoint counts its requests in X's 15-minute windows (`limits`: X's
documented 450 per app) and answers 429 with `x-rate-limit-reset` past the limit, as X does;
`peak` keeps the most requests one window of each endpoint took. `POST /2/tweets` posts a reply as the brand (kept in
`replies`, not on the mentions timeline: it doesn't mention the brand). Every request is
recorded.

`client(settings)` is the real tweepy client of `bot.networks.x.client.build_x_client` with
`X_API_URL` set to this server: every byte goes over a socket. `env()` is the environment
that runs the whole bot against it (read and write keys; the access token names the brand).
`fail(status, headers=…, times=…)` answers the next requests with an error; `trickle` sends
bodies a byte at a time.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import tweepy

from bot.config import Settings
from bot.networks.x.client import build_x_client
from tests.support.fake_server import FakeServer, first_values, read_body, send_json
from tests.support.x_query import QueryError, matches

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


@dataclass
class FakeX(FakeServer):
    posts: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> tweet
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> user
    calls: list[Call] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)  # the brand's, as posted
    failures: list[Failure] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    trickle: float = 0.0  # > 0: the body is sent a byte every `trickle` seconds (slow loris)
    clock: Callable[[], float] | None = None  # epoch seconds: with it, rate limits are counted
    limits: dict[str, int] = field(default_factory=lambda: {"mentions": 450, "search": 450})
    window: float = 900.0  # X's rate-limit window, seconds
    peak: Counter[str] = field(default_factory=Counter)  # endpoint -> most requests in a window
    refused: Counter[str] = field(default_factory=Counter)  # endpoint -> 429s for the limit
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict)  # endpoint -> start, n

    # --- what the network holds --------------------------------------------------------------

    def user(self, uid: str, username: str, followers: int = 100) -> None:
        self.users[uid] = {"id": uid, "username": username, "name": username.title(),
                           "verified": False, "public_metrics": {"followers_count": followers}}

    def post(self, pid: int, text: str, author_id: str, at: datetime | None = None, *,
             replied_to: str | None = None, conversation_id: str | None = None) -> None:
        """A post on the timelines; `replied_to` (with its conversation) makes it a reply to
        the brand's post of that id."""
        tweet: dict[str, Any] = {"id": str(pid), "text": text, "author_id": author_id,
                                 "lang": "en", "conversation_id": conversation_id or str(pid),
                                 "edit_history_tweet_ids": [str(pid)]}
        if replied_to is not None:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": replied_to}]
            tweet["in_reply_to_user_id"] = BRAND_ID
        if at is not None:
            tweet["created_at"] = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        with self._lock:
            self.posts[pid] = tweet

    def fail(self, status: int, *, headers: dict[str, str] | None = None, times: int = 1) -> None:
        self.failures.append(Failure(status, headers or {}, times))

    def client(self, settings: Settings | None = None) -> tweepy.Client:
        settings = settings or Settings(_env_file=None, X_BEARER_TOKEN=BEARER)
        return build_x_client(settings.model_copy(update={"X_API_URL": self.url}))

    def env(self) -> dict[str, str]:
        return {"X_BEARER_TOKEN": BEARER, "X_API_KEY": "fake-consumer-key",
                "X_API_SECRET": "fake-consumer-secret",
                "X_ACCESS_TOKEN": f"{BRAND_ID}-fakeaccesstoken",  # X's form: <user id>-…
                "X_ACCESS_TOKEN_SECRET": "fake-access-secret", "X_API_URL": self.url}

    # --- serving -----------------------------------------------------------------------------

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        params = first_values(split.query)
        raw = read_body(handler)
        body = json.loads(raw) if raw else None
        with self._lock:
            failure = self.failures[0] if self.failures else None
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.pop(0)
        counted = None if failure is not None or body is not None else self.count(split.path)
        if counted is not None and not counted[0]:
            status, payload, headers = 429, {"title": "Too Many Requests",
                                             "status": 429}, counted[1]
        elif failure is not None:
            status, payload, headers = failure.status, {"title": "Too Many Requests" if
                                                        failure.status == 429 else "Error",
                                                        "status": failure.status}, failure.headers
        elif body is not None:
            status, payload, headers = *self.reply(split.path, body), {}
        else:
            status, payload = self.answer(split.path, params)
            headers = counted[1] if counted else {}
        with self._lock:
            self.calls.append(Call(split.path, params, status))
        if not self.trickle:
            return send_json(handler, status, payload, headers=headers,
                             content_type="application/json")
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        try:
            for i in range(len(data)):
                handler.wfile.write(data[i:i + 1])
                handler.wfile.flush()
                time.sleep(self.trickle)  # the fake's own pace: real time, on purpose
        except OSError:
            return  # the client gave up

    def count(self, path: str) -> tuple[bool, dict[str, str]] | None:
        """One request on `path`'s endpoint in its window: whether it is within the limit,
        and X's rate-limit headers; None when limits are not counted."""
        endpoint = ("mentions" if path == f"/2/users/{BRAND_ID}/mentions" else
                    "search" if path == "/2/tweets/search/recent" else None)
        if self.clock is None or endpoint is None:
            return None
        now = self.clock()
        with self._lock:
            start, used = self._windows.get(endpoint, (now, 0))
            if now >= start + self.window:
                start, used = now, 0
            limit = self.limits[endpoint]
            allowed = used < limit
            used += 1 if allowed else 0
            self._windows[endpoint] = (start, used)
            self.peak[endpoint] = max(self.peak[endpoint], used)
            if not allowed:
                self.refused[endpoint] += 1
        return allowed, {"x-rate-limit-limit": str(limit),
                         "x-rate-limit-remaining": str(limit - used),
                         "x-rate-limit-reset": str(int(start + self.window))}

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path.startswith("/2/users/by/username/"):
            return 200, {"data": {"id": BRAND_ID, "name": "Northwind Air",
                                  "username": path.rsplit("/", 1)[1]}}
        if path == f"/2/users/{BRAND_ID}/mentions":
            return 200, self.page(params)
        if path == "/2/tweets/search/recent":
            try:
                return 200, self.page(params, query=params.get("query", ""))
            except QueryError as exc:
                return 400, {"title": "Invalid Request", "status": 400, "detail": str(exc)}
        return 404, {"title": "Not Found"}

    def reply(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        if path != "/2/tweets":
            return 404, {"title": "Not Found"}
        with self._lock:
            pid = str(snowflake(datetime.now(UTC), len(self.replies) % 4096))
            self.replies.append({**body, "id": pid})
        return 201, {"data": {"id": pid, "text": body.get("text", ""),
                              "edit_history_tweet_ids": [pid]}}

    def page(self, params: dict[str, str], *, query: str | None = None) -> dict[str, Any]:
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
            if query is not None:
                ids = [i for i in ids if matches(query, self.posts[i], self.users)]
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
