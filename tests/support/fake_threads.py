"""A fake Threads API (graph.threads.net) on 127.0.0.1, over real HTTP.

THREADS_API_URL points here; the version segment must be THREADS_API_VERSION's and the token
must come in the `Authorization` header (else Meta's error 190). It keeps posts (newest
first), which of them mention the account, and replies (each with `is_reply`, and on a reply
`replied_to{id}` and `root_post{id}`, the thread's first post); serves `/me`, `/me/mentions`,
`/me/threads` (the account's own top-level posts, `since` honoured), `/keyword_search` (a
case-insensitive substring, `since` honoured), `/{id}/replies` (top-level replies) and
`/{id}/conversation` (every reply at any depth), both newest first unless `reverse=false`;
only the `fields` asked for are sent (`id` alone when none are, as Graph does); makes reply
containers (`POST /me/threads`) and publishes them (`POST /me/threads_publish`: the reply then
exists under its parent). `fail(kind, …)` answers the next `kind` call (`me`, `mentions`,
`own`, `search`, `replies`, `conversation`, `create`, `publish`) with an error, after applying
it with `apply=True`. Bodies follow the Threads API reference's examples.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from bot.config import Settings
from tests.support.fake_meta import Failure, MetaCall, graph_page, meta_error, take_failure
from tests.support.fake_server import FakeServer, HeldReplies, first_values, read_body, send_json

ME_ID = "26440000000000001"
ME = "acmebank"
TOKEN = "THAAfakeThreadsToken"
VERSION = "v1.0"


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class FakeThreads(HeldReplies, FakeServer):
    posts: list[dict[str, Any]] = field(default_factory=list)  # newest first
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[MetaCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    next_id: int = 18000000000000001
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def env(self) -> dict[str, str]:
        return {"THREADS_ACCESS_TOKEN": TOKEN, "THREADS_API_URL": self.url,
                "THREADS_API_VERSION": VERSION}

    def settings(self, **more: Any) -> Settings:
        return Settings(_env_file=None, **{**self.env(), **more})

    def post(self, post_id: str, username: str, text: str | None, at: float, *,
             mentions_us: bool = False, private: bool = False, parent: str | None = None
             ) -> str:
        """A post, or (`parent`) a reply; `private`: Threads lists it without text or link (a
        private profile)."""
        p: dict[str, Any] = {"id": post_id, "username": username, "timestamp": stamp(at),
                             "media_type": "TEXT_POST", "is_reply": False,
                             "_mentions_us": mentions_us}
        if parent is not None:
            with self._lock:
                p.update(self._answering(parent))
        if not private:
            p["text"] = text
            p["permalink"] = f"https://www.threads.net/@{username}/post/{post_id[-6:]}"
        with self._lock:
            self.posts.insert(0, p)
            self.posts.sort(key=lambda x: x["timestamp"], reverse=True)
        return post_id

    def _answering(self, parent: str) -> dict[str, Any]:
        """A reply's fields: its parent, and the root its parent has (or is)."""
        above = next(p for p in self.posts if p["id"] == parent)
        root = (above.get("root_post") or {}).get("id", parent)
        return {"is_reply": True, "replied_to": {"id": parent}, "root_post": {"id": root}}

    def replies_by_us(self, parent: str) -> list[dict[str, Any]]:
        return [p for p in self.posts if p["username"] == ME
                and (p.get("replied_to") or {}).get("id") == parent]

    def fail(self, kind: str, status: int, body: dict[str, Any], *, apply: bool = False,
             times: int = 1) -> None:
        self.failures.append(Failure(kind, status, body, apply, times))

    def of_kind(self, kind: str) -> list[MetaCall]:
        return [c for c in self.calls if c.kind == kind]

    def serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        raw = read_body(req).decode()
        params = first_values(parts.query)
        params.update(first_values(raw))
        seg = [s for s in parts.path.split("/") if s]
        if not seg or seg[0] != VERSION:
            return self._send(req, "?", parts.path, params, 400, meta_error("not_found"))
        rest = "/".join(seg[1:])
        kind = {("GET", "me"): "me", ("GET", "me/mentions"): "mentions",
                ("GET", "me/threads"): "own",
                ("GET", "keyword_search"): "search", ("POST", "me/threads"): "create",
                ("POST", "me/threads_publish"): "publish"}.get((method, rest), "")
        if not kind and method == "GET" and rest.endswith("/replies"):
            kind = "replies"
        if not kind and method == "GET" and rest.endswith("/conversation"):
            kind = "conversation"
        if req.headers.get("Authorization", "") != f"OAuth {TOKEN}":
            return self._send(req, kind, parts.path, params, 400, meta_error("invalid_token"))
        failure = self._failure(kind)
        if failure is not None and not failure.apply:
            return self._send(req, kind, parts.path, params, failure.status, failure.body)
        with self._lock:
            status, answer = getattr(self, f"_{kind}")(rest, params) if kind else (
                400, meta_error("not_found"))
        if kind == "publish" and status == 200:
            self.applied()
        if failure is not None:
            return self._send(req, kind, parts.path, params, failure.status, failure.body)
        return self._send(req, kind, parts.path, params, status, answer)

    def _failure(self, kind: str) -> Failure | None:
        with self._lock:
            return take_failure(self.failures, kind)

    def _page(self, items: list[dict[str, Any]], params: dict[str, str]
              ) -> tuple[int, dict[str, Any]]:
        if params.get("reverse") == "false":  # chronological; Threads' default is newest first
            items = list(reversed(items))
        wanted = {"id", *(f.split("{")[0] for f in re.split(r",(?![^{]*})",
                                                           params.get("fields", "")))}
        return 200, graph_page([{k: v for k, v in p.items() if k in wanted or k.startswith("_")}
                                for p in items], params, f"{self.url}/{VERSION}/next")

    def _me(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return 200, {"id": ME_ID, "username": ME}

    def _mentions(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page([p for p in self.posts if p["_mentions_us"]], params)

    def _own(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        since = stamp(float(params["since"])) if params.get("since") else ""
        return self._page([p for p in self.posts if p["username"] == ME and not p["is_reply"]
                           and p["timestamp"] >= since], params)

    def _conversation(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        root = rest.split("/")[0]
        if not any(p["id"] == root for p in self.posts):
            return 400, meta_error("not_found")
        return self._page([p for p in self.posts
                           if (p.get("root_post") or {}).get("id") == root], params)

    def _search(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        q = params.get("q", "").lower()
        since = stamp(float(params["since"])) if params.get("since") else ""
        return self._page([p for p in self.posts if q in (p.get("text") or "").lower()
                           and p["timestamp"] >= since], params)

    def _replies(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parent = rest.split("/")[0]
        if not any(p["id"] == parent for p in self.posts):
            return 400, meta_error("not_found")
        return self._page([p for p in self.posts
                           if (p.get("replied_to") or {}).get("id") == parent], params)

    def _create(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        text = params.get("text", "")
        if len(text) > 500:
            return 400, {"error": {"message": "Param text must be at most 500 characters "
                                   "long.", "type": "THApiException", "code": 100}}
        if not any(p["id"] == params.get("reply_to_id") for p in self.posts):
            return 400, meta_error("not_found")
        self.next_id += 1
        self.containers[str(self.next_id)] = {"text": text, "reply_to": params["reply_to_id"]}
        return 200, {"id": str(self.next_id)}

    def _publish(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        container = self.containers.pop(params.get("creation_id", ""), None)
        if container is None:
            return 400, {"error": {"message": "The media container was not found or has "
                                   "expired", "type": "THApiException", "code": 24,
                                   "error_subcode": 4279009}}
        self.next_id += 1
        reply_id = str(self.next_id)
        self.posts.insert(0, {"id": reply_id, "username": ME, "text": container["text"],
                              "timestamp": stamp(self.clock()), "media_type": "TEXT_POST",
                              **self._answering(container["reply_to"]),
                              "permalink": f"https://www.threads.net/@{ME}/post/"
                                           f"{reply_id[-6:]}",
                              "_mentions_us": False})
        return 200, {"id": reply_id}

    def _send(self, req: BaseHTTPRequestHandler, kind: str, path: str, params: dict[str, str],
              status: int, answer: dict[str, Any]) -> None:
        self.calls.append(MetaCall(kind, path, params, status))
        send_json(req, status, answer)
