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
it with `apply=True`; `expire_cursors()` has the `after` cursors given so far refused. Bodies follow the Threads API reference's examples. What it shares
with the fake Graph API of Facebook and Instagram is `fake_graph`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from tests.support.fake_graph import GraphFake, meta_error
from tests.support.fake_graph import graph_time as stamp

ME_ID = "26440000000000001"
ME = "acmebank"
TOKEN = "THAAfakeThreadsToken"
VERSION = "v1.0"


@dataclass
class FakeThreads(GraphFake):
    token = TOKEN
    version = VERSION
    writes = ("publish",)

    posts: list[dict[str, Any]] = field(default_factory=list)  # newest first
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 18000000000000001

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

    def _kind(self, method: str, rest: list[str]) -> tuple[str, str]:
        path = "/".join(rest)
        kind = {("GET", "me"): "me", ("GET", "me/mentions"): "mentions",
                ("GET", "me/threads"): "own",
                ("GET", "keyword_search"): "search", ("POST", "me/threads"): "create",
                ("POST", "me/threads_publish"): "publish"}.get((method, path), "")
        if not kind and method == "GET" and len(rest) == 2 and rest[1] in (
                "replies", "conversation"):
            kind = rest[1]
        return kind, path

    def _page(self, items: list[dict[str, Any]], params: dict[str, str]
              ) -> tuple[int, dict[str, Any]]:
        """Newest first unless `reverse=false`; only the `fields` asked for (and `id`)."""
        if params.get("reverse") == "false":
            items = list(reversed(items))
        wanted = {"id", *(f.split("{")[0] for f in re.split(r",(?![^{]*})",
                                                           params.get("fields", "")))}
        return super()._page([{k: v for k, v in p.items()
                              if k in wanted or k.startswith("_")} for p in items], params)

    def _me(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return 200, {"id": ME_ID, "username": ME}

    def _mentions(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page([p for p in self.posts if p["_mentions_us"]], params)

    def _own(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._since(lambda p: p["username"] == ME and not p["is_reply"], params)

    def _since(self, keep: Callable[[dict[str, Any]], bool], params: dict[str, str]
               ) -> tuple[int, dict[str, Any]]:
        """The posts `keep` keeps, at or after `since` (unix seconds) when it is given."""
        since = stamp(float(params["since"])) if params.get("since") else ""
        return self._page([p for p in self.posts if keep(p) and p["timestamp"] >= since],
                          params)

    def _conversation(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        root = rest.split("/")[0]
        if not any(p["id"] == root for p in self.posts):
            return 400, meta_error("not_found")
        return self._page([p for p in self.posts
                           if (p.get("root_post") or {}).get("id") == root], params)

    def _search(self, rest: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        q = params.get("q", "").lower()
        return self._since(lambda p: q in (p.get("text") or "").lower(), params)

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
