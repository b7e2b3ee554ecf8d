"""End-to-end fixtures: the real Bolt app behind the real HTTP server, a fake Slack Web API."""

from __future__ import annotations

import threading

import pytest

from bot.app import Runtime, build_app
from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.kit.db import upgrade_to_head
from bot.kit.http import make_http_server, wsgi_app
from tests.support.bot_server import SIGNING_SECRET, BotServer
from tests.support.fake_slack import FakeSlack
from tests.support.offline_rules import offline_rules


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
