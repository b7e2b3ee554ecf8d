"""A scripted HTTP server on 127.0.0.1: the real clients (tweepy, Mastodon.py, the feeds'
requests session) talk to it over a real socket, and it answers the canned responses a test
registered, each once (or `times`), in the order registered for its method and path.

    with ScriptedHTTP() as api:            # or the `scripted` fixture
        api.get("/2/tweets/search/recent", json=page, headers={"x-rate-limit-reset": "…"})
        api.get("/feed", query={"limit": "1"}, status=304)   # only that exact query
        api.get("/feed?limit=1", status=304)                 # the same
        ... point the client at api.url ...
        assert api.calls[0].request.query == {...}

A registration without a query matches any query; with one, the request's query must be
exactly it (every parameter, every value). `ordered=True` serves every registration in the
order registered whatever its path, as X's pages come. Every request is recorded in `calls`
(method, url, path, query, headers, body, and the status answered).

A request nothing answers is refused loudly: it gets a 599 naming itself, is kept in `refused`,
and `verify()` (run when the `with` block or the fixture ends) fails the test; so does any
registration left unused (`all_used=False` when a test registers more than it needs).

Failures below HTTP are real too: `drop=True` closes the connection without a status line
(requests: `ConnectionError`), `stall=True` answers nothing until the server stops (a client
with a short read timeout: `ReadTimeout`), and `unanswered_port()` is a port whose listen
queue is full, so connecting times out (`ConnectTimeout`).
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

REFUSED = 599  # what an unregistered request gets (no real server answers it)


@dataclass
class Request:
    method: str
    url: str  # as the server saw it: its own base, the path and the query
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict[str]
    body: bytes

    def params(self) -> dict[str, str]:
        """The query with each parameter's first value (most are single)."""
        return {k: v[0] for k, v in self.query.items()}

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class Call:
    request: Request
    status: int


@dataclass
class Canned:
    method: str
    path: str
    query: dict[str, list[str]] | None
    status: int
    body: bytes
    headers: dict[str, str]
    times: int = 1
    drop: bool = False
    stall: bool = False
    used: int = 0

    def left(self) -> int:
        return self.times - self.used

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        return (self.method == method and self.path == path
                and (self.query is None or self.query == query))

    def __str__(self) -> str:
        query = "" if self.query is None else f" query={self.query}"
        return f"{self.method} {self.path}{query} -> {self.status} (used {self.used}/{self.times})"


@dataclass
class ScriptedHTTP:
    ordered: bool = False
    calls: list[Call] = field(default_factory=list)
    refused: list[Request] = field(default_factory=list)
    canned: list[Canned] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    # --- the script ----------------------------------------------------------------------------

    def add(self, method: str, path: str, *, status: int = 200, json: Any = None,
            body: bytes | str = b"", headers: Mapping[str, str] | None = None,
            content_type: str | None = None, query: Mapping[str, str | list[str]] | None = None,
            times: int = 1, drop: bool = False, stall: bool = False) -> Canned:
        if not path.startswith("/"):
            raise ValueError(f"register a path, not {path!r}: the server is {self.url or 'local'}")
        split = urlsplit(path)
        if split.query and query is not None:
            raise ValueError("a query in the path and query=: give one")
        wanted = (parse_qs(split.query, keep_blank_values=True) if split.query else
                  None if query is None else
                  {k: (list(v) if isinstance(v, list) else [v]) for k, v in query.items()})
        out = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json)
            content_type = content_type or "application/json"
        if content_type:
            out["Content-Type"] = content_type
        canned = Canned(method.upper(), split.path, wanted, status,
                        body.encode() if isinstance(body, str) else body, out, times, drop, stall)
        with self._lock:
            self.canned.append(canned)
        return canned

    def get(self, path: str, **kw: Any) -> Canned:
        return self.add("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Canned:
        return self.add("POST", path, **kw)

    def replace(self, method: str, path: str, **kw: Any) -> Canned:
        """What the path answers from now on: its registrations not yet used are dropped."""
        split = urlsplit(path)
        with self._lock:
            self.canned = [c for c in self.canned
                           if c.used or c.method != method.upper() or c.path != split.path]
            for c in self.canned:  # the used ones are spent: they answer no more
                if c.method == method.upper() and c.path == split.path:
                    c.times = c.used
        return self.add(method, path, **kw)

    def unused(self) -> list[Canned]:
        with self._lock:
            return [c for c in self.canned if c.left() > 0]

    def verify(self, *, all_used: bool = True) -> None:
        """Fails on any refused request and (with `all_used`) on any registration not used."""
        problems = [f"refused (nothing registered): {r.method} {r.path} {r.query}"
                    for r in self.refused]
        if all_used:
            problems += [f"never asked for: {c}" for c in self.unused()]
        assert not problems, "scripted HTTP server:\n  " + "\n  ".join(problems)

    # --- serving -------------------------------------------------------------------------------

    def start(self) -> ScriptedHTTP:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                scripted.serve(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()  # lets any stalled answer go
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> ScriptedHTTP:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
        if kind is None:
            self.verify()

    def _take(self, method: str, path: str, query: dict[str, list[str]]) -> Canned | None:
        with self._lock:
            waiting = [c for c in self.canned if c.left() > 0]
            if self.ordered:
                waiting = waiting[:1]
            for c in waiting:
                if c.matches(method, path, query):
                    c.used += 1
                    return c
        return None

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        request = Request(handler.command, f"{self.url}{handler.path}", split.path,
                          parse_qs(split.query, keep_blank_values=True),
                          CaseInsensitiveDict(dict(handler.headers.items())),
                          handler.rfile.read(length) if length else b"")
        canned = self._take(request.method, request.path, request.query)
        if canned is None:
            status, body, headers = REFUSED, (
                f"scripted HTTP: nothing registered for {request.method} {handler.path}"
                ).encode(), {"Content-Type": "text/plain"}
            with self._lock:
                self.refused.append(request)
        else:
            status, body, headers = canned.status, canned.body, canned.headers
        with self._lock:
            self.calls.append(Call(request, status))
        if canned is not None and canned.drop:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if canned is not None and canned.stall:
            self._stop.wait()
            handler.close_connection = True
            return
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        if status not in (204, 304) and "Content-Length" not in headers:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if status not in (204, 304) and request.method != "HEAD":
            handler.wfile.write(body)


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A 127.0.0.1 port whose listen queue is full: a connection to it is never accepted, so
    the client's connect timeout fires (a real `ConnectTimeout`, not a raised one)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(3):  # Linux queues backlog + 1; the rest of the SYNs are dropped
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for s in (*fillers, listener):
            s.close()
