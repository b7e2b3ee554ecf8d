"""Feed servers on 127.0.0.1 that misbehave on purpose, over real sockets:

- `SlowFeed`: a slow loris: answers one byte every `interval` seconds, for ever (`stage`
  "body": the status line and headers at once, then the feed a byte at a time; "headers":
  the status line itself a byte at a time). `requested` is set when a request arrives;
  `open_connections` counts the ones still being served.
- `Redirector`: answers every request with `status` and `Location: target`.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.paths import DATA

FEED = (DATA / "feeds" / "google_alerts_atom.xml").read_bytes()


class _Server:
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/feed.xml"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SlowFeed(_Server):
    def __init__(self, interval: float = 5.0, stage: str = "body") -> None:
        self.interval, self.stage = interval, stage
        self.requested = threading.Event()
        self.open_connections = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        slow = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with slow._lock:
                    slow.open_connections += 1
                slow.requested.set()
                head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/atom+xml\r\n"
                        b"Content-Length: %d\r\n\r\n" % len(FEED))
                data = head + FEED if slow.stage == "headers" else FEED
                try:
                    if slow.stage == "body":
                        self.wfile.write(head)
                        self.wfile.flush()
                    for i in range(len(data)):
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        if slow._stop.wait(slow.interval):
                            return
                except OSError:
                    return  # the client gave up: what the test wants
                finally:
                    with slow._lock:
                        slow.open_connections -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        super().stop()


class Redirector(_Server):
    def __init__(self, target: str, status: int = 302) -> None:
        self.hits = 0
        red = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                red.hits += 1
                if self.path.startswith("/feed.xml"):
                    self.send_response(status)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)  # "/admin": what a redirect must not reach
                self.send_header("Content-Length", str(len(FEED)))
                self.end_headers()
                self.wfile.write(FEED)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the other end has closed `sock` (a read returns b"" at once)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
