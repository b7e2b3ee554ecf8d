"""End-to-end fixtures: the real Bolt app behind the real HTTP server, a fake Slack Web API."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot.app import Runtime, build_app
from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.kit.db import upgrade_to_head
from bot.kit.http import make_http_server, wsgi_app
from tests.e2e.fake_slack import FakeSlack

SIGNING_SECRET = "e2e-signing-secret"
ROOT = Path(__file__).resolve().parents[2]
FEED = ROOT / "tests/data/feeds/google_alerts_atom.xml"


def offline_rules(tmp_path: Path) -> Path:
    """The shipped rules with one source, a real Google Alerts feed read from a local file, so
    the pollers run for real without the internet."""
    data = yaml.safe_load((ROOT / "routing_rules.yaml").read_text())
    data["sources"] = [{"id": "alerts", "type": "rss", "url": FEED.as_uri(), "every": "1h"}]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Response:
    status: int
    body: bytes


@dataclass
class BotServer:
    url: str
    runtime: Runtime

    def post(self, path: str, body: str, *, content_type: str, timestamp: int | None = None,
             secret: str = SIGNING_SECRET, headers: dict | None = None) -> Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(),
                               hashlib.sha256).hexdigest()
        req = urllib.request.Request(self.url + path, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig, **(headers or {})})
        return _send(req)

    def get(self, path: str) -> Response:
        return _send(urllib.request.Request(self.url + path))


def _send(req: urllib.request.Request) -> Response:
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return Response(resp.status, resp.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read())


@pytest.fixture
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot_server(fake_slack, tmp_path):
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    upgrade_to_head(url)
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-e2e", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                        SLACK_API_URL=fake_slack.api_url, DATABASE_URL=url)
    rules = load_rules(offline_rules(tmp_path))
    runtime = Runtime(settings, rules)
    runtime.start()
    app = build_app(settings, runtime.services)
    server = make_http_server(wsgi_app(app, runtime.healthy, runtime.metrics.registry,
                                       on_ack=runtime.metrics.slack_ack_seconds.observe),
                              "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield BotServer(f"http://127.0.0.1:{server.server_address[1]}", runtime)
    server.shutdown()
    server.server_close()
    runtime.stop()
