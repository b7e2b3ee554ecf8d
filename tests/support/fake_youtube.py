"""A fake YouTube Data API v3 on 127.0.0.1 (real HTTP) and Google's OAuth token endpoint, for
the YouTube source, publisher and e2e tests.

Served: `POST /token` (refresh-token grant), `GET /youtube/v3/commentThreads`
(`allThreadsRelatedToChannelId`, newest thread first, up to 5 replies inline, `pageToken`
paging; or `id=a,b,…`, those threads), `GET /youtube/v3/comments?parentId=` (a thread's replies), `POST
/youtube/v3/comments` (a reply; 50 units) and `GET /youtube/v3/channels?mine=true`. Resources
are written by hand after the schemas of the discovery document shipped with
google-api-python-client (`youtube.v3.json`: `CommentThread`, `Comment`, `CommentSnippet`),
errors in Google's JSON error format with the documented reasons (`quotaExceeded`,
`commentNotFound`, `invalid_grant`).

Quota: every call adds its units to `units`; past `quota`, calls answer 403 `quotaExceeded`.
`fail(prefix, status, reason, deliver=…)` answers the next matching request with an error
(optionally after making the reply: "posted, answer lost"); after
`expire_page_tokens()` the page tokens given before are answered 400 "invalid page token"; `refuse_token` answers the token
request with `invalid_grant` ("Token has been expired or revoked.").
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.config import Settings
from tests.support.fake_server import FakeServer, HeldReplies, first_values, read_body, send_json

CHANNEL = "UCnorthwindAir0000000001"  # the brand's channel (24 characters, as YouTube's)
UNITS = {"GET": 1, "POST": 50}


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class Failure:
    prefix: str
    status: int
    reason: str
    deliver: bool = False


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeYouTube(HeldReplies, FakeServer):
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> thread
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # thread -> replies
    requests: list[Request] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    units: int = 0
    quota: int = 10_000
    refuse_token: bool = False
    page_tokens: int = 0  # generation of the page tokens honoured: `expire_page_tokens()`
    clock: float = 1_764_000_000.0  # publishedAt of our next reply
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _n: int = 0

    # --- what the channel holds --------------------------------------------------------------

    @staticmethod
    def comment(cid: str, author: str, text: str, at: float, *, video: str,
                parent: str | None = None, channel: str | None = None) -> dict[str, Any]:
        author_channel = channel or f"UC{author[:8]:_<8}00000000000000"
        snippet: dict[str, Any] = {
            "channelId": CHANNEL, "videoId": video, "textDisplay": text, "textOriginal": text,
            "authorDisplayName": f"@{author}", "authorProfileImageUrl": "",
            "authorChannelUrl": f"http://www.youtube.com/channel/{author_channel}",
            "authorChannelId": {"value": author_channel}, "canRate": True,
            "viewerRating": "none", "likeCount": 0, "publishedAt": stamp(at),
            "updatedAt": stamp(at)}
        if parent:
            snippet["parentId"] = parent
        return {"kind": "youtube#comment", "etag": f"e-{cid}", "id": cid, "snippet": snippet}

    def thread(self, tid: str, author: str, text: str, at: float, *,
               video: str = "vNorthwnd01") -> dict[str, Any]:
        top = self.comment(tid, author, text, at, video=video)
        thread = {"kind": "youtube#commentThread", "etag": f"t-{tid}", "id": tid, "snippet": {
            "channelId": CHANNEL, "videoId": video, "topLevelComment": top, "canReply": True,
            "totalReplyCount": 0, "isPublic": True}}
        with self._lock:
            self.threads[tid] = thread
            self.replies[tid] = []
        return thread

    def reply_in(self, tid: str, rid: str, author: str, text: str, at: float, *,
                 channel: str | None = None) -> dict[str, Any]:
        video = self.threads[tid]["snippet"]["videoId"]
        reply = self.comment(f"{tid}.{rid}", author, text, at, video=video, parent=tid,
                             channel=channel)
        with self._lock:
            self.replies[tid].append(reply)
        return reply

    def ours(self, tid: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.replies.get(tid, [])
                    if r["snippet"]["authorChannelId"]["value"] == CHANNEL]

    def calls(self, method: str, prefix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def expire_page_tokens(self) -> None:
        """The page tokens given so far are refused from now on (new ones are honoured)."""
        self.page_tokens += 1

    def fail(self, prefix: str, status: int, reason: str = "backendError", *,
             deliver: bool = False) -> None:
        self.failures.append(Failure(prefix, status, reason, deliver))

    def settings(self, **extra: Any) -> Settings:
        return Settings(_env_file=None, YOUTUBE_CLIENT_ID="fake-id.apps.googleusercontent.com",
                        YOUTUBE_CLIENT_SECRET="fake-client-secret",
                        YOUTUBE_REFRESH_TOKEN="1//fake-refresh-token", YOUTUBE_API_URL=self.url + "/",
                        YOUTUBE_TOKEN_URL=self.url + "/token", **extra)

    # --- serving -----------------------------------------------------------------------------

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        raw = read_body(handler).decode()
        params = first_values(split.query)
        body: Any = json.loads(raw) if raw.startswith("{") else parse_qs(raw)
        path = split.path
        with self._lock:
            self.requests.append(Request(method, path, params, body,
                                         {k.lower(): v for k, v in handler.headers.items()}))
            failure = next((f for f in self.failures if path.startswith(f.prefix)), None)
            if failure is not None:
                self.failures.remove(failure)
        if path == "/token":
            status, payload = self.token()
        elif failure is not None:
            if failure.deliver:
                self.answer(method, path, params, body)
            status, payload = failure.status, error(failure.status, failure.reason)
        elif self.units + UNITS[method] > self.quota:
            status, payload = 403, error(403, "quotaExceeded", "youtube.quota")
        else:
            with self._lock:
                self.units += UNITS[method]
            status, payload = self.answer(method, path, params, body)
            if path == "/youtube/v3/comments" and method == "POST" and status == 200:
                self.applied()
        send_json(handler, status, payload)

    def token(self) -> tuple[int, Any]:
        if self.refuse_token:
            return 400, {"error": "invalid_grant",
                         "error_description": "Token has been expired or revoked."}
        return 200, {"access_token": "ya29.fake-access-token", "expires_in": 3599,
                     "scope": "https://www.googleapis.com/auth/youtube.force-ssl",
                     "token_type": "Bearer"}

    def answer(self, method: str, path: str, params: dict[str, str],
               body: Any) -> tuple[int, Any]:
        if path == "/youtube/v3/commentThreads" and method == "GET":
            if not fresh(params.get("pageToken"), self.page_tokens):
                return 400, error(400, "badRequest", "global",
                                  "The request specifies an invalid page token.")
            return 200, self.list_threads(params)
        if path == "/youtube/v3/comments" and method == "GET":
            with self._lock:
                items = list(self.replies.get(params.get("parentId", ""), []))
            return 200, page("youtube#commentListResponse", items, params, self.page_tokens)
        if path == "/youtube/v3/comments" and method == "POST":
            return self.insert(body)
        if path == "/youtube/v3/channels":
            return 200, {"kind": "youtube#channelListResponse", "items": [
                {"kind": "youtube#channel", "etag": "c", "id": CHANNEL}]}
        return 404, error(404, "notFound")

    def list_threads(self, params: dict[str, str]) -> dict[str, Any]:
        wanted = set(params["id"].split(",")) if params.get("id") else None
        if wanted is None and params.get("allThreadsRelatedToChannelId") != CHANNEL:
            return error(404, "channelNotFound")
        with self._lock:
            threads = sorted((t for t in self.threads.values()
                              if wanted is None or t["id"] in wanted), reverse=True,
                             key=lambda t: t["snippet"]["topLevelComment"]["snippet"]
                             ["publishedAt"])
            out = []
            for t in threads:
                replies = sorted(self.replies[t["id"]], reverse=True,
                                 key=lambda r: r["snippet"]["publishedAt"])
                t = {**t, "snippet": {**t["snippet"], "totalReplyCount": len(replies)}}
                if replies:
                    t["replies"] = {"comments": replies[:5]}
                out.append(t)
        return page("youtube#commentThreadListResponse", out, params, self.page_tokens)

    def insert(self, body: Any) -> tuple[int, Any]:
        snippet = body.get("snippet", {}) if isinstance(body, dict) else {}
        parent, text = snippet.get("parentId", ""), snippet.get("textOriginal", "")
        with self._lock:
            if parent not in self.threads:
                return 404, error(404, "parentCommentNotFound")
            if len(text) > 10_000:
                return 400, error(400, "commentTextTooLong")
            self._n += 1
            self.clock += 1
        return 200, self.reply_in(parent, f"brand{self._n:03d}", "NorthwindAir", text,
                                  self.clock, channel=CHANNEL)


def fresh(token: str | None, generation: int) -> bool:
    """A page token of the current generation (`<generation>.<index>`; plain at 0), or none."""
    return not token or (token.split(".")[0] == str(generation) if generation else
                         "." not in token)


def page(kind: str, items: list[dict[str, Any]], params: dict[str, str], generation: int = 0
         ) -> dict[str, Any]:
    start = int((params.get("pageToken") or "0").split(".")[-1])
    size = min(int(params.get("maxResults") or 20), 100)
    out: dict[str, Any] = {"kind": kind, "etag": "p", "pageInfo": {
        "totalResults": len(items), "resultsPerPage": size},
        "items": items[start:start + size]}
    if start + size < len(items):
        out["nextPageToken"] = f"{generation}.{start + size}" if generation else str(start + size)
    return out


def error(status: int, reason: str, domain: str = "youtube.commentThread",
          message: str | None = None) -> dict[str, Any]:
    message = message or {"quotaExceeded": "The request cannot be completed because you have "
                          "exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>."
                          }.get(reason, reason)
    return {"error": {"code": status, "message": message, "errors": [
        {"message": message, "domain": domain, "reason": reason}]}}
