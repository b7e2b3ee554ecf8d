"""HTTP for the sources with a whole-request deadline and an egress policy.

`requests` (urllib3) has only per-operation timeouts: a server that sends one byte every 5 s
never trips a 20 s read timeout, and a feed answering that way held a poll — and `SIGTERM`,
which waits for the poll in flight — for ever. And a feed URL, or a redirect from it, could
point the bot at `127.0.0.1:…/admin` or a cloud metadata address (SSRF).

`GuardedAdapter` is a `requests` transport whose connections obey the `guard` block the
request runs in:

- **deadline**: when the block's time is up, every socket it used is shut down: whatever
  was blocked on it (the status line, the headers, the body) fails at once, and the caller
  turns that into `SourceUnavailable`. `abort_all()` does the same to every block in flight:
  `socialbot run` calls it on `SIGTERM`, so stopping never waits for a slow network;
- **egress** (`public_only`): the host is resolved and every address checked before the
  connection is made, and the connection goes to the address that was checked (no second
  lookup to rebind): loopback, private, link-local, shared, reserved or multicast addresses
  are refused (`EgressRefused`) unless the source allows them (`allow_private`).

Outside a `guard` block the adapter behaves like requests' own.

The networks' clients come on three HTTP stacks; each gets the same deadline from the same
`guard` block, one class per stack (a whole request, body included, ends within `deadline`):
`GuardedSession` (requests: tweepy, Mastodon.py, PRAW, App Store Connect), `GuardedTransport`
(httpx: atproto for Bluesky, the Graph API for Facebook, Instagram and Threads) and
`GuardedHttp` (httplib2: google-api-python-client for YouTube and Google Play).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import httpcore
import httplib2
import httpx
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

REQUEST_DEADLINE = 60.0  # seconds for a whole request to any network: a trickle can't hold a poll


class EgressRefused(NewConnectionError):
    """The target resolves to an address the egress policy refuses (no connection made)."""


class DeadlinePassed(OSError):
    """The block's deadline passed (or the bot is stopping): its sockets were shut down."""


class _Guard:
    def __init__(self, seconds: float, public_only: bool) -> None:
        self.seconds, self.public_only = seconds, public_only
        self.expired = False
        self._sockets: list[weakref.ref[socket.socket]] = []
        self._seen: set[int] = set()  # ids of the sockets watched (a stream reports each read)
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if id(sock) not in self._seen:
                self._seen.add(id(sock))
                self._sockets.append(weakref.ref(sock))
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = [ref() for ref in self._sockets]
        for sock in sockets:
            if sock is not None:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


_local = threading.local()
_active: set[_Guard] = set()
_active_lock = threading.Lock()


def current() -> _Guard | None:
    return getattr(_local, "guard", None)


@contextlib.contextmanager
def guard(seconds: float, *, public_only: bool = False) -> Iterator[_Guard]:
    """Requests made by this thread inside the block end within `seconds` (their sockets are
    shut down then); with `public_only`, they only connect to public addresses."""
    g = _Guard(seconds, public_only)
    outer = current()
    _local.guard = g
    with _active_lock:
        _active.add(g)
    g._timer.start()  # noqa: SLF001  # the guard's own timer, started where it takes effect
    started = time.monotonic()
    try:
        yield g
    except Exception as exc:  # each stack words a socket shut under it its own way
        if g.expired:
            raise DeadlinePassed(f"no complete answer within {seconds:g} s "
                                 f"({time.monotonic() - started:.1f} s)") from exc
        raise
    else:
        if g.expired:  # a body without a length ends where the socket was shut: cut short
            raise DeadlinePassed(f"no complete answer within {seconds:g} s "
                                 f"({time.monotonic() - started:.1f} s)")
    finally:
        g._timer.cancel()  # noqa: SLF001
        with _active_lock:
            _active.discard(g)
        _local.guard = outer


def abort_all() -> int:
    """Expire every block in flight, in every thread (the bot is stopping); how many."""
    with _active_lock:
        guards = list(_active)
    for g in guards:
        g.expire()
    return len(guards)


def refused_address(address: str) -> bool:
    """Whether the egress policy refuses `address` (an IP): anything not globally routable."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class _GuardedMixin:
    """What both connection classes add to urllib3's: the checks above."""

    host: str
    port: int
    _dns_host: str
    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        g = current()
        if g is not None and g.public_only:
            try:
                infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
            except socket.gaierror:
                infos = []  # urllib3 reports the failed lookup itself, below
            if infos:
                for info in infos:
                    address = str(info[4][0])
                    if refused_address(address):
                        raise EgressRefused(
                            self,  # type: ignore[arg-type]  # the mixin is an HTTPConnection
                            f"{self.host} resolves to {address}: a private, loopback or "
                            "link-local address is refused (allow_private: true on the source "
                            "allows it)")
                # Connect to the address just checked: a second lookup could answer another.
                checked, self._dns_host = self._dns_host, str(infos[0][4][0])
                try:
                    sock = super()._new_conn()  # type: ignore[misc]
                finally:
                    self._dns_host = checked
                g.watch(sock)
                return sock
        sock = super()._new_conn()  # type: ignore[misc]
        if g is not None:
            g.watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        g = current()
        if g is not None:
            g.watch(self.sock)  # a pooled connection reused in this block
        super().request(*args, **kwargs)  # type: ignore[misc]

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        g = current()
        if g is not None:
            g.watch(self.sock)  # after TLS: the wrapped socket


class GuardedHTTPConnection(_GuardedMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """requests' adapter with the guarded connections; mount it on `http://` and `https://`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def refusal(exc: BaseException) -> str | None:
    """The egress policy's refusal inside a requests error (wrapped by urllib3's retry), or
    None when `exc` is something else."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, EgressRefused):
            return str(e).split(": ", 1)[-1]
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None),
                     *(a for a in e.args if isinstance(a, BaseException))])
    return None


def mount(session: Any) -> Any:
    """`session` (a requests Session) with `GuardedAdapter` on http and https."""
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class GuardedSession(requests.Session):
    """A requests Session whose every request (body included) ends within `deadline`
    seconds, and at once when the bot stops: for the network clients that take a session
    (tweepy, Mastodon.py, PRAW). A deadline passed is a `requests.ConnectionError`, which
    those libraries already report as a network failure."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        mount(self)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
                ) -> requests.Response:
        try:
            with guard(self.deadline):
                return super().request(method, url, *args, **kwargs)
        except DeadlinePassed as exc:
            raise requests.ConnectionError(str(exc)) from exc


# --- httpx (atproto, the Graph API) --------------------------------------------------------

class _WatchedStream(httpcore.NetworkStream):
    """httpcore's socket stream, shown to the `guard` block of every read and write on it (a
    pooled connection serves many blocks)."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        self._watch()

    def _watch(self) -> None:
        g = current()
        if g is not None:
            g.watch(self._stream.get_extra_info("socket"))

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._watch()
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._watch()
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _WatchedStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _WatchedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None
                    ) -> httpcore.NetworkStream:
        return _WatchedStream(self._inner.connect_tcp(host, port, timeout, local_address,
                                                      socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore.NetworkStream:
        return _WatchedStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport whose every request, body included (read here, inside the block),
    ends within `deadline` seconds, and at once when the bot stops. A deadline passed is an
    `httpx.ReadTimeout`, which the clients already report as a network failure (one that may
    have reached the network: a publisher reconciles)."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline
        # The same pool httpx makes, on a backend whose sockets the guard can shut.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=_WatchedBackend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            with guard(self.deadline):
                response = super().handle_request(request)
                response.read()
                return response
        except DeadlinePassed as exc:
            raise httpx.ReadTimeout(str(exc), request=request) from exc


# --- httplib2 (google-api-python-client) ----------------------------------------------------

class _WatchedHttplib2:
    """What both httplib2 connection classes add: their socket shown to the `guard` block."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        g = current()
        if g is not None:
            g.watch(self.sock)

    def putrequest(self, *args: Any, **kwargs: Any) -> None:
        g = current()
        if g is not None and self.sock is not None:
            g.watch(self.sock)  # a kept-alive connection reused in this block
        super().putrequest(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTP(_WatchedHttplib2, httplib2.HTTPConnectionWithTimeout):
    pass


class _WatchedHTTPS(_WatchedHttplib2, httplib2.HTTPSConnectionWithTimeout):
    pass


class GuardedHttp(httplib2.Http):
    """httplib2's `Http` whose every request (redirects and body included) ends within
    `deadline` seconds, and at once when the bot stops; a deadline passed raises
    `DeadlinePassed` (an OSError, which the Google clients read as a network failure)."""

    def __init__(self, deadline: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deadline = deadline

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None,
                redirections: int = httplib2.DEFAULT_MAX_REDIRECTS,
                connection_type: Any = None) -> Any:
        if connection_type is None:
            connection_type = _WatchedHTTPS if str(uri).startswith("https:") else _WatchedHTTP
        with guard(self.deadline):
            return super().request(uri, method, body, headers, redirections, connection_type)
