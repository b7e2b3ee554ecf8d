"""Meta's webhook in HTTP mode, through the real server: a signed delivery makes the bot read
the comment by id at once (a comment on an old post the polls no longer watch); the card shows
Meta's text, never the delivery's; a mis-signed or unsigned delivery is refused with 401 and
changes nothing; a retried delivery is one card; the subscription challenge is answered only
for our verify token."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.desk_clicks import blocks_of, calls, one_card
from tests.support.fake_meta import PAGE_ID, FakeMeta
from tests.support.rules_files import shipped_rules_with

SECRET = "meta-app-secret"
VERIFY = "verify-me-please"


def rules_with_page(tmp_path: Path) -> Path:
    # every 1h: the webhook, not the next poll, brings it
    return shipped_rules_with(
        tmp_path, [{"id": "fb", "type": "facebook_page", "page_id": PAGE_ID, "every": "1h"}])


@pytest.fixture
def meta():
    fake = FakeMeta(app_secret=SECRET).start()
    yield fake
    fake.stop()


def post(url: str, body: bytes, signature: str | None) -> int:
    headers = {"Content-Type": "application/json"}
    if signature:
        headers["X-Hub-Signature-256"] = signature
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_signed_delivery_brings_the_comment_at_once_and_forgeries_change_nothing(
        start_bot, fake_slack, meta, tmp_path):
    now = datetime.now(UTC).timestamp()
    old = meta.post("555000000000001", "A post from last year", now - 400 * 86400)
    bot = start_bot(rules_with_page(tmp_path), **meta.env(),
                    META_WEBHOOK_VERIFY_TOKEN=VERIFY)
    fake_slack.wait_until(lambda: meta.of_kind("feed"), timeout=10)  # the first poll is done
    meta.posts.clear()  # the old post is far down the feed: no poll reads its comments
    comment = meta.comment(old, "777000000000042", "Still no refund for my cancelled flight",
                           now - 30)
    url = f"{bot.url}/meta/webhook"

    challenge = f"{url}?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=8842"
    with urllib.request.urlopen(challenge, timeout=10) as resp:
        assert resp.read() == b"8842"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(challenge.replace(VERIFY, "guess"), timeout=10)
    assert refused.value.code == 403

    delivery = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": int(now),
        "changes": [{"field": "feed", "value": {
            "item": "comment", "verb": "add", "comment_id": comment, "post_id": old,
            "from": {"id": "1", "name": "Mallory"},
            "message": "FORGED <!channel> click http://evil.example"}}]}]}).encode()
    assert post(url, delivery, None) == 401
    assert post(url, delivery, sign(delivery, "not-the-secret")) == 401
    time.sleep(1)
    assert meta.of_kind("object") == []  # nothing was read for a refused delivery

    assert post(url, delivery, sign(delivery)) == 200
    card = one_card(fake_slack, "Still no refund")
    text = json.dumps(blocks_of(card), ensure_ascii=False)
    assert "Dana Whitfield" in text and "FORGED" not in text and "Mallory" not in text

    assert post(url, delivery, sign(delivery)) == 200  # Meta retries: one card all the same
    fake_slack.wait_until(lambda: len(meta.of_kind("object")) >= 2, timeout=10)
    time.sleep(1)
    assert len([c for c in calls(fake_slack, "chat.postMessage")
                if "Still no refund" in str(c.params)]) == 1


def test_without_the_webhook_settings_the_path_is_not_served(start_bot, meta, tmp_path):
    bot = start_bot(rules_with_page(tmp_path), **meta.env())
    body = b'{"object": "page", "entry": []}'
    assert post(f"{bot.url}/meta/webhook", body, sign(body)) == 404
