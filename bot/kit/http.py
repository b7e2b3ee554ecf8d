"""The HTTP surface of `socialbot run --http`: Slack's endpoint plus health and metrics.

A WSGI app served by waitress with timeouts and limits (`bot.kit.serving`): on
`POST /slack/events` the signature is checked on the raw body before anything parses it (then
Bolt verifies it again), and what Bolt would crash on is a 400; `GET`/`POST /meta/webhook` are
Meta's (`bot.kit.webhooks`), when set up; `GET`/`HEAD /healthz` answers 200 only when
`bot.kit.liveness` finds nothing wrong (database writable, scheduler and leader jobs running,
Slack connected, outbox moving), else 503 with the reason.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from bot.kit.acks import ACKS, Acks
from bot.kit.serving import HttpServer, make_http_server
from bot.kit.webhooks import META_PATH

__all__ = ["HEALTH_PATHS", "SLACK_PATH", "HttpServer", "health_app", "make_http_server",
           "wsgi_app"]
log = logging.getLogger(__name__)
SLACK_PATH = "/slack/events"


HEALTH_PATHS = ("/healthz", "/metrics")


def health_app(healthy: Callable[[], tuple[bool, str]], registry: CollectorRegistry) -> Callable:
    """WSGI: GET /healthz and GET /metrics, 404 for anything else. Served alone in Socket
    Mode (no Slack endpoint may be served: unsigned requests must never reach the Bolt app),
    and as part of `wsgi_app` in HTTP mode."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if method in ("GET", "HEAD") and path == "/healthz":  # HEAD: load balancers' probe
            ok, detail = healthy()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [] if method == "HEAD" else [detail.encode()]
        if method == "GET" and path == "/metrics":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(registry)]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [b"not found"]

    return application


def wsgi_app(app: App, healthy: Callable[[], tuple[bool, str]],
             registry: CollectorRegistry,
             on_ack: Callable[[float], None] | None = None,
             meta_webhook: Callable | None = None, *,
             signing_secret: str | None = None, acks: Acks = ACKS) -> Callable:
    """The WSGI app; `on_ack` is told how many seconds each Slack request took to answer;
    `meta_webhook` serves META_PATH (`bot.kit.webhooks`) when Meta's webhooks are set up.
    With `signing_secret`, a Slack request whose signature is wrong is refused (401) before
    its body is parsed: nothing unsigned reaches a JSON parser. Each Slack request counts in
    `acks` until its answer starts: work after other acks yields to it (`bot.kit.acks`)."""
    bolt = SlackRequestHandler(app, path=SLACK_PATH)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    health = health_app(healthy, registry)

    def slack(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if on_ack is None:
            return bolt(environ, start_response)
        started = time.perf_counter()

        def timed(status: str, headers: list, *exc_info: object) -> Callable:
            on_ack(time.perf_counter() - started)  # Bolt answers once the listener acked
            return start_response(status, headers, *exc_info)

        return bolt(environ, timed)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path in HEALTH_PATHS and method in ("GET", "HEAD"):
            return health(environ, start_response)
        if path == META_PATH:
            if meta_webhook is None:
                start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"not found"]
            return meta_webhook(environ, start_response)
        if path == SLACK_PATH and method == "POST":
            answered = acks.arrived()

            def acked(status: str, headers: list, *exc_info: object) -> Callable:
                answered()
                return start_response(status, headers, *exc_info)

            try:
                refused = _refuse_malformed(environ, verifier)
                if refused is not None:
                    status, reason = refused
                    log.info("slack request refused: %s (%s)", status, reason)
                    acked(status, [("Content-Type", "text/plain; charset=utf-8")])
                    return [status.split(" ", 1)[1].encode()]
                return slack(environ, acked)
            finally:
                answered()  # Bolt raised or never answered: no longer waiting either way
        return slack(environ, start_response)

    return application


def _refuse_malformed(environ: dict,
                      verifier: SignatureVerifier | None) -> tuple[str, str] | None:
    """What Bolt would crash on (→ 500) or answer 404 to, answered here: a timestamp that is
    not a number can't be signed (401), nor can a body whose signature is wrong (401, before
    parsing: with `verifier`); a body that is not UTF-8, not JSON where JSON is due, nested
    deeper than the parser recurses, or not a Slack request at all is 400. The body (at most
    `bot.kit.serving.MAX_BODY`: the server refuses more) is put back for Bolt."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "400 Bad Request", "bad Content-Length"
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")).strip()
    if not timestamp.isdigit():
        return "401 Unauthorized", "no usable X-Slack-Request-Timestamp"
    if verifier is not None and not verifier.is_valid(
            raw, timestamp, str(environ.get("HTTP_X_SLACK_SIGNATURE", ""))):
        return "401 Unauthorized", "bad signature or timestamp"
    try:
        body = parse_body(raw.decode("utf-8"), environ.get("CONTENT_TYPE"))
    # UnicodeDecodeError and JSONDecodeError are ValueErrors; `[[[[…]]]]` 100,000 deep is a
    # RecursionError in json.loads (was an uncaught 500).
    except (ValueError, RecursionError) as exc:
        return "400 Bad Request", f"unparseable body: {type(exc).__name__}"
    if not isinstance(body, dict) or not ({"type", "command", "ssl_check"} & body.keys()):
        return "400 Bad Request", "not a Slack event, interaction or command"
    return None
