"""`/meta/webhook`: the subscription challenge, signatures (unsigned or mis-signed → 401), and
deliveries read as hints only (`bot.networks.graph.webhook`)."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from typing import Any

from bot.kit.webhooks import meta_webhook_app, signature_ok
from bot.networks.graph.webhook import Hint, PendingHints, hints_of

SECRET = "app-secret"


def call(app, method: str, *, query: str = "", body: bytes = b"",
         signature: str | None = None) -> tuple[str, bytes]:
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "QUERY_STRING": query,
                               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    if signature is not None:
        environ["HTTP_X_HUB_SIGNATURE_256"] = signature
    status: list[str] = []
    out = b"".join(app(environ, lambda s, headers: status.append(s)))
    return status[0], out


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_challenge_is_echoed_only_for_our_verify_token():
    app = meta_webhook_app(SECRET, "verify-me", lambda p: None)
    ok = call(app, "GET", query="hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158")
    assert ok == ("200 OK", b"1158")
    bad = call(app, "GET", query="hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158")
    assert bad[0] == "403 Forbidden" and b"1158" not in bad[1]


def test_unsigned_missigned_and_broken_deliveries_are_refused():
    got: list[Any] = []
    app = meta_webhook_app(SECRET, "verify-me", got.append)
    body = json.dumps({"object": "page", "entry": []}).encode()
    assert call(app, "POST", body=body)[0] == "401 Unauthorized"
    assert call(app, "POST", body=body, signature=sign(body, "other"))[0] == "401 Unauthorized"
    assert call(app, "POST", body=body, signature="sha1=abc")[0] == "401 Unauthorized"
    assert call(app, "POST", body=b"{not json", signature=sign(b"{not json"))[0] == \
        "400 Bad Request"
    assert got == []
    assert call(app, "POST", body=body, signature=sign(body)) == ("200 OK", b"EVENT_RECEIVED")
    assert got == [{"object": "page", "entry": []}]
    assert signature_ok(SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))


def test_deliveries_become_hints_of_ids_only():
    payload = {"object": "page", "entry": [{"id": "104123456789012", "time": 1, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add",
                                    "comment_id": "555_777", "post_id": "104123456789012_555",
                                    "message": "FORGED <!channel> text"}},
        {"field": "feed", "value": {"item": "comment", "verb": "add",
                                    "comment_id": "555_777", "post_id": "104123456789012_555"}},
        {"field": "feed", "value": {"item": "comment", "verb": "remove",
                                    "comment_id": "555_778"}},
        {"field": "feed", "value": {"item": "status", "verb": "add",
                                    "post_id": "104123456789012_556"}},
        {"field": "feed", "value": {"item": "comment", "verb": "add",
                                    "comment_id": "../../me?x=1"}}]}]}
    assert hints_of(payload) == [
        Hint("page", "104123456789012", "comment", "555_777", "104123456789012_555"),
        Hint("page", "104123456789012", "post", "104123456789012_556")]
    ig = {"object": "instagram", "entry": [{"id": "17841400000000001", "changes": [
        {"field": "comments", "value": {"id": "1785", "text": "hi", "media": {"id": "1790"}}},
        {"field": "mentions", "value": {"media_id": "1791", "comment_id": "1786"}},
        {"field": "mentions", "value": {"media_id": "1792"}}]}]}
    assert [h.kind for h in hints_of(ig)] == ["comment", "mention_comment", "mention_media"]
    assert hints_of({"object": "user", "entry": []}) == [] and hints_of([1, 2]) == []


def test_pending_hints_are_put_back_after_a_failed_poll():
    pending = PendingHints(limit=2)
    a, b, c = (Hint("page", "1", "comment", str(n)) for n in range(3))
    for h in (a, b, c):
        pending.add(h)
    taken = pending.take(5)
    assert taken == [b, c]  # the oldest dropped beyond the limit
    pending.put_back(taken)
    assert pending.take(1) == [b]
