"""A small fake of Slack's Web API on 127.0.0.1 for end-to-end tests.

It records every call (method, form/JSON params) and answers like Slack does for the methods the
bot uses. `SLACK_API_URL` points slack-sdk at it; `response_url`s in payloads point at `/respond/…`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from urllib.parse import parse_qs


@dataclass
class Call:
    method: str  # Web API method ("chat.postMessage") or "respond"
    params: dict
    headers: dict


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ts: count = field(default_factory=lambda: count(1))

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                path = self.path.split("?")[0]
                method = "respond" if path.startswith("/respond/") else path.rsplit("/", 1)[-1]
                body = fake.answer(method, params)
                with fake._changed:
                    fake.calls.append(Call(method, params, dict(self.headers)))
                    fake._changed.notify_all()
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def answer(self, method: str, params: dict) -> dict:
        if method == "auth.test":
            return {"ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "socialbot",
                    "team_id": "T111", "user_id": "U0BOT", "bot_id": "B0BOT"}
        if method in ("chat.postMessage", "chat.update"):
            return {"ok": True, "channel": params.get("channel"),
                    "ts": params.get("ts") or f"1700000000.{next(self._ts):06d}"}
        return {"ok": True}

    def wait_for(self, method: str, timeout: float = 5.0) -> Call:
        """Block until a call to `method` arrived (listeners run after the ack, in a thread)."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: any(c.method == method for c in self.calls), timeout=timeout)
        if not ok:
            raise AssertionError(f"no {method} call; got {[c.method for c in self.calls]}")
        return next(c for c in self.calls if c.method == method)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
