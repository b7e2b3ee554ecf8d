"""`GET`/`POST /meta/webhook` in HTTP mode: Meta's subscription challenge and its signed
deliveries (Facebook Page feed, Instagram comments and mentions).

- `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: Meta checks the endpoint when
  the subscription is saved; the challenge is echoed only when the token is
  META_WEBHOOK_VERIFY_TOKEN (compared in constant time), else 403.
- `POST`: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body with META_APP_SECRET>`.
  Unsigned or mis-signed → 401, like a Slack request that fails its signature; a body that is
  not JSON → 400; else 200 at once and the payload goes to `on_delivery`, which only queues
  hints (`bot.networks.graph.webhook`): Meta expects an answer within seconds and retries
  what it does not get, and a retry is harmless.

Infrastructure only: what a delivery means is `on_delivery`'s business (the composition root
routes it to the sources), so this module imports no network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger(__name__)

META_PATH = "/meta/webhook"
MAX_BODY = 1 << 20  # Meta's deliveries are small; a megabyte is plenty


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def meta_webhook_app(app_secret: str, verify_token: str,
                     on_delivery: Callable[[Any], object]) -> Callable:
    """The WSGI app of META_PATH."""

    def answer(start_response: Callable, status: str, text: str) -> Iterable[bytes]:
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [text.encode()]

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if method == "GET":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
                    query.get("hub.verify_token", "").encode(), verify_token.encode()):
                log.info("meta webhook: subscription verified")
                return answer(start_response, "200 OK", query.get("hub.challenge", ""))
            log.warning("meta webhook: verification refused (wrong or missing verify token)")
            return answer(start_response, "403 Forbidden", "forbidden")
        if method != "POST":
            return answer(start_response, "405 Method Not Allowed", "method not allowed")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return answer(start_response, "400 Bad Request", "bad Content-Length")
        if length > MAX_BODY:
            return answer(start_response, "413 Content Too Large", "too large")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        if not signature_ok(app_secret, body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
            log.warning("meta webhook: refused a delivery with no or a wrong signature")
            return answer(start_response, "401 Unauthorized", "unauthorized")
        try:
            payload = json.loads(body.decode("utf-8"))
        except ValueError:
            return answer(start_response, "400 Bad Request", "not JSON")
        on_delivery(payload)
        return answer(start_response, "200 OK", "EVENT_RECEIVED")

    return application
