"""Feed credentials stay secret (issue 18, break 8): `/social status` (any workspace member)
and `socialbot check --live` printed `https://user:pass@…` feed URLs, and `?token=` query
secrets were not redacted even in the logs. A feed that fails, over real HTTP: its error is
stored, shown and logged without the login or the token.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.domain.redaction import redact
from bot.domain.rules.schema import SourceSpec
from bot.kit.db import make_session_factory, session_scope
from bot.kit.logs import Redactor
from bot.listening.health import source_health
from bot.listening.polling import poll_source
from bot.networks.rss.source import RssSource
from bot.slack.blocks.report import status_blocks
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fault_scenarios import RULES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRETS = ("feeduser", "hunter2-feed-password", "tok-7f3a9c2e1b", "k3y-9911", "s1g-abcdef")


@pytest.fixture
def refusing_server():
    class Refuse(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(int(self.path.rsplit("/", 1)[-1].split("?")[0]))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [401, 503])  # parked, and failing
def test_feed_logins_and_query_tokens_never_reach_status_check_or_logs(
        engine, refusing_server, caplog, status):
    url = (f"http://feeduser:hunter2-feed-password@{refusing_server}/alerts/{status}"
           "?token=tok-7f3a9c2e1b&api_key=k3y-9911&sig=s1g-abcdef&page=2")
    spec = SourceSpec(id="alerts", type="rss", url=url, every="15m", allow_private=True)
    rules = RULES.model_copy(update={"sources": [*RULES.sources, spec]})
    factory = make_session_factory(engine)
    with caplog.at_level(logging.INFO):
        outcome = poll_source(factory, RssSource(spec), rules, clock=Clock(NOW))
    fault_figures.tried("hostile inputs")
    assert outcome.status == ("auth_error" if status == 401 else "unavailable")
    with session_scope(factory) as s:
        health = {h.id: h for h in source_health(s, rules, NOW)}["alerts"]
    shown = [outcome.detail, health.line(), health.label,
             json.dumps(status_blocks([health], 0, None, NOW)), caplog.text]
    for text in shown:
        for secret in SECRETS:
            assert secret not in text, (secret, text)
    assert f"{refusing_server}/alerts/{status}" in health.line()  # still says which feed
    assert "page=2" in health.line()


@pytest.mark.parametrize("line, kept", [
    ("GET https://user:pa55@feeds.example.com/a.xml", "feeds.example.com/a.xml"),
    ("https://TOKEN0123456789abcdef@git.example.com/feed", "git.example.com/feed"),
    ("https://x.example/f?access_token=abc&x=1", "x=1"),
    ("https://x.example/f?apiKey=abc;sessionToken=zzz", "x.example/f"),
    ("https://s3.example/f?X-Amz-Signature=abc&X-Amz-Date=2026", "X-Amz-Date=2026"),
    ("https://x.example/f?client_secret=abc#top", "#top"),
    ("https://x.example/cb?code=abc&state=s", "state=s"),
    ("mention of https://x.com/@ana/status/1 stays", "https://x.com/@ana/status/1"),
    ("postgresql://bot@db/socialbot", "postgresql://bot@db/socialbot"),
])
def test_one_redaction_for_logs_and_everything_shown(line, kept):
    for out in (redact(line), Redactor().redact(line)):  # the log filter is the same function
        assert kept in out
        for secret in ("pa55", "TOKEN0123456789abcdef", "abc", "zzz"):
            assert secret not in out
