"""Composition root: Settings + Rules → database, Slack client, Bolt app, HTTP server.

The only module that imports `handlers` and wires real adapters together.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine, text

import handlers
from bot.config import MissingSetting, Settings
from bot.db import make_engine, upgrade_to_head
from bot.http import make_http_server, wsgi_app
from bot.metrics import Metrics
from bot.rules import Rules

log = logging.getLogger(__name__)
DEFAULT_HTTP_PORT = 3000


def build_app(settings: Settings, rules: Rules, *, token_verification: bool = True) -> App:
    """The Bolt app with every listener registered. Raises `MissingSetting` naming the token."""
    token = settings.secret("SLACK_BOT_TOKEN")
    signing_secret = (settings.secret("SLACK_SIGNING_SECRET")
                      if not settings.is_set("SLACK_APP_TOKEN") else
                      (settings.SLACK_SIGNING_SECRET.get_secret_value()
                       if settings.SLACK_SIGNING_SECRET else None))
    client = WebClient(token=token, base_url=settings.SLACK_API_URL)
    app = App(token=token, signing_secret=signing_secret, client=client,
              token_verification_enabled=token_verification,
              # Socket Mode has no signature; HTTP mode must verify (kept on).
              request_verification_enabled=signing_secret is not None)
    app.logger.setLevel(logging.getLogger().level)
    handlers.register(app)
    return app


def database_health(engine: Engine) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # health is a yes/no answer, the reason goes in the body
            return False, f"database unavailable: {type(exc).__name__}"
        return True, "ok"

    return check


def serve(settings: Settings, rules: Rules, *, http_port: int | None) -> int:
    """Run until SIGTERM/SIGINT: Socket Mode when SLACK_APP_TOKEN is set and no port is given,
    else HTTP on `http_port` (default 3000, Bolt's)."""
    socket_mode = http_port is None and settings.is_set("SLACK_APP_TOKEN")
    http_port = http_port or DEFAULT_HTTP_PORT
    missing = settings.missing_for_slack(socket_mode=socket_mode)
    if missing:
        raise MissingSetting(f"{missing[0]} is not set (environment or .env)")
    # Migrating here makes `socialbot run` the whole set-up on a fresh machine.
    upgrade_to_head(settings.DATABASE_URL)
    engine = make_engine(settings.DATABASE_URL)
    app = build_app(settings, rules)
    metrics = Metrics()
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, settings.secret("SLACK_APP_TOKEN"))
        handler.connect()
        log.info("connected to Slack in Socket Mode")
        stop.wait()
        handler.close()
    else:
        server = make_http_server(wsgi_app(app, database_health(engine), metrics.registry),
                                  "0.0.0.0", http_port)
        thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
        thread.start()
        log.info("serving Slack on http://0.0.0.0:%s/slack/events", http_port)
        stop.wait()
        server.shutdown()
    engine.dispose()
    log.info("stopped")
    return 0
