"""Hostile requests to the real Bolt app over real HTTP (signature checks on): a bad signature
or a timestamp more than 5 minutes off → 401, malformed bodies → 400, and nothing changes; the
bot keeps serving the next genuine click."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from bot.app import build_app
from bot.config import Settings
from bot.desk.directory import StaticDirectory
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.kit.http import make_http_server, wsgi_app
from bot.slack.ids import Action, CardRef
from bot.slack.services import Services
from tests.support import fault_figures
from tests.support.fake_slack import FakeSlack
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
SECRET = "faults-signing-secret"
FORM = "application/x-www-form-urlencoded"
AGENT = "U0AGENT01"


def snapshot(factory) -> tuple:
    """Everything a request could change: the mention, and row counts of every desk table."""
    with session_scope(factory) as s:
        m = s.scalars(select(models.Mention)).one()
        counts = tuple(s.scalar(select(func.count()).select_from(t)) for t in (
            models.AuditEvent, models.Draft, models.Reply, models.OutboxMessage,
            models.ProcessedEvent))
        return (m.status, m.version, m.claimed_by, *counts)


@pytest.fixture
def bot(engine):
    fake = FakeSlack().start()
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        m = models.Mention(network="x", external_id="1", text="@NorthwindAir late again",
                           author=models.Author(network="x", handle="ana", author_type="customer"),
                           compound=-0.5,
                           sentiment="negative", author_type="customer", score=50,
                           priority="P3", team="care", ingested_at=datetime.now(UTC))
        s.add(m)
        s.flush()
        mention_id = m.id
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-faults",
                        SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
                        DATABASE_URL=engine.url.render_as_string(hide_password=False))
    services = Services(factory, lambda: RULES, StaticDirectory(), lambda: datetime.now(UTC))
    app = build_app(settings, services, token_verification=False)
    server = make_http_server(wsgi_app(app, lambda: (True, "ok"), CollectorRegistry()),
                              "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    yield url, fake, factory, mention_id
    server.shutdown()
    server.server_close()
    fake.stop()


def post(url: str, body: bytes, *, ctype: str = FORM, ts: str | None = None,
         secret: str = SECRET, signature: str | None = None) -> int:
    ts = str(int(time.time())) if ts is None else ts
    sig = signature or "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body,
                                        hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": ctype, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def click(mention_id: int, version: int = 0, user: str = AGENT,
          action: str = Action.CLAIM.value, value: str | None = None) -> bytes:
    payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T111"},
               "api_app_id": "A111", "channel": {"id": "C0CARE00001"},
               "container": {"type": "message", "channel_id": "C0CARE00001"},
               "trigger_id": "t", "response_url": "http://127.0.0.1:9/respond",
               "message": {"ts": "1"},
               "actions": [{"action_id": action, "block_id": "b", "type": "button",
                            "value": value or CardRef(mention_id, version).encode()}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def test_forged_stale_and_malformed_requests_change_nothing_and_the_bot_keeps_serving(bot):
    url, fake, factory, mention_id = bot
    genuine = click(mention_id)
    now = int(time.time())
    refused = [  # (what, status wanted, status got)
        ("wrong secret", 401, post(url, genuine, secret="not-the-secret")),
        ("no signature", 401, post(url, genuine, signature="v0=")),
        ("signature of another body", 401, post(url, genuine, signature="v0=" + hmac.new(
            SECRET.encode(), f"v0:{now}:x".encode(), hashlib.sha256).hexdigest())),
        ("timestamp 301 s old", 401, post(url, genuine, ts=str(now - 301))),
        ("timestamp a day old", 401, post(url, genuine, ts=str(now - 86_400))),
        # Well past the 300 s Bolt allows, from the clock at sending: the requests above may
        # take seconds on a loaded machine, and a `now + 301` then arrived 299 s ahead.
        ("timestamp 6 min ahead", 401, post(url, genuine, ts=str(int(time.time()) + 360))),
        ("timestamp not a number", 401, post(url, genuine, ts="soon")),
        ("payload not JSON", 400, post(url, b"payload=%7Bnot+json")),
        ("JSON body not JSON", 400, post(url, b"{not json", ctype="application/json")),
        ("body not UTF-8", 400, post(url, b"payload=\xff\xfe\xfd")),
        ("empty body", 400, post(url, b"")),
        ("payload without a type", 400, post(url, b"payload=%7B%7D")),
        ("payload a JSON list", 400, post(url, b"payload=%5B1%2C2%5D")),
    ]
    wrong = [(what, want, got) for what, want, got in refused if got != want]
    assert not wrong, wrong
    fault_figures.tried("hostile inputs", len(refused))
    before = snapshot(factory)
    assert before[:3] == ("new", 0, None)
    # A forged button value from a signed request (a click Slack really sent, on a tampered
    # message is impossible; a buggy one is not): refused with a note, nothing changes.
    assert post(url, click(mention_id, value='{"mention_id": "1; DROP TABLE mention"}')) == 200
    assert post(url, click(mention_id, value="x" * 5000)) == 200
    fault_figures.tried("hostile inputs", 2)
    ephemerals = fake.wait_for_call(lambda c: c.method == "chat.postEphemeral"
                                    and "not one of ours" in json.dumps(c.params))
    assert ephemerals
    assert fault_figures.invariant("unauthorised changes", int(snapshot(factory) != before)) == 0
    assert [c.method for c in fake.calls if c.method not in ("auth.test", "chat.postEphemeral")
            ] == []

    # The bot still serves: the genuine click claims the mention.
    assert post(url, genuine) == 200
    deadline = time.monotonic() + 10
    while snapshot(factory)[:3] != ("claimed", 1, AGENT):
        assert time.monotonic() < deadline, snapshot(factory)
        time.sleep(0.02)
