"""Requests to the bot over real HTTP, signed as Slack signs them: `BotServer` (the address of
the real Bolt app behind the real HTTP server, and its runtime), `slash()` the form body of a
`/social` command. tests/e2e/conftest.py starts the server (fixture `bot_server`); the
benchmarks in bench/ use the same client."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.app import Runtime

SIGNING_SECRET = "e2e-signing-secret"
FORM = "application/x-www-form-urlencoded"


@dataclass
class Response:
    status: int
    body: bytes


@dataclass
class BotServer:
    url: str
    runtime: Runtime | None
    signing_secret: str = SIGNING_SECRET  # what the bot verifies requests with

    def post(self, path: str, body: str, *, content_type: str, timestamp: int | None = None,
             secret: str | None = None, headers: dict | None = None) -> Response:
        secret = self.signing_secret if secret is None else secret
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(),
                               hashlib.sha256).hexdigest()
        req = urllib.request.Request(self.url + path, data=body.encode(), method="POST", headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig, **(headers or {})})
        return _send(req)

    def get(self, path: str) -> Response:
        return _send(urllib.request.Request(self.url + path))

    def head(self, path: str) -> Response:
        return _send(urllib.request.Request(self.url + path, method="HEAD"))


def _send(req: urllib.request.Request) -> Response:
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return Response(resp.status, resp.read())
    except urllib.error.HTTPError as exc:
        return Response(exc.code, exc.read())


def slash(fake_slack, text: str = "help") -> str:
    """The form body of `/social <text>` from U0ANA in #care; answers go to the fake Slack."""
    return urlencode({
        "token": "legacy", "team_id": "T111", "team_domain": "acme", "channel_id": "C0CARE00001",
        "channel_name": "care", "user_id": "U0ANA", "user_name": "ana", "command": "/social",
        "text": text, "response_url": fake_slack.url + "respond/T111/1/abc",
        "trigger_id": "111.222.333"})
