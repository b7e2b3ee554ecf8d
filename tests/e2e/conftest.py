"""End-to-end fixtures: the real Bolt app behind the real HTTP server, a fake Slack Web API.

`bot_server` runs the shipped rules with the internet taken out (one local feed);
`start_bot(rules, **settings)` runs other rules and settings (a network's fake) the same way."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
def start_bot(fake_slack, tmp_path) -> Iterator[Callable[..., BotServer]]:
    stops: list[Callable[[], None]] = []

    def start(rules: Path, **settings: Any) -> BotServer:
        url = f"sqlite:///{tmp_path / 'e2e.db'}"
        upgrade_to_head(url)
        runtime = Runtime(Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-e2e",
                                   SLACK_SIGNING_SECRET=SIGNING_SECRET,
                                   SLACK_API_URL=fake_slack.api_url, DATABASE_URL=url,
                                   **settings), load_rules(rules))
        runtime.start()
        app = build_app(runtime.settings, runtime.services)
        server = make_http_server(wsgi_app(app, runtime.healthy, runtime.metrics.registry,
                                           on_ack=runtime.metrics.slack_ack_seconds.observe,
                                           meta_webhook=runtime.meta_webhook,
                                           signing_secret=SIGNING_SECRET),
                                  "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        def stop() -> None:
            server.shutdown()
            server.server_close()
            runtime.stop()
        stops.append(stop)
        return BotServer(f"http://127.0.0.1:{server.server_address[1]}", runtime)

    yield start
    for stop in reversed(stops):
        stop()


@pytest.fixture
def bot_server(start_bot, tmp_path):
    return start_bot(offline_rules(tmp_path))
