"""Logs: secrets never reach the output (whoever logs them: tweepy's and urllib3's DEBUG lines,
OAuth libraries, exception messages), JSON lines on request, `check` warns about a `.env`
others can read."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests
import tweepy
import urllib3

from bot.config import Settings
from bot.kit.logs import REDACTED, JsonFormatter, Redactor, make_handler, secrets_of
from tests.support.paths import ROOT
from tests.support.scripted_http import ScriptedHTTP

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-1111111111-2222222222-AbCdEfGhIjKlMnOpQrStUvWx",
    "SLACK_APP_TOKEN": "xapp-1-A0123456789-1234567890123-abcdef0123456789",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
    "X_BEARER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI",
    "X_API_KEY": "xvz1evFS4wEEPTGEFPHBog",
    "X_API_SECRET": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
    "X_ACCESS_TOKEN": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
    "X_ACCESS_TOKEN_SECRET": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    "MASTODON_ACCESS_TOKEN": "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0",
    "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
}
DB_PASSWORD = "s3cr3t-db-pw"


@pytest.fixture
def settings() -> Settings:
    return Settings(_env_file=None, **SECRETS,
                    DATABASE_URL=f"postgresql+psycopg://bot:{DB_PASSWORD}@db:5432/socialbot")


@pytest.fixture
def captured(settings):
    """The root logger at DEBUG with the bot's handler (text format) writing to a buffer."""
    out = io.StringIO()
    handler = make_handler(settings, out)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def assert_clean(text: str) -> None:
    for name, value in [*SECRETS.items(), ("DATABASE_URL password", DB_PASSWORD)]:
        assert value not in text, f"{name} leaked:\n{text}"


def test_every_secret_setting_is_known(settings):
    assert set(secrets_of(settings)) == {*SECRETS.values(), DB_PASSWORD}


class ToLocalX(requests.Session):
    """tweepy's requests, sent to a local server instead of api.twitter.com (same path and
    query). Deliberately not the bot's `TimeoutSession`: importing bot.networks.x.client puts
    its own redacting filter on tweepy's loggers, and these tests are about the log handler's."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def request(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        return super().request(method, url.replace("https://api.twitter.com", self.base, 1),
                               *args, **kwargs)


def get_user(x: ScriptedHTTP, client: tweepy.Client, **kw: object) -> None:
    x.get("/2/users/by/username/NorthwindAir",
          json={"data": {"id": "1", "name": "N", "username": "NorthwindAir"}})
    client.session = ToLocalX(x.url)
    client.get_user(username="NorthwindAir", **kw)


def test_tweepy_debug_request_logs_are_redacted_bearer(captured, settings):
    with ScriptedHTTP() as x:
        get_user(x, tweepy.Client(bearer_token=settings.X_BEARER_TOKEN.get_secret_value()))
    text = captured.getvalue()
    assert "Making API request" in text and "'Authorization': " in text  # it did log headers
    assert_clean(text)
    assert f"'Authorization': '{REDACTED}'" in text


def test_tweepy_user_context_oauth1_debug_logs_are_redacted(captured, settings):
    with ScriptedHTTP() as x:
        client = tweepy.Client(
            consumer_key=settings.X_API_KEY.get_secret_value(),
            consumer_secret=settings.X_API_SECRET.get_secret_value(),
            access_token=settings.X_ACCESS_TOKEN.get_secret_value(),
            access_token_secret=settings.X_ACCESS_TOKEN_SECRET.get_secret_value())
        get_user(x, client, user_auth=True)
    text = captured.getvalue()
    assert "oauth_signature" in text and "Updated headers" in text  # requests-oauthlib logged
    assert_clean(text)
    signature = re.search(r"oauth_signature=\"?([^\",&\s]+)", text)
    assert signature is None or signature[1] == REDACTED
    assert re.search(r"Signature: (?!\[REDACTED\])", text) is None


def test_urllib3_debug_lines_lose_tokens_in_urls(captured, settings):
    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        token = settings.MASTODON_ACCESS_TOKEN.get_secret_value()
        with urllib3.PoolManager() as http:
            # A token in a query string (a streaming URL, say) and one no setting knows.
            http.request("GET", f"http://127.0.0.1:{server.server_port}/api/v1/streaming"
                                f"?access_token={token}&stream=user")
            http.request("GET", f"http://127.0.0.1:{server.server_port}/feed"
                                "?access_token=unknown-but-still-a-token-123")
    finally:
        server.shutdown()
        server.server_close()
    text = captured.getvalue()
    assert "/api/v1/streaming" in text  # urllib3 logged the request line
    assert_clean(text)
    assert "unknown-but-still-a-token-123" not in text
    assert f"access_token={REDACTED}&stream=user" in text


@pytest.mark.parametrize("line, leaked", [
    ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    ('{"Authorization": "Basic dXNlcjpwYXNz"}', "dXNlcjpwYXNz"),
    ("calling with token xoxb-9999-8888-zzzzTOKEN", "xoxb-9999-8888-zzzzTOKEN"),
    ("user token xoxp-1-2-3-abcdef leaked", "xoxp-1-2-3-abcdef"),
    ("app token xapp-1-A1-2-ffff", "xapp-1-A1-2-ffff"),
    ("refresh xoxe.xoxp-1-abc and xoxa-2-def", "xoxa-2-def"),
    ("bearer AAAA%2Bxyz== in text", "AAAA%2Bxyz"),
    ("postgresql://bot:hunter2hunter2@db/socialbot", "hunter2hunter2"),
    ("login {'identifier': 'brand.bsky.social', 'password': 'pw-unknown-1'}", "pw-unknown-1"),
])
def test_credential_shapes_are_redacted_even_when_no_setting_holds_them(line, leaked):
    out = Redactor().redact(line)
    assert leaked not in out and REDACTED in out


def test_messages_arguments_and_tracebacks_are_redacted(captured, settings):
    token = settings.SLACK_BOT_TOKEN.get_secret_value()
    log = logging.getLogger("bot.some.module")
    log.warning("posting with %s failed", token)
    try:
        raise RuntimeError(f"invalid_auth for {settings.BLUESKY_APP_PASSWORD.get_secret_value()}")
    except RuntimeError:
        log.exception("listener failed")
    text = captured.getvalue()
    assert "posting with [REDACTED] failed" in text
    assert "RuntimeError: invalid_auth for [REDACTED]" in text
    assert_clean(text)


def test_short_values_are_not_matched_literally():
    # A test's signing secret "s" must not blank every letter s.
    assert Redactor(["s"]).redact("slack sends signed requests") == "slack sends signed requests"


def test_json_lines_with_fields_and_redacted_tracebacks(settings):
    out = io.StringIO()
    handler = make_handler(settings.model_copy(update={"SOCIALBOT_LOG_FORMAT": "json"}), out)
    assert isinstance(handler.formatter, JsonFormatter)
    log = logging.getLogger("bot.test_json")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        log.info("polled %s: %d new", "x-mentions", 3, extra={"source": "x-mentions"})
        try:
            raise ValueError(f"bad token {SECRETS['X_BEARER_TOKEN']}")
        except ValueError:
            log.error("poll failed\nsecond line", exc_info=True)
    finally:
        log.removeHandler(handler)
        log.propagate = True
        log.setLevel(logging.NOTSET)
    first, second = [json.loads(line) for line in out.getvalue().splitlines()]
    assert first["message"] == "polled x-mentions: 3 new"
    assert (first["level"], first["logger"], first["source"]) == ("INFO", "bot.test_json",
                                                                  "x-mentions")
    assert first["time"].endswith("+00:00")
    assert second["message"] == "poll failed\nsecond line"  # one line of JSON all the same
    assert "ValueError: bad token [REDACTED]" in second["exc"]
    assert_clean(out.getvalue())


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SLACK_", "X_", "DATABASE", "SOCIALBOT_", "LOG_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


def test_socialbot_logs_json_lines_when_asked(tmp_path):
    done = _cli(tmp_path, "migrate", SOCIALBOT_LOG_FORMAT="json",
                DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    assert any(e["logger"].startswith("alembic") for e in lines)
    bad = _cli(tmp_path, "migrate", SOCIALBOT_LOG_FORMAT="xml")
    assert bad.returncode == 2 and "SOCIALBOT_LOG_FORMAT" in bad.stderr


@pytest.mark.parametrize("mode, warned", [(0o600, False), (0o640, True), (0o604, True),
                                          (0o660, True), (0o400, False)])
def test_check_warns_when_env_is_open_to_group_or_world(tmp_path, mode, warned):
    env = tmp_path / ".env"
    env.write_text(f"SLACK_BOT_TOKEN={SECRETS['SLACK_BOT_TOKEN']}\n")
    env.chmod(mode)
    done = _cli(tmp_path, "check", "--rules", str(ROOT / "routing_rules.yaml"))
    assert done.returncode == 0, done.stderr
    assert ("chmod 600 .env" in done.stdout) is warned
    assert SECRETS["SLACK_BOT_TOKEN"] not in done.stdout + done.stderr
