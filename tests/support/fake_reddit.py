"""A fake Reddit on 127.0.0.1 (real HTTP), for the Reddit source, publisher and e2e tests.

It serves what PRAW asks for: the token endpoint (`/api/v1/access_token`), the inbox (its
username mentions, replies to the brand's comments and posts, private messages), subreddit
search, `POST /api/comment`, `POST /api/vote`, `/api/v1/me`, a
thread's replies (`/comments/<post>[/_/<comment>]`) and a user's comments — from the things it
holds, built on the recorded bodies of tests/data/reddit (PRAW's cassettes): a mention is the
first recorded inbox item with its author, body, ids and time replaced. Every answer carries
Reddit's `X-Ratelimit-*` headers (`remaining` is settable), every request is recorded.

Misbehaviour on purpose: `fail(path_prefix, status, …)` answers the next matching request with
an HTTP status (optionally after making the post: "posted, answer lost"), `refuse_token`
answers the token request with `invalid_grant`, as Reddit does (HTTP 200).
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from bot.config import Settings
from tests.support.fake_server import FakeServer, HeldReplies, first_values, read_body, send_json
from tests.support.paths import DATA

BRAND = "NorthwindAir"


def body(name: str) -> Any:
    """A recorded body of tests/data/reddit/, by file name."""
    return json.loads((DATA / "reddit" / name).read_text(encoding="utf-8"))


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class Failure:
    prefix: str
    status: int
    deliver: bool = False  # make the post, then answer with `status`
    headers: dict[str, str] = field(default_factory=dict)
    payload: Any = None


@dataclass
class FakeReddit(HeldReplies, FakeServer):
    things: dict[str, dict[str, Any]] = field(default_factory=dict)  # fullname -> data
    mentions: list[str] = field(default_factory=list)  # username mentions in the inbox
    inbox: list[str] = field(default_factory=list)  # the inbox's other items: replies, messages
    requests: list[Request] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    remaining: float = 598.0
    reset: int = 300
    refuse_token: bool = False
    account: str = BRAND
    clock: float = 1_764_000_000.0  # created_utc of the next reply we post
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _n: int = 0

    # --- what the network holds --------------------------------------------------------------

    def mention(self, cid: str, author: str, text: str, created: float, *, post: str = "p0st01",
                parent: str | None = None, subreddit: str = "travel") -> dict[str, Any]:
        """A username mention in the inbox: the recorded item with these values."""
        data = copy.deepcopy(body("inbox_mentions.json")["data"]["children"][0]["data"])
        data.update(id=cid, name=f"t1_{cid}", author=author, author_fullname=f"t2_{author[:6]}",
                    body=text, body_html="", created_utc=created, created=created,
                    parent_id=parent or f"t3_{post}", subreddit=subreddit,
                    subreddit_name_prefixed=f"r/{subreddit}", dest=self.account,
                    context=f"/r/{subreddit}/comments/{post}/a_thread/{cid}/?context=3")
        with self._lock:
            self.things[data["name"]] = data
            self.mentions.append(data["name"])
        return data

    def reply(self, cid: str, author: str, text: str, created: float, *, parent: str
              ) -> dict[str, Any]:
        """A reply to the brand's comment or post `parent`: in the inbox, not a mention."""
        with self._lock:
            above = self.things[parent]
        post = parent if parent.startswith("t3_") else str(above["link_id"])
        data = self.mention(cid, author, text, created, post=post[3:], parent=parent,
                            subreddit=str(above.get("subreddit") or "travel"))
        kind = "post_reply" if parent.startswith("t3_") else "comment_reply"
        with self._lock:
            data.update(type=kind, subject=kind.replace("_", " "))
            self.mentions.remove(data["name"])
            self.inbox.append(data["name"])
        return data

    def message(self, mid: str, author: str, subject: str, text: str, created: float
                ) -> dict[str, Any]:
        """A private message to the brand (`t4_`), in the inbox."""
        data = {"id": mid, "name": f"t4_{mid}", "author": author, "subject": subject,
                "body": text, "body_html": "", "created_utc": created, "created": created,
                "dest": self.account, "was_comment": False, "context": "", "new": True,
                "parent_id": None, "first_message_name": None, "replies": "",
                "subreddit": None, "distinguished": None}
        with self._lock:
            self.things[data["name"]] = data
            self.inbox.append(data["name"])
        return data

    def post(self, pid: str, author: str, title: str, selftext: str, created: float, *,
             subreddit: str = "travel") -> dict[str, Any]:
        """A post search can find: the recorded search result with these values."""
        data = copy.deepcopy(body("subreddit_search.json")["data"]["children"][0]["data"])
        data.update(id=pid, name=f"t3_{pid}", author=author, title=title, selftext=selftext,
                    selftext_html=None, created_utc=created, created=created,
                    subreddit=subreddit, is_self=True, num_comments=0,
                    permalink=f"/r/{subreddit}/comments/{pid}/a_post/",
                    url=f"https://www.reddit.com/r/{subreddit}/comments/{pid}/a_post/")
        with self._lock:
            self.things[data["name"]] = data
        return data

    def replies_to(self, fullname: str) -> list[dict[str, Any]]:
        with self._lock:
            return [t for t in self.things.values() if t.get("parent_id") == fullname
                    and t.get("author") == self.account]

    def calls(self, method: str, prefix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def fail(self, prefix: str, status: int, *, deliver: bool = False,
             headers: dict[str, str] | None = None, payload: Any = None) -> None:
        self.failures.append(Failure(prefix, status, deliver, headers or {}, payload))

    def settings(self, **extra: Any) -> Settings:
        return Settings(_env_file=None, REDDIT_CLIENT_ID="fake-client-id",
                        REDDIT_CLIENT_SECRET="fake-client-secret", REDDIT_USERNAME=self.account,
                        REDDIT_PASSWORD="fake-password", REDDIT_OAUTH_URL=self.url,
                        REDDIT_WWW_URL=self.url, **extra)

    # --- serving -----------------------------------------------------------------------------

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        raw = read_body(handler).decode()
        params = first_values(split.query)
        form = first_values(raw)
        path = split.path.rstrip("/") or "/"
        with self._lock:
            self.requests.append(Request(method, path, params, form, dict(handler.headers)))
            failure = next((f for f in self.failures if path.startswith(f.prefix)), None)
            if failure is not None:
                self.failures.remove(failure)
        if failure is not None and failure.deliver:
            self.answer(method, path, params, form)
        if failure is not None:
            status, payload, headers = failure.status, failure.payload or {
                "message": "failure", "error": failure.status}, failure.headers
        else:
            status, payload = self.answer(method, path, params, form)
            headers = {}
            if path == "/api/comment" and method == "POST":
                self.applied()
        if not path.startswith("/api/v1/access_token"):
            with self._lock:
                self.remaining = max(0.0, self.remaining - 1)
                used = 600 - int(self.remaining)
            headers = {"x-ratelimit-remaining": f"{self.remaining:.1f}",
                       "x-ratelimit-used": str(used), "x-ratelimit-reset": str(self.reset),
                       **headers}
        send_json(handler, status, payload, headers=headers)

    def answer(self, method: str, path: str, params: dict[str, str],
               form: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/v1/access_token":
            if self.refuse_token:
                return 200, {"error": "invalid_grant"}
            return 200, {"access_token": "fake-access-token", "token_type": "bearer",
                         "expires_in": 86400, "scope": "*"}
        if path == "/api/v1/me":
            return 200, {"name": self.account, "id": "brand01"}
        if path in ("/message/mentions", "/message/inbox"):
            with self._lock:
                names = self.mentions + (self.inbox if path == "/message/inbox" else [])
                items = [self.things[n] for n in names if n in self.things]
            return 200, self.listing(items, params)
        if path.endswith("/search") and path.startswith("/r/"):
            return 200, self.search(path.split("/")[2], params)
        if path == "/api/comment" and method == "POST":
            return 200, self.comment(form["thing_id"], form["text"])
        if path == "/api/vote" and method == "POST":
            return 200, {}
        if path.startswith("/comments/"):
            return self.thread(path)
        if path.startswith("/user/") and path.endswith("/comments"):
            author = path.split("/")[2]
            with self._lock:
                items = [t for t in self.things.values()
                         if t.get("author") == author and t["name"].startswith("t1_")]
            return 200, self.listing(items, params)
        return 404, {"message": "Not Found", "error": 404}

    def listing(self, items: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
        """Newest first, `limit` and `after` as Reddit pages."""
        items = sorted(items, key=lambda t: t["created_utc"] if isinstance(
            t["created_utc"], int | float) else 0, reverse=True)  # a hostile time: oldest
        if params.get("after"):
            names = [t["name"] for t in items]
            items = items[names.index(params["after"]) + 1:] if params["after"] in names else []
        limit = min(int(params.get("limit") or 25), 100)  # Reddit caps a page at 100
        page = items[:limit]
        return {"kind": "Listing", "data": {
            "after": page[-1]["name"] if len(items) > limit else None, "dist": len(page),
            "modhash": None, "before": None, "children": [
                {"kind": t["name"][:2], "data": t} for t in page]}}

    def search(self, where: str, params: dict[str, str]) -> dict[str, Any]:
        subs = None if where == "all" else {s.lower() for s in where.split("+")}
        words = params.get("q", "").lower().split()
        with self._lock:
            posts = [t for t in self.things.values() if t["name"].startswith("t3_")
                     and (subs is None or t["subreddit"].lower() in subs)
                     and all(w in (t["title"] + " " + t["selftext"]).lower() for w in words)]
        return self.listing(posts, params)

    def comment(self, thing_id: str, text: str) -> dict[str, Any]:
        with self._lock:
            parent = self.things.get(thing_id)
            if parent is None:
                return {"json": {"errors": [["DELETED_COMMENT", "that comment has been deleted",
                                             "parent"]]}}
            if len(text) > 10_000:
                return {"json": {"errors": [["TOO_LONG", "this is too long (max: 10000)",
                                             "text"]]}}
            self._n += 1
            self.clock += 1
            data = copy.deepcopy(body("comment_reply.json")["json"]["data"]["things"][0]["data"])
            post = thing_id if thing_id.startswith("t3_") else parent.get("link_id") or \
                "t3_" + parent["context"].split("/comments/")[1].split("/")[0]
            cid = f"br{self._n:04d}"
            data.update(id=cid, name=f"t1_{cid}", author=self.account, parent_id=thing_id,
                        link_id=post, body=text, body_html="", created_utc=self.clock,
                        created=self.clock, subreddit=parent.get("subreddit", "travel"),
                        permalink=f"/r/travel/comments/{post[3:]}/a_thread/{cid}/")
            self.things[data["name"]] = data
        return {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": data}]}}}

    def thread(self, path: str) -> tuple[int, Any]:
        parts = path.split("/")  # /comments/<post>[/_/<comment>]
        post = f"t3_{parts[2]}"
        root = f"t1_{parts[4]}" if len(parts) > 4 else None
        with self._lock:
            post_data = self.things.get(post) or {"name": post, "id": parts[2],
                                                  "title": "a thread", "created_utc": 0}
            children = [t for t in self.things.values() if t.get("parent_id") == (root or post)]
            replies = {"kind": "Listing", "data": {"children": [
                {"kind": "t1", "data": c} for c in children], "after": None, "before": None}}
            if root is not None:
                data = dict(self.things.get(root) or {"name": root, "id": parts[4]})
                data["replies"] = replies if children else ""
                comments = {"kind": "Listing", "data": {"children": [
                    {"kind": "t1", "data": data}], "after": None, "before": None}}
            else:
                comments = replies
        return 200, [{"kind": "Listing", "data": {"children": [
            {"kind": "t3", "data": post_data}], "after": None, "before": None}}, comments]
