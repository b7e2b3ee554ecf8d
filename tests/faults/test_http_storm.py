"""HTTP mode under attack, over real sockets (issue 18, item 5): connections that send nothing,
bodies too big to read, unsigned or absurdly nested JSON. Before, 300 stalled connections pinned
249 threads and every descriptor (a genuine click and /healthz timed out), bodies were read
whole and unsigned before any check, and nested JSON was an uncaught 500. Now: waitress with a
read timeout, a connection cap and a 1 MB body limit; the signature is checked before parsing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from bot.app import build_app
from bot.config import Settings
from bot.desk.directory import StaticDirectory
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.kit.http import wsgi_app
from bot.kit.serving import MAX_BODY, HttpServer
from bot.slack.ids import Action, CardRef
from bot.slack.services import Services
from tests.support import fault_figures
from tests.support.fake_slack import FakeSlack
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
SECRET = "storm-signing-secret"
STALLED = 300
READ_TIMEOUT = 2  # seconds, so the sweep of idle connections is seen within the test


@pytest.fixture
def served(engine):
    """The real Bolt app behind `HttpServer` (as `socialbot run --http` serves it), one new
    mention, a fake Slack; yields (host, port, factory, mention id)."""
    fake = FakeSlack().start()
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        m = models.Mention(network="x", external_id="1", text="@NorthwindAir late again",
                           author=models.Author(network="x", handle="ana",
                                                author_type="customer"),
                           compound=-0.5, sentiment="negative", author_type="customer",
                           score=50, priority="P3", team="care", ingested_at=datetime.now(UTC))
        s.add(m)
        s.flush()
        mention_id = m.id
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-storm",
                        SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
                        DATABASE_URL=engine.url.render_as_string(hide_password=False))
    services = Services(factory, lambda: RULES, StaticDirectory(), lambda: datetime.now(UTC))
    app = build_app(settings, services, token_verification=False)
    server = HttpServer(wsgi_app(app, lambda: (True, "ok"), CollectorRegistry(),
                                 signing_secret=SECRET), "127.0.0.1", 0,
                        read_timeout=READ_TIMEOUT)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "127.0.0.1", server.server_address[1], factory, mention_id
    server.shutdown()
    fake.stop()


def signed(body: bytes, *, secret: str = SECRET, ctype: str = "application/x-www-form-urlencoded",
           length: int | None = None) -> bytes:
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body,
                           hashlib.sha256).hexdigest()
    head = (f"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body) if length is None else length}\r\n"
            f"X-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sig}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


def exchange(host: str, port: int, request: bytes, *, timeout: float = 5.0) -> tuple[int, float]:
    """Send `request` on a new connection: (HTTP status, seconds until the answer began)."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(request)
        first = conn.recv(64)
    return int(first.split(b" ", 2)[1]), time.monotonic() - started


def claim(mention_id: int) -> bytes:
    payload = {"type": "block_actions", "user": {"id": "U0AGENT01"}, "team": {"id": "T111"},
               "api_app_id": "A111", "channel": {"id": "C0CARE00001"},
               "container": {"type": "message", "channel_id": "C0CARE00001"},
               "trigger_id": "t", "response_url": "http://127.0.0.1:9/respond",
               "message": {"ts": "1"},
               "actions": [{"action_id": Action.CLAIM.value, "block_id": "b",
                            "type": "button", "value": CardRef(mention_id, 0).encode()}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_300_stalled_connections_block_neither_a_click_nor_healthz(served):
    host, port, factory, mention_id = served
    stalled = []
    try:
        for n in range(STALLED):  # half send nothing, half a request line and stop
            conn = socket.create_connection((host, port), timeout=5)
            if n % 2:
                conn.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Len")
            stalled.append(conn)
        fault_figures.tried("hostile inputs", STALLED)
        status, took = exchange(host, port, b"GET /healthz HTTP/1.1\r\nHost: bot\r\n"
                                            b"Connection: close\r\n\r\n")
        assert (status, took < 2) == (200, True), took
        status, took = exchange(host, port, signed(claim(mention_id)))
        assert (status, took < 2) == (200, True), took
        deadline = time.monotonic() + 10
        while True:
            with session_scope(factory) as s:
                if s.scalar(select(models.Mention.status)) == "claimed":
                    break
            assert time.monotonic() < deadline
            time.sleep(0.02)
        # The read timeout: every stalled connection is closed by the server.
        for conn in stalled:
            conn.settimeout(READ_TIMEOUT + 10)
            assert conn.recv(1) == b""
    finally:
        for conn in stalled:
            conn.close()


def test_a_body_over_1_mb_is_refused_before_it_is_read(served):
    host, port, *_ = served
    # Only the headers are sent: a 10 MB body announced is answered 413 at once.
    status, took = exchange(host, port, signed(b"", length=10 * MAX_BODY))
    assert (status, took < 2) == (413, True)
    fault_figures.tried("hostile inputs")


def test_unsigned_bodies_are_refused_before_parsing_and_nesting_is_a_400(served):
    host, port, factory, _ = served
    deep = b"[" * 100_000 + b"]" * 100_000
    assert exchange(host, port, signed(deep, ctype="application/json"))[0] == 400
    wrapped = urlencode({"payload": "[" * 100_000 + "]" * 100_000}).encode()
    assert exchange(host, port, signed(wrapped))[0] == 400
    assert exchange(host, port, signed(deep, ctype="application/json",
                                       secret="not-the-secret"))[0] == 401
    assert exchange(host, port, signed(b"payload=%7B%7D", secret="not-the-secret"))[0] == 401
    fault_figures.tried("hostile inputs", 4)
    with session_scope(factory) as s:
        assert s.scalar(select(models.Mention.status)) == "new"
        assert fault_figures.invariant("unauthorised changes",
                                       s.scalar(select(models.Mention.version))) == 0
