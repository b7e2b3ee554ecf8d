"""What the fake Graph API hosts share (graph.facebook.com: `fake_meta`; graph.threads.net:
`fake_threads`), so each keeps only its network's objects and edges.

- `GraphFake.serve`: the version segment checked (else Meta's error 2500), the token from the
  `Authorization: OAuth …` header (else error 190), any further check of the host
  (`_refused`: Meta's `appsecret_proof`), a scripted failure for the call's kind (`fail`:
  answered instead, or after applying it with `apply=True`: "made, answer lost"), the kind's
  handler `_<kind>(arg, params)` under the lock, a write of `writes` held by `HeldReplies`;
  every call recorded (`calls`, `of_kind`) and answered with the `usage` headers.
- `graph_page`: one page the way Graph pages (`limit`, an `after` cursor, `paging.next`);
  `expire_cursors()` has the `after` cursors given so far refused with Meta's (#2642).
- `graph_time`, `meta_body`, `meta_error`: Meta's times and error bodies (tests/data/meta/);
  `GRAPH_NOW`, the time the Graph networks' integration tests run at.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tests.support.fake_server import FakeServer, HeldReplies, first_values, read_body, send_json
from tests.support.paths import DATA

GRAPH_NOW = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)


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


def take_failure(failures: list[Failure], kind: str) -> Failure | None:
    """The next scripted failure for `kind`, used up once (the caller holds its lock)."""
    for f in failures:
        if f.kind == kind and f.times > 0:
            f.times -= 1
            return f
    return None


# An `after` cursor Meta no longer takes (facebook-java-business-sdk issue 292 quotes it)
INVALID_CURSOR = {"error": {"message": "(#2642) Invalid cursors values",
                            "type": "OAuthException", "code": 2642,
                            "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUv"}}


def graph_page(items: list[dict[str, Any]], params: dict[str, str],
               next_url: str) -> dict[str, Any]:
    """One page of `items` the way Graph pages: `limit`, an `after` cursor, `paging.next`
    while more remain; keys starting with `_` are the fake's own and never sent."""
    size = int(params.get("limit", "25"))
    start = int(params.get("after", "0") or 0)
    page = [{k: v for k, v in x.items() if not k.startswith("_")}
            for x in items[start:start + size]]
    paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + size)}}
    if start + size < len(items):
        paging["next"] = f"{next_url}?after={start + size}"
    return {"data": page, "paging": paging}


@dataclass
class MetaCall:
    kind: str
    path: str
    params: dict[str, str]
    status: int


@dataclass
class GraphFake(HeldReplies, FakeServer):
    """A Graph host: subclasses set `token`, `version`, `writes` and implement `_kind`."""

    token: ClassVar[str]
    version: ClassVar[str]
    writes: ClassVar[tuple[str, ...]]  # the kinds that make something (held by HeldReplies)

    calls: list[MetaCall] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    usage: dict[str, str] = field(default_factory=dict)  # headers sent with every answer
    clock: Callable[[], float] = time.time
    _lock: threading.RLock = field(default_factory=threading.RLock)
    cursors: int = 0  # the generation of `after` cursors the host takes: older ones expired

    def expire_cursors(self) -> None:
        """Every `after` cursor given so far expires: one is answered with Meta's (#2642);
        the cursors given from now on are of a new form (`<generation>.<offset>`)."""
        with self._lock:
            self.cursors += 1

    def fail(self, kind: str, status: int, body: dict[str, Any], *, apply: bool = False,
             times: int = 1) -> None:
        self.failures.append(Failure(kind, status, body, apply, times))

    def of_kind(self, kind: str) -> list[MetaCall]:
        return [c for c in self.calls if c.kind == kind]

    def _kind(self, method: str, rest: list[str]) -> tuple[str, str]:
        """(the call's kind, "" when none; what its handler takes) for the path after the
        version."""
        raise NotImplementedError

    def _refused(self, params: dict[str, str]) -> dict[str, Any] | None:
        """The error body of a further check the host makes of every call, None when passed."""
        return None

    def serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        params = first_values(parts.query)
        params.update(first_values(read_body(req).decode()))
        segments = [s for s in parts.path.split("/") if s]
        if not segments or segments[0] != self.version:
            return self._send(req, "?", parts.path, params, 400, {"error": {
                "message": f"Unknown path components: {parts.path}", "code": 2500,
                "type": "OAuthException"}})
        kind, arg = self._kind(method, segments[1:])
        if req.headers.get("Authorization", "") != f"OAuth {self.token}":
            return self._send(req, kind, parts.path, params, 400, meta_error("invalid_token"))
        refused = self._refused(params)
        if refused is not None:
            return self._send(req, kind, parts.path, params, 400, refused)
        with self._lock:
            failure = take_failure(self.failures, kind)
        if failure is not None and not failure.apply:
            return self._send(req, kind, parts.path, params, failure.status, failure.body)
        with self._lock:
            status, answer = getattr(self, f"_{kind}")(arg, params) if kind else (
                400, meta_error("not_found"))
        if kind in self.writes and status == 200:
            self.applied()
        if failure is not None:
            return self._send(req, kind, parts.path, params, failure.status, failure.body)
        return self._send(req, kind, parts.path, params, status, answer)

    def _page(self, items: list[dict[str, Any]], params: dict[str, str]
              ) -> tuple[int, dict[str, Any]]:
        after = params.get("after")
        if after and self.cursors:
            generation, _, offset = after.partition(".")
            if generation != str(self.cursors) or not offset:
                return 400, INVALID_CURSOR
            params = {**params, "after": offset}
        elif after and "." in after:
            return 400, INVALID_CURSOR
        body = graph_page(items, params, f"{self.url}/{self.version}/next")
        if self.cursors:
            paging = body["paging"]
            paging["cursors"] = {k: f"{self.cursors}.{v}" for k, v in paging["cursors"].items()}
            if "next" in paging:
                paging["next"] = paging["next"].replace("after=", f"after={self.cursors}.")
        return 200, body

    @staticmethod
    def _public(thing: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in thing.items() if not k.startswith("_")}

    def _send(self, req: BaseHTTPRequestHandler, kind: str, path: str, params: dict[str, str],
              status: int, answer: dict[str, Any]) -> None:
        self.calls.append(MetaCall(kind, path, params, status))
        send_json(req, status, answer, headers=self.usage)
