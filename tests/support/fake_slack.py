"""A small fake of Slack's Web API on 127.0.0.1, for the end-to-end, integration and fault tests.

It records every call (method, form/JSON params) and answers like Slack does for the methods the
bot uses. `SLACK_API_URL` points slack-sdk at it; `response_url`s in payloads point at `/respond/…`.

Beyond recording, it keeps what was posted (per channel, with metadata and threads) so
`conversations.history` / `conversations.replies` can answer, and it can misbehave on purpose:

- `rate_limit_posts(per_second, burst)`: Slack's per-channel limit on `chat.postMessage`, a token
  bucket per channel answering HTTP 429 + `Retry-After` (whole seconds) when it is empty;
- `fail(method, …)`: scripted failures — an HTTP status (5xx, 429), an `ok: false` error code,
  a dropped connection, optionally after the message was stored ("posted, answer lost");
- `outage(method, while_, …)`: the same failure for every call while `while_()` is true (an
  incident of a given length on the test's clock), after the scripted ones.
  `files.completeUploadExternal` can be "shared, answer lost" too, and `upload` (the POST of a
  file's bytes) can fail with an HTTP status.

A completed upload is shared like Slack does it: a message carrying the file (`files`: id,
name, title) in the channel, or in the thread of `thread_ts`.

`channels` is what `conversations.list` lists (Slack's channel objects: `id`, `name`,
`is_private`, `is_archived`), `list_page_size` forces its paging below the asked `limit`.

`ts_clock` (epoch seconds) stamps messages with times a test controls; without it ts values
are the historical `1700000000.000001`, `…002`, …
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from itertools import count

from tests.support.fake_server import FakeServer, first_values, read_body, send, send_json

BOT_USER, BOT_ID = "U0BOT", "B0BOT"


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage") or "respond"
    params: dict
    headers: dict
    status: int = 200  # the HTTP status the fake answered with
    error: str | None = None  # the `error` of an `ok: false` answer, or "dropped"
    at: float = 0.0  # time.monotonic() when the request arrived


@dataclass
class Failure:
    """One scripted misbehaviour, used by the next matching call."""

    method: str
    status: int = 500  # HTTP status; 200 with `error` set means Slack's `ok: false`
    error: str = "internal_error"
    retry_after: int | None = None  # seconds, sent as the Retry-After header
    channel: str | None = None  # only calls for this channel match
    # chat.postMessage / files.completeUploadExternal: store/share anyway, then fail the answer
    deliver: bool = False
    drop: bool = False  # close the connection without answering


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class FakeSlack(FakeServer):
    calls: list[Call] = field(default_factory=list)
    ts_clock: Callable[[], float] | None = None
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ts: count = field(default_factory=lambda: count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _last_us: int = 0
    # channel -> messages in posting order (thread replies included, marked by thread_ts)
    messages: dict[str, list[dict]] = field(default_factory=dict)
    _failures: list[Failure] = field(default_factory=list)
    _outages: list[tuple[Callable[[], bool], Failure]] = field(default_factory=list)
    _rate: tuple[float, float, Callable[[], float]] | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    channels: list[dict] = field(default_factory=list)  # what conversations.list lists
    users: list[dict] = field(default_factory=list)  # what users.list lists (Slack's members)
    # files_upload_v2: file id -> {"filename", "length", "data", "channel", "title",
    # "thread_ts", "initial_comment", "completed"}
    uploads: dict[str, dict] = field(default_factory=dict)
    list_page_size: int | None = None

    methods = ("POST",)

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        data_in = read_body(handler)
        if handler.path.startswith("/upload/"):  # files_upload_v2 step 2: raw bytes
            self._upload_bytes(handler, handler.path.split("?")[0].rsplit("/", 1)[-1], data_in,
                               arrived)
            return
        raw = data_in.decode()
        if "json" in (handler.headers.get("Content-Type") or ""):
            params = json.loads(raw or "{}")
        else:
            params = first_values(raw)
        path = handler.path.split("?")[0]
        method = "respond" if path.startswith("/respond/") else path.rsplit("/", 1)[-1]
        status, body, headers = self.handle(method, params)
        error = "dropped" if body is None else body.get("error")
        with self._changed:
            self.calls.append(Call(method, params, dict(handler.headers), status, error,
                                   arrived))
            self._changed.notify_all()
        if body is None:  # the request was read, no answer is ever written
            handler.close_connection = True
            return
        send_json(handler, status, body, headers=headers, content_type="application/json")

    @property
    def url(self) -> str:
        return self.origin + "/"

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    # --- misbehaviour ----------------------------------------------------------------------

    def rate_limit_posts(self, per_second: float = 1.0, burst: int = 3,
                         clock: Callable[[], float] = time.monotonic) -> FakeSlack:
        """Enforce Slack's per-channel `chat.postMessage` limit from now on."""
        with self._lock:
            self._rate = (per_second, float(burst), clock)
            self._buckets.clear()
        return self

    def fail(self, method: str, *, times: int = 1, **how: object) -> FakeSlack:
        """Script `times` failures of `method` (see `Failure` for `how`)."""
        with self._lock:
            self._failures.extend(Failure(method, **how) for _ in range(times))  # type: ignore[arg-type]
        return self

    def outage(self, method: str, while_: Callable[[], bool], **how: object) -> FakeSlack:
        """Every call of `method` fails as `how` says while `while_()` is true."""
        with self._lock:
            self._outages.append((while_, Failure(method, **how)))  # type: ignore[arg-type]
        return self

    # --- answers ---------------------------------------------------------------------------

    def handle(self, method: str, params: dict) -> tuple[int, dict | None, dict]:
        """(HTTP status, JSON body or None to drop the connection, extra headers)."""
        with self._lock:
            failure = self._take_failure(method, params)
            if failure is None and method == "chat.postMessage":
                wait = self._rate_wait(str(params.get("channel")))
                if wait:
                    return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(wait)}
            if failure is None:
                return 200, self.answer(method, params), {}
            if failure.deliver and method in ("chat.postMessage", "files.completeUploadExternal"):
                self.answer(method, params)  # stored: it is in the channel, the answer is lost
            if failure.drop:
                return 0, None, {}
            headers = {} if failure.retry_after is None else {
                "Retry-After": str(failure.retry_after)}
            return failure.status, {"ok": False, "error": failure.error}, headers

    def _take_failure(self, method: str, params: dict) -> Failure | None:
        for i, f in enumerate(self._failures):
            if f.method == method and f.channel in (None, params.get("channel")):
                return self._failures.pop(i)
        for while_, f in self._outages:
            if f.method == method and f.channel in (None, params.get("channel")) and while_():
                return f
        return None

    def _rate_wait(self, channel: str) -> int:
        """0 when a post to `channel` is allowed now (and takes a token), else whole seconds
        until it would be (Slack's Retry-After is an integer)."""
        if self._rate is None:
            return 0
        rate, burst, clock = self._rate
        now = clock()
        b = self._buckets.setdefault(channel, _Bucket(burst, now))
        b.tokens, b.at = min(burst, b.tokens + (now - b.at) * rate), now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0
        return max(1, math.ceil((1 - b.tokens) / rate))

    def answer(self, method: str, params: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "socialbot",
                    "team_id": "T111", "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"),
                    "ts": self._store(params), "message": {"text": params.get("text")}}
        if method == "chat.update":
            ts = params.get("ts") or self._next_ts()
            for msg in self.messages.get(str(params.get("channel")), []):
                if msg["ts"] == ts:
                    msg.update({k: params[k] for k in ("text", "blocks") if k in params})
            return {"ok": True, "channel": params.get("channel"), "ts": ts}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "conversations.open":
            users = str(params.get("users") or "")
            return {"ok": True, "channel": {"id": "D" + users.replace(",", "")}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, params)
        if method == "conversations.list":
            return self._list(params)
        if method == "users.list":
            return {"ok": True, "members": self.users, "response_metadata": {"next_cursor": ""}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.uploads) + 1:09d}"
            self.uploads[file_id] = {"filename": params.get("filename"),
                                     "length": int(params.get("length") or 0), "data": None,
                                     "completed": False}
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}upload/{file_id}"}
        if method == "files.completeUploadExternal":
            return self._complete_upload(params)
        return {"ok": True}

    def _upload_bytes(self, handler: BaseHTTPRequestHandler, file_id: str, data: bytes,
                      arrived: float) -> None:
        """The POST of a file's bytes to the URL files.getUploadURLExternal handed out."""
        with self._lock:
            known = file_id in self.uploads
            failure = self._take_failure("upload", {})
            if known and failure is None:
                self.uploads[file_id]["data"] = data
        status = failure.status if failure is not None else 200 if known else 404
        with self._changed:
            self.calls.append(Call("upload", {"file_id": file_id, "bytes": len(data)},
                                   dict(handler.headers), status, None, arrived))
            self._changed.notify_all()
        send(handler, status, f"OK - {len(data)}".encode(), {"Content-Type": "text/plain"})

    def _complete_upload(self, params: dict) -> dict:
        files = params.get("files")
        files = json.loads(files) if isinstance(files, str) else (files or [])
        done = []
        for f in files:
            up = self.uploads.get(str(f.get("id")))
            if up is None or up["data"] is None:
                return {"ok": False, "error": "invalid_file"}
            up.update(completed=True, title=f.get("title"), channel=params.get("channel_id"),
                      thread_ts=params.get("thread_ts"),
                      initial_comment=params.get("initial_comment"))
            done.append({"id": f.get("id"), "name": up["filename"], "title": f.get("title")})
        if done and params.get("channel_id"):  # shared: one message carrying the files
            self._store({"channel": params["channel_id"], "thread_ts": params.get("thread_ts"),
                         "text": params.get("initial_comment") or "", "files": done})
        return {"ok": True, "files": done}

    def _next_ts(self) -> str:
        if self.ts_clock is None:
            return f"1700000000.{next(self._ts):06d}"
        # Unique and increasing even when the clock stands still, like Slack's. Counted in
        # whole microseconds: a float epoch has too few digits to add 0.000001 reliably.
        self._last_us = max(round(self.ts_clock() * 1_000_000), self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def _store(self, params: dict) -> str:
        ts = self._next_ts()
        metadata = params.get("metadata")
        if isinstance(metadata, str):  # form-encoded calls send it as a JSON string
            metadata = json.loads(metadata)
        msg = {"type": "message", "ts": ts, "user": BOT_USER, "bot_id": BOT_ID,
               "text": params.get("text"), "blocks": params.get("blocks"),
               "metadata": metadata}
        if params.get("thread_ts"):
            msg["thread_ts"] = params["thread_ts"]
        if params.get("files"):
            msg["files"] = params["files"]
        self.messages.setdefault(str(params.get("channel")), []).append(msg)
        return ts

    def _history(self, method: str, params: dict) -> dict:
        channel = str(params.get("channel"))
        msgs = self.messages.get(channel, [])
        if method == "conversations.history":  # top-level messages only, like Slack
            msgs = [m for m in msgs if m.get("thread_ts") in (None, m["ts"])]
        else:
            parent = str(params.get("ts"))
            msgs = [m for m in msgs if m["ts"] == parent or m.get("thread_ts") == parent]
        oldest = float(params.get("oldest") or 0)
        msgs = [m for m in msgs if float(m["ts"]) > oldest]
        if method == "conversations.history":
            msgs = sorted(msgs, key=lambda m: float(m["ts"]), reverse=True)  # newest first
        with_metadata = str(params.get("include_all_metadata")).lower() in ("1", "true")
        start = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or 100)
        page = [dict(m) if with_metadata else {k: v for k, v in m.items() if k != "metadata"}
                for m in msgs[start:start + limit]]
        more = start + limit < len(msgs)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _list(self, params: dict) -> dict:
        types = str(params.get("types") or "public_channel").split(",")
        skip_archived = str(params.get("exclude_archived")).lower() in ("1", "true")
        chans = [c for c in self.channels
                 if ("private_channel" if c.get("is_private") else "public_channel") in types
                 and not (skip_archived and c.get("is_archived"))]
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or 100), self.list_page_size or 1000)
        more = start + limit < len(chans)
        return {"ok": True, "channels": chans[start:start + limit],
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    # --- assertions ------------------------------------------------------------------------

    def posts(self, channel: str | None = None) -> list[dict]:
        """Messages that reached a channel (what a person would see), in posting order."""
        with self._lock:
            if channel is not None:
                return list(self.messages.get(channel, []))
            return [m for msgs in self.messages.values() for m in msgs]

    def files(self, channel: str | None = None) -> list[dict]:
        """Files uploaded and shared (files_upload_v2 completed), in upload order."""
        with self._lock:
            return [dict(u, id=i) for i, u in self.uploads.items() if u["completed"]
                    and (channel is None or u.get("channel") == channel)]

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method]

    def wait_until(self, predicate: Callable[[], object], timeout: float = 10.0) -> bool:
        """Block until `predicate()` is true, checked again at every call the fake records
        (listeners run after the ack, in Bolt's pool); whether it was within `timeout`."""
        with self._changed:
            return bool(self._changed.wait_for(predicate, timeout=timeout))

    def wait_for(self, method: str, timeout: float = 5.0) -> Call:
        """Block until a call to `method` arrived (listeners run after the ack, in a thread)."""
        return self.wait_for_call(lambda c: c.method == method, timeout=timeout,
                                  what=f"no {method} call")

    def wait_for_call(self, predicate: Callable[[Call], bool], timeout: float = 5.0,
                      what: str = "no matching call") -> Call:
        with self._changed:
            ok = self._changed.wait_for(lambda: any(predicate(c) for c in self.calls),
                                        timeout=timeout)
            if not ok:
                raise AssertionError(f"{what}; got {[c.method for c in self.calls]}")
            return next(c for c in self.calls if predicate(c))

