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
of Meta's Graph API reference (tests/data/meta/). What it shares with the fake Threads API
(the request's checks, scripted failures, paging, the calls recorded) is `fake_graph`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from tests.support.fake_graph import GraphFake, graph_time, meta_body, meta_error

__all__ = ["IG_USER_ID", "PAGE_ID", "TOKEN", "VERSION", "FakeMeta", "meta_body", "meta_error"]

PAGE_ID = "104123456789012"
IG_USER_ID = "17841400000000001"  # the Page's linked Instagram professional account
IG_USERNAME = "acmebank"
PAGE_NAME = "Acme Bank"
TOKEN = "EAAGfakePageToken"
VERSION = "v23.0"


@dataclass
class FakeMeta(GraphFake):
    """`start()` it; `settings()` are the bot's settings for it."""

    token = TOKEN
    version = VERSION
    writes = ("reply", "ig_reply")

    posts: list[dict[str, Any]] = field(default_factory=list)  # the Page's feed, newest first
    tagged: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)  # newest first; `_post` key
    ig_media: list[dict[str, Any]] = field(default_factory=list)  # the account's, newest first
    ig_tags: list[dict[str, Any]] = field(default_factory=list)  # media tagging the account
    ig_comments: list[dict[str, Any]] = field(default_factory=list)  # newest first; `_media`
    # Comments elsewhere that @mention the account (read through `mentioned_comment`), and
    # the ids of those on private accounts (Meta won't show them).
    ig_mentions: dict[str, dict[str, Any]] = field(default_factory=dict)
    ig_private: set[str] = field(default_factory=set)
    app_secret: str | None = None
    next_id: int = 900000000000001

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

    # --- the Instagram account's content ------------------------------------------------
    def ig_post(self, media_id: str, caption: str, at: float, *,
                by: str | None = None) -> str:
        """A media of the account, or (`by` a username) someone else's media tagging it."""
        media = {"id": media_id, "caption": caption, "timestamp": graph_time(at),
                 "permalink": f"https://www.instagram.com/p/{media_id[-6:]}/",
                 "username": by or IG_USERNAME, "comments_count": 0}
        with self._lock:
            (self.ig_tags if by else self.ig_media).insert(0, media)
        return media_id

    def ig_comment(self, media_id: str, comment_id: str, text: str, at: float, *,
                   by: tuple[str, str] = ("17841455555555555", "dana.w"),
                   parent: str | None = None, hidden: bool = False) -> str:
        c: dict[str, Any] = {"id": comment_id, "text": text, "timestamp": graph_time(at),
                             "username": by[1], "from": {"id": by[0], "username": by[1]},
                             "hidden": hidden, "_media": media_id}
        if parent:
            c["parent_id"] = parent
        with self._lock:
            self.ig_comments.insert(0, c)
            self.ig_comments.sort(key=lambda x: x["timestamp"], reverse=True)
            for m in self.ig_media:
                if m["id"] == media_id:
                    m["comments_count"] += 1
        return comment_id

    def ig_find(self, object_id: str) -> dict[str, Any] | None:
        return next((x for x in self.ig_media + self.ig_tags + self.ig_comments
                     if x["id"] == object_id), None)

    def ig_replies_by_account(self, under: str) -> list[dict[str, Any]]:
        return [c for c in self.ig_comments if c["from"]["id"] == IG_USER_ID
                and c.get("parent_id") == under]

    def delete(self, object_id: str) -> None:
        with self._lock:
            self.posts = [p for p in self.posts if p["id"] != object_id]
            self.tagged = [p for p in self.tagged if p["id"] != object_id]
            self.comments = [c for c in self.comments
                             if c["id"] != object_id and c["_post"] != object_id]
            self.ig_media = [m for m in self.ig_media if m["id"] != object_id]
            self.ig_comments = [c for c in self.ig_comments
                                if c["id"] != object_id and c["_media"] != object_id]

    def find(self, object_id: str) -> dict[str, Any] | None:
        return next((x for x in self.posts + self.tagged + self.comments
                     if x["id"] == object_id), None)

    def replies_by_page(self, under: str) -> list[dict[str, Any]]:
        return [c for c in self.comments if (c.get("from") or {}).get("id") == PAGE_ID
                and (c.get("parent") or {}).get("id", c["_post"]) == under]

    # --- serving ----------------------------------------------------------------------------
    def _refused(self, params: dict[str, str]) -> dict[str, Any] | None:
        if not self.app_secret:
            return None
        proof = hmac.new(self.app_secret.encode(), TOKEN.encode(), hashlib.sha256).hexdigest()
        return None if params.get("appsecret_proof") == proof else {"error": {
            "message": "Invalid appsecret_proof provided in the API argument",
            "type": "GraphMethodException", "code": 100}}

    def _kind(self, method: str, rest: list[str]) -> tuple[str, str]:
        obj = rest[0] if rest else ""
        edge = rest[1] if len(rest) > 1 else ""
        if obj == IG_USER_ID or self.ig_find(obj) is not None:
            if method == "GET":
                return {"media": "ig_media", "tags": "ig_tags", "comments": "ig_comments",
                        "replies": "ig_replies"}.get(edge, "ig_object"), obj
            return ("ig_reply" if edge == "replies" else "ig_hide"), obj
        if method == "GET":
            return {"feed": "feed", "tagged": "tagged", "comments": "comments"}.get(
                edge, "object"), obj
        return {"comments": "reply", "likes": "like"}.get(edge, "hide"), obj

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

    def _ig_media(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page(self.ig_media, params)

    def _ig_tags(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page(self.ig_tags, params)

    def _ig_comments(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Top-level comments, newest first, each with its `replies` (as `fields=replies{…}`
        asks)."""
        top = []
        for c in self.ig_comments:
            if c["_media"] == obj and "parent_id" not in c:
                replies = [self._public(r) for r in self.ig_comments
                           if r.get("parent_id") == c["id"]]
                top.append({**c, "replies": {"data": replies}} if replies else c)
        return self._page(top, params)

    def _ig_replies(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        return self._page([c for c in self.ig_comments if c.get("parent_id") == obj], params)

    def _ig_object(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if obj == IG_USER_ID:  # `mentioned_comment.comment_id(X){…}` / `mentioned_media…`
            m = re.match(r"mentioned_(comment|media)\.(?:comment|media)_id\((\d+)\)",
                         params.get("fields", ""))
            if m is None:
                return 200, {"id": IG_USER_ID, "username": IG_USERNAME}
            if m[2] in self.ig_private or m[2] not in self.ig_mentions:
                return 400, {"error": {"message": "(#10) Application does not have "
                                       "permission for this action", "type": "OAuthException",
                                       "code": 10, "fbtrace_id": "FbIgPriv10"}}
            return 200, {f"mentioned_{m[1]}": self.ig_mentions[m[2]], "id": IG_USER_ID}
        found = self.ig_find(obj)
        return (200, self._public(found)) if found else (400, meta_error("not_found"))

    def _ig_reply(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        target = self.ig_find(obj)
        if target is None or "_media" not in target:
            return 400, meta_error("not_found")
        message = params.get("message", "")
        if len(message) > 2200:
            return 400, {"error": {"message": "(#100) The comment is too long.",
                                   "type": "OAuthException", "code": 100}}
        self.next_id += 1
        reply = {"id": str(self.next_id), "text": message,
                 "timestamp": graph_time(self.clock()), "username": IG_USERNAME,
                 "from": {"id": IG_USER_ID, "username": IG_USERNAME}, "hidden": False,
                 "_media": target["_media"], "parent_id": target.get("parent_id", obj)}
        self.ig_comments.insert(0, reply)
        return 200, {"id": reply["id"]}

    def _ig_hide(self, obj: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        target = self.ig_find(obj)
        if target is None or "_media" not in target:
            return 400, meta_error("not_found")
        target["hidden"] = params.get("hide") == "true"
        return 200, {"success": True}

