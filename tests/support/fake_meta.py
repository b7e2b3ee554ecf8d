"""A fake Meta Graph API (Facebook Pages) on 127.0.0.1, over real HTTP.

The bot's httpx client talks to it exactly as to graph.facebook.com: META_GRAPH_API_URL points
here, the version segment is checked against META_GRAPH_API_VERSION, the token must come in
the `Authorization: OAuth …` header (anything else is Meta's error 190), and `appsecret_proof`
is checked when the fake has an app secret. It keeps a Page's posts (its own and visitors'),
the posts tagging it and their comments; lists them newest first with cursor paging; applies
`POST /{id}/comments` (as the Page), `/{id}/likes` and `is_hidden`; sends the usage headers
it is given; and can misbehave: `fail(kind, status, body, …)` answers the next `kind` call
(`feed`, `tagged`, `comments`, `object`, `reply`, `like`, `hide`) with Meta's error body,
optionally after applying it (`apply=True`: "replied, answer lost"). Bodies follow the shapes
of Meta's Graph API reference (tests/data/meta/).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.config import Settings
from tests.support.paths import DATA

PAGE_ID = "104123456789012"
PAGE_NAME = "Acme Bank"
TOKEN = "EAAGfakePageToken"
VERSION = "v23.0"


def meta_body(name: str) -> dict[str, Any]:
    return json.loads((DATA / "meta" / f"{name}.json").read_text(encoding="utf-8"))


def meta_error(name: str) -> dict[str, Any]:
    return meta_body("errors")[name]


def graph_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclass
class Failure:
    kind: str
    status: int
    body: dict[str, Any]
    apply: bool = False
    times: int = 1


@dataclass
class MetaCall:
    kind: str
    path: str
    params: dict[str, str]
    status: int


@dataclass
class FakeMeta:
    """`start()` it; `settings()` are the bot's settings for it."""

    posts: list[dict[str, Any]] = field(default_factory=list)  # the Page's feed, newest first
    tagged: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)  # newest first; `_post` key
    calls: list[MetaCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    usage: dict[str, str] = field(default_factory=dict)  # headers sent with every answer
    clock: Callable[[], float] = time.time
    app_secret: str | None = None
    hold_replies: threading.Event | None = None
    reply_applied: threading.Event = field(default_factory=threading.Event)
    next_id: int = 900000000000001
    _lock: threading.RLock = field(default_factory=threading.RLock)

    def start(self) -> FakeMeta:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.handle(self, "GET")

            def do_POST(self) -> None:
                fake.handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        out = {"META_PAGE_ACCESS_TOKEN": TOKEN, "META_GRAPH_API_URL": self.url,
               "META_GRAPH_API_VERSION": VERSION}
        if self.app_secret:
            out["META_APP_SECRET"] = self.app_secret
        return out

    def settings(self, **more: Any) -> Settings:
        return Settings(_env_file=None, **{**self.env(), **more})

    # --- the Page's content ---------------------------------------------------------------
    def post(self, number: str, message: str, at: float, *, by: tuple[str, str] | None = None,
             tagged: bool = False) -> str:
        """A post on the Page (by the Page unless `by` = (id, name)), or tagging it."""
        author_id, name = by or (PAGE_ID, PAGE_NAME)
        post_id = f"{PAGE_ID}_{number}" if not tagged else f"{author_id}_{number}"
        post = {"id": post_id, "message": message, "created_time": graph_time(at),
                "updated_time": graph_time(at), "from": {"name": name, "id": author_id},
                "permalink_url": f"https://www.facebook.com/{post_id.replace('_', '/posts/')}",
                "is_hidden": False}
        with self._lock:
            (self.tagged if tagged else self.posts).insert(0, post)
        return post_id

    def comment(self, post_id: str, number: str, message: str, at: float, *,
                by: tuple[str, str] | None = ("6201234567890123", "Dana Whitfield"),
                parent: str | None = None, hidden: bool = False) -> str:
        """A comment (or, with `parent`, a reply) on a post; `by=None`: Meta withholds who."""
        comment_id = f"{post_id.split('_')[-1]}_{number}"
        c: dict[str, Any] = {"id": comment_id, "message": message,
                             "created_time": graph_time(at), "is_hidden": hidden,
                             "_post": post_id}
        if by is not None:
            c["from"] = {"id": by[0], "name": by[1]}
        if parent:
            c["parent"] = {"id": parent}
        with self._lock:
            self.comments.insert(0, c)
            self.comments.sort(key=lambda x: x["created_time"], reverse=True)
            for p in self.posts + self.tagged:
                if p["id"] == post_id:
                    p["updated_time"] = max(p["updated_time"], c["created_time"])
        return comment_id

    def delete(self, object_id: str) -> None:
        with self._lock:
            self.posts = [p for p in self.posts if p["id"] != object_id]
            self.tagged = [p for p in self.tagged if p["id"] != object_id]
            self.comments = [c for c in self.comments
                             if c["id"] != object_id and c["_post"] != object_id]

    def fail(self, kind: str, status: int, body: dict[str, Any], *, apply: bool = False,
             times: int = 1) -> None:
        self.failures.append(Failure(kind, status, body, apply, times))

    def find(self, object_id: str) -> dict[str, Any] | None:
        return next((x for x in self.posts + self.tagged + self.comments
                     if x["id"] == object_id), None)

    def replies_by_page(self, under: str) -> list[dict[str, Any]]:
        return [c for c in self.comments if (c.get("from") or {}).get("id") == PAGE_ID
                and (c.get("parent") or {}).get("id", c["_post"]) == under]

    def of_kind(self, kind: str) -> list[MetaCall]:
        return [c for c in self.calls if c.kind == kind]

    # --- serving ----------------------------------------------------------------------------
    def handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length).decode() if length else ""
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        params.update({k: v[0] for k, v in parse_qs(raw).items()})
        segments = [s for s in parts.path.split("/") if s]
        if not segments or segments[0] != VERSION:
            return self._send(req, "?", parts.path, params, 400, {"error": {
                "message": f"Unknown path components: {parts.path}", "code": 2500,
                "type": "OAuthException"}})
        kind, obj = self._kind(method, segments[1:])
        auth = req.headers.get("Authorization", "")
        if auth != f"OAuth {TOKEN}":
            return self._send(req, kind, parts.path, params, 400, meta_error("invalid_token"))
        if self.app_secret:
            proof = hmac.new(self.app_secret.encode(), TOKEN.encode(),
                             hashlib.sha256).hexdigest()
            if params.get("appsecret_proof") != proof:
                return self._send(req, kind, parts.path, params, 400, {"error": {
                    "message": "Invalid appsecret_proof provided in the API argument",
                    "type": "GraphMethodException", "code": 100}})
        failure = self._failure(kind)
        if failure is not None and not failure.apply:
            return self._send(req, kind, parts.path, params, failure.status, failure.body)
        with self._lock:
            status, answer = getattr(self, f"_{kind}")(obj, params)
        if kind == "reply" and status == 200:
            self.reply_applied.set()
            if self.hold_replies is not None:
                self.hold_replies.wait(timeout=30)
        if failure is not None:
            return self._send(req, kind, parts.path, params, failure.status, failure.body)
        return self._send(req, kind, parts.path, params, status, answer)

    @staticmethod
    def _kind(method: str, rest: list[str]) -> tuple[str, str]:
        obj = rest[0] if rest else ""
        edge = rest[1] if len(rest) > 1 else ""
        if method == "GET":
            return {"feed": "feed", "tagged": "tagged", "comments": "comments"}.get(
                edge, "object"), obj
        return {"comments": "reply", "likes": "like"}.get(edge, "hide"), obj

    def _failure(self, kind: str) -> Failure | None:
        with self._lock:
            for f in self.failures:
                if f.kind == kind and f.times > 0:
                    f.times -= 1
                    return f
        return None

    def _page(self, items: list[dict[str, Any]], params: dict[str, str]
              ) -> tuple[int, dict[str, Any]]:
        size = int(params.get("limit", "25"))
        start = int(params.get("after", "0") or 0)
        page = [{k: v for k, v in x.items() if not k.startswith("_")}
                for x in items[start:start + size]]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + size)}}
        if start + size < len(items):
            paging["next"] = f"{self.url}/{VERSION}/next?after={start + size}"
        return 200, {"data": page, "paging": paging}

    def _feed(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page(self.posts, params) if obj == PAGE_ID else (
            400, meta_error("not_found"))

    def _tagged(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page(self.tagged, params) if obj == PAGE_ID else (
            400, meta_error("not_found"))

    def _comments(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if self.find(obj) is None:
            return 400, meta_error("not_found")
        under = [c for c in self.comments
                 if c["_post"] == obj or (c.get("parent") or {}).get("id") == obj]
        if params.get("filter") != "stream":  # Meta's default, toplevel: no replies
            under = [c for c in under if "parent" not in c or c["parent"]["id"] == obj]
        if params.get("order") == "chronological":
            under = list(reversed(under))
        return self._page(under, params)

    def _object(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        found = self.find(obj)
        if found is None:
            return 400, meta_error("not_found")
        return 200, {k: v for k, v in found.items() if not k.startswith("_")}

    def _reply(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        target = self.find(obj)
        if target is None:
            return 400, meta_error("not_found")
        message = params.get("message", "")
        if not message:
            return 400, {"error": {"message": "(#100) Missing message or attachment",
                                   "type": "OAuthException", "code": 100}}
        if len(message) > 8000:
            return 400, meta_error("too_long")
        post_id = target.get("_post") or target["id"]
        self.next_id += 1
        comment_id = f"{post_id.split('_')[-1]}_{self.next_id}"
        reply = {"id": comment_id, "message": message, "created_time": graph_time(self.clock()),
                 "from": {"id": PAGE_ID, "name": PAGE_NAME}, "is_hidden": False,
                 "_post": post_id}
        if "_post" in target:
            reply["parent"] = {"id": target["id"]}
        self.comments.insert(0, reply)
        return 200, {"id": comment_id}

    def _like(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        target = self.find(obj)
        if target is None:
            return 400, meta_error("not_found")
        target["_liked"] = True
        return 200, {"success": True}

    def _hide(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        target = self.find(obj)
        if target is None:
            return 400, meta_error("not_found")
        if "_post" not in target:
            return 400, {"error": {"message": "(#100) Param is_hidden is not supported for "
                                   "posts", "type": "OAuthException", "code": 100}}
        target["is_hidden"] = params.get("is_hidden") == "true"
        return 200, {"success": True}

    def _send(self, req: BaseHTTPRequestHandler, kind: str, path: str, params: dict[str, str],
              status: int, answer: dict[str, Any]) -> None:
        self.calls.append(MetaCall(kind, path, params, status))
        data = json.dumps(answer).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json; charset=UTF-8")
        req.send_header("Content-Length", str(len(data)))
        for name, value in self.usage.items():
            req.send_header(name, value)
        req.end_headers()
        with contextlib.suppress(OSError):  # the client is gone (killed while we held on)
            req.wfile.write(data)
