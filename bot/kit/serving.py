"""The HTTP server of `socialbot run`: waitress, a production WSGI server, with limits.

The standard library's threaded server, used before, gave every connection a thread and read
without a timeout: 300 stalled connections pinned 249 threads and every file descriptor, and a
genuine click and `/healthz` timed out (issue 18). Waitress reads requests in one event loop
and hands only complete ones to its worker threads, so a connection that sends nothing (or a
byte now and then) costs a socket, not a thread. On top of that:

- `READ_TIMEOUT`: a connection idle this long is closed (checked every `CLEANUP_EVERY`);
- `CONNECTION_LIMIT`: at most this many connections at once (kept under the process's file
  descriptor limit); beyond it new ones wait in the listen backlog until some close;
- `MAX_BODY`: a body over 1 MB is refused with 413 from its Content-Length, before it is read
  (Slack's payloads are a few KB; a chunked one is cut off at the limit too);
- `MAX_HEADERS`: a request's headers are at most 64 KB;
- `THREADS` handle complete requests. Each holds its request until the listener acks (Bolt
  polls for the ack every 10 ms), so fewer threads than concurrent clicks queue the acks in
  waves: as many as Bolt's listener pool (bot.app.LISTENER_THREADS, started with the app), so
  50 concurrent clicks are answered at once, as the standard library's thread-per-connection
  server did; the work after each ack yields to the acks still due (bot.kit.acks).

`HttpServer` keeps the interface the callers and tests use (`serve_forever()` in a thread,
`shutdown()`, `server_close()`, `server_address`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from waitress import wasyncore
from waitress.server import TcpWSGIServer, create_server

READ_TIMEOUT = 10  # seconds; Slack sends a whole request in milliseconds
CLEANUP_EVERY = 2  # seconds between sweeps for idle connections
CONNECTION_LIMIT = 1000
MAX_BODY = 1024 * 1024  # bytes
MAX_HEADERS = 64 * 1024  # bytes
THREADS = 64
HEALTH_THREADS = 2  # Socket Mode's /healthz and /metrics only
LOOP_TIMEOUT = 0.5  # seconds; how soon the event loop notices shutdown()


def connection_limit(wanted: int = CONNECTION_LIMIT) -> int:
    """`wanted`, kept well under the soft file-descriptor limit (the database pool, Slack's
    and the networks' clients need descriptors too)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return wanted
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, soft - 200))


class HttpServer:
    """A waitress server on `host:port` (0: any free port) running `application`."""

    def __init__(self, application: Callable, host: str, port: int, *,
                 threads: int = THREADS, read_timeout: int = READ_TIMEOUT,
                 max_connections: int = CONNECTION_LIMIT, max_body: int = MAX_BODY) -> None:
        # A burst of clicks waits a few ms for a thread; waitress would log a WARNING per request
        # ("Task queue depth is N"). The connection-limit warnings stay.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._map: dict = {}
        server = create_server(
            application, map=self._map, host=host, port=port, threads=threads,
            channel_timeout=read_timeout, cleanup_interval=CLEANUP_EVERY,
            connection_limit=connection_limit(max_connections),
            max_request_body_size=max_body, max_request_header_size=MAX_HEADERS,
            # select() can't watch descriptors above 1024; poll() can.
            asyncore_use_poll=True, ident="socialbot", expose_tracebacks=False)
        assert isinstance(server, TcpWSGIServer)  # one host and port: a single TCP listener
        self._server = server
        self._stop = threading.Event()
        self._done = threading.Event()

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()  # numeric, the port chosen when 0 was asked
        return host, int(port)

    def serve_forever(self) -> None:
        """Serve until `shutdown()`; then close every connection and stop the threads, here,
        in the loop's own thread (asyncore's map is not thread-safe)."""
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=LOOP_TIMEOUT, map=self._map, use_poll=True, count=1)
        finally:
            self._server.task_dispatcher.shutdown(timeout=2)
            wasyncore.close_all(self._map)
            self._done.set()

    def shutdown(self) -> None:
        """Stop serving; returns once the loop has closed everything (or after 5 s)."""
        self._stop.set()
        with contextlib.suppress(OSError):  # already closed
            self._server.pull_trigger()  # wake the loop now rather than at its timeout
        self._done.wait(5)

    def server_close(self) -> None:
        """Nothing left to do after `shutdown()` (kept for the standard library's interface)."""


def make_http_server(application: Callable, host: str, port: int, *,
                     threads: int = THREADS) -> HttpServer:
    return HttpServer(application, host, port, threads=threads)
