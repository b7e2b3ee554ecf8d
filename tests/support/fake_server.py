"""The HTTP server under every fake network: a `ThreadingHTTPServer` on 127.0.0.1 that the real
clients reach over a real socket (their base-URL setting points at `url`), so each fake
holds only its network's behaviour, its `serve(handler, method)`.

- `FakeServer`: `start()` serves each request on a thread of its own through `serve`;
  `stop()` lets any stalled answer go (`stopped`) and closes the port; `with` does both.
- `HeldReplies`: a reply is applied, then its answer waits while `hold_replies` is set up
  (the kill tests end the bot meanwhile: "posted, answer lost").
- `read_body`, `first_values`, `send_json`, `send`, `drop`: one request's body and answer.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs

JSON = "application/json; charset=UTF-8"


class FakeServer:
    """Base of the fakes: subclasses implement `serve`."""

    server: ThreadingHTTPServer
    stopped: threading.Event
    methods: tuple[str, ...] = ("GET", "POST")  # the HTTP methods served (others: 501)

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: one request per connection
            def log_message(self, *args: object) -> None:
                pass

        for method in self.methods:
            setattr(Handler, f"do_{method}",
                    lambda handler, method=method: fake.serve(handler, method))
        self.stopped = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        """The base URL the client is given (some networks' end in `/`)."""
        return self.origin

    def serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        raise NotImplementedError


@dataclass
class HeldReplies:
    # Set to an Event: a reply is made, then its answer waits for the event (the test kills
    # the bot meanwhile). `reply_applied` is set as soon as one is.
    hold_replies: threading.Event | None = None
    reply_applied: threading.Event = field(default_factory=threading.Event)

    def applied(self) -> None:
        """A reply was made: say so, and hold its answer while `hold_replies` is unset."""
        self.reply_applied.set()
        if self.hold_replies is not None:
            self.hold_replies.wait(timeout=30)


def first_values(query: str) -> dict[str, str]:
    """A query string or form body, each parameter's first value (most are single)."""
    return {k: v[0] for k, v in parse_qs(query).items()}


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def send(handler: BaseHTTPRequestHandler, status: int, data: bytes,
         headers: Mapping[str, str] | None = None) -> None:
    """`status`, `headers` (a Content-Length added when missing) and `data`."""
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if not any(name.lower() == "content-length" for name in headers or {}):
        handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    with contextlib.suppress(OSError):  # the client is gone (killed while we held on)
        handler.wfile.write(data)


def send_json(handler: BaseHTTPRequestHandler, status: int, answer: Any, *,
              headers: Mapping[str, str] | None = None, content_type: str = JSON) -> None:
    send(handler, status, json.dumps(answer).encode(),
         {"Content-Type": content_type, **(headers or {})})


def drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without a status line (the client sees it reset)."""
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
