"""The HTTP surface of `socialbot run --http`: Slack's endpoint plus health and metrics.

A WSGI app served by the standard library's threaded server: Bolt verifies signatures on
`POST /slack/events`; `GET /healthz` answers 200 only when the database answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

log = logging.getLogger(__name__)
SLACK_PATH = "/slack/events"


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow client never blocks shutdown
    # The listen backlog: socketserver's default is 5, and a burst of clicks beyond that
    # overflowed it (connections reset or delayed by a 1 s SYN retry: 26 of 50 concurrent
    # clicks unanswered in bench/desk.py). The kernel caps it at net.core.somaxconn.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib name)
        log.debug("%s %s", self.address_string(), format % args)


def wsgi_app(app: App, healthy: Callable[[], tuple[bool, str]],
             registry: CollectorRegistry) -> Callable:
    slack = SlackRequestHandler(app, path=SLACK_PATH)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            ok, detail = healthy()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [detail.encode()]
        if path == "/metrics" and method == "GET":
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [generate_latest(registry)]
        return slack(environ, start_response)

    return application


def make_http_server(application: Callable, host: str, port: int) -> WSGIServer:
    return make_server(host, port, application, server_class=_ThreadingWSGIServer,
                       handler_class=_QuietHandler)
