"""MastodonSource through the real Mastodon.py client, against response bodies recorded by
Mastodon.py's own test suite (MIT; see tests/data/README.md), served over real HTTP by a
scripted local server (tests/support/scripted_http.py) that is the client's instance base URL."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import RateLimited, SourceAuthError, SourceState, SourceUnavailable
from bot.networks.mastodon.client import build_mastodon
from bot.networks.mastodon.source import MastodonSource
from tests.support.paths import DATA
from tests.support.scripted_http import ScriptedHTTP

DATA = DATA / "mastodon"
BASE = "http://localhost:3000"  # where the recordings were made (their URLs say so)
NOTIFICATIONS = "/api/v1/notifications"
NOW = datetime(2026, 8, 1, 13, 52, tzinfo=UTC)  # just after the recordings
SPEC = SourceSpec(id="mastodon", type="mastodon_mentions", every="60s")
BRAND = Brand(name="Acme Bank", mastodon_acct="mastodonpy_test@localhost:3000")


def recorded(cassette: str, method: str, uri: str) -> dict[str, Any]:
    for interaction in json.loads((DATA / f"{cassette}.json").read_text()):
        if interaction["request"]["method"] == method and interaction["request"]["uri"] == uri:
            return interaction["response"]
    raise KeyError(f"{cassette}: no {method} {uri}")


MENTIONS_ONLY = recorded("test_notifications_mentions_only", "GET",
                         f"{BASE}{NOTIFICATIONS}?types%5B%5D=mention")
ALL_TYPES = recorded("test_notifications", "GET", f"{BASE}{NOTIFICATIONS}")
NOTIFICATION_21 = MENTIONS_ONLY["json"][0]
NOTIFICATION_20 = ALL_TYPES["json"][0]


@pytest.fixture
def api() -> Iterator[ScriptedHTTP]:
    """The instance: each answer once, to the exact query given; nothing else is served."""
    with ScriptedHTTP() as server:
        yield server


def make_source(api: ScriptedHTTP, *, timeout: float = 5, **kw: Any) -> MastodonSource:
    settings = Settings(MASTODON_API_BASE_URL=api.url,
                        MASTODON_ACCESS_TOKEN="__MASTODON_PY_TEST_ACCESS_TOKEN")
    return MastodonSource(SPEC, BRAND, build_mastodon(settings, timeout=timeout), **kw)


def query(**params: str) -> dict[str, str]:
    """The exact query of a notifications page (nothing more, nothing less)."""
    return {"types[]": "mention", **params}


def test_recorded_mention_is_normalised(api: ScriptedHTTP) -> None:
    api.get(NOTIFICATIONS, json=MENTIONS_ONLY["json"], headers=MENTIONS_ONLY["headers"],
                  query=query(limit="80"))

    got = make_source(api).fetch(SourceState(), now=NOW)

    [m] = got.mentions
    assert m.network == "mastodon" and m.source_id == "mastodon"
    assert m.external_id == "117020577157693549"  # the status, not the notification
    assert m.text == "@mastodonpy_test hello!"  # h-card mention kept as @user, tags gone
    assert m.author.handle == "admin"
    assert m.author.name == "admin"  # empty display_name → username
    assert m.author.followers == 1 and m.author.external_id == "117020565693913441"
    assert m.url == "http://localhost:3000/@admin/117020577157693549"
    assert m.created_at == datetime(2026, 8, 1, 13, 51, 42, 823000, tzinfo=UTC)
    assert m.lang == "en" and m.mentions_brand and m.in_reply_to_id is None
    assert m.extra["notification_id"] == "21" and m.extra["visibility"] == "public"
    assert got.state == SourceState(cursor="21")
    assert got.reads == 1 and got.notes == []
    sent = api.calls[0].request
    assert sent.headers["Authorization"] == "Bearer __MASTODON_PY_TEST_ACCESS_TOKEN"
    assert "socialbot" in sent.headers["User-Agent"]


def test_since_id_is_sent_and_pages_are_read_back_to_it(api: ScriptedHTTP) -> None:
    # page size 1 so the two recorded notifications make two full pages and an empty one
    api.get(NOTIFICATIONS, json=[NOTIFICATION_21], headers=MENTIONS_ONLY["headers"],
                  query=query(limit="1", since_id="19"))
    api.get(NOTIFICATIONS, json=[NOTIFICATION_20], headers=ALL_TYPES["headers"],
                  query=query(limit="1", since_id="19", max_id="21"))
    api.get(NOTIFICATIONS, json=[], query=query(limit="1", since_id="19", max_id="20"))

    got = make_source(api, page_limit=1).fetch(SourceState(cursor="19"), now=NOW)

    assert [m.extra["notification_id"] for m in got.mentions] == ["20", "21"]  # oldest first
    assert [m.external_id for m in got.mentions] == ["117020576916218297", "117020577157693549"]
    assert got.state.cursor == "21" and got.reads == 2
    assert len(api.calls) == 3


def test_nothing_new_keeps_the_cursor(api: ScriptedHTTP) -> None:
    api.get(NOTIFICATIONS, json=[], query=query(limit="80", since_id="21"))
    got = make_source(api).fetch(SourceState(cursor="21"), now=NOW)
    assert got.mentions == [] and got.state.cursor == "21"


def test_page_cap_is_reported(api: ScriptedHTTP) -> None:
    api.get(NOTIFICATIONS, json=[NOTIFICATION_21], query=query(limit="1", since_id="5"))
    got = make_source(api, page_limit=1, max_pages=1).fetch(SourceState(cursor="5"), now=NOW)
    assert got.state.cursor == "21"
    assert "page cap reached" in got.notes[0]


def test_a_burst_past_the_cap_leaves_a_gap_the_next_poll_reads(api: ScriptedHTTP) -> None:
    """Issue 18: the cap used to move the cursor past the mentions it did not read."""
    older = copy.deepcopy(NOTIFICATION_20)
    older["id"], older["status"]["id"] = "19", "117020576000000001"
    api.get(NOTIFICATIONS, json=[NOTIFICATION_21], query=query(limit="1", since_id="5"))
    api.get(NOTIFICATIONS, json=[NOTIFICATION_20],
                  query=query(limit="1", since_id="5", max_id="21"))
    first = make_source(api, page_limit=1, max_pages=2).fetch(SourceState(cursor="5"), now=NOW)
    assert first.state.cursor == "21" and first.state.backfill
    assert [m.extra["notification_id"] for m in first.mentions] == ["20", "21"]
    assert "read by the next polls" in first.notes[0]

    api.get(NOTIFICATIONS, json=[], query=query(limit="1", since_id="21"))
    api.get(NOTIFICATIONS, json=[older], query=query(limit="1", since_id="5",
                                                            max_id="20"))
    api.get(NOTIFICATIONS, json=[], query=query(limit="1", since_id="5", max_id="19"))
    second = make_source(api, page_limit=1, max_pages=3).fetch(first.state, now=NOW)
    assert [m.external_id for m in second.mentions] == ["117020576000000001"]
    assert second.state == SourceState(cursor="21")  # gap closed, the cursor where it was
    assert (second.reads, second.backfill_reads) == (1, 1)


def test_reply_status_keeps_in_reply_to_id(api: ScriptedHTTP) -> None:
    # The recorded reply (Mastodon.py test_status_reply) placed in the recorded notification.
    reply_status = next(
        i["response"]["json"] for i in json.loads((DATA / "test_status_reply.json").read_text())
        if i["request"]["method"] == "POST" and "in_reply_to_id" in (i["request"]["body"] or ""))
    notification = copy.deepcopy(NOTIFICATION_21)
    notification["status"] = reply_status
    api.get(NOTIFICATIONS, json=[notification], query=query(limit="80"))

    [m] = make_source(api).fetch(SourceState(), now=NOW).mentions

    assert m.in_reply_to_id == "117020583245459824"
    assert m.external_id == "117020583258292382"
    assert m.text == "@mastodonpy_test_2 same!"
    assert m.extra["in_reply_to_account_id"] == reply_status["in_reply_to_account_id"]


def test_content_warning_line_breaks_and_own_posts(api: ScriptedHTTP) -> None:
    cw = copy.deepcopy(NOTIFICATION_21)
    cw["status"]["spoiler_text"] = "bank rant"
    cw["status"]["content"] = "<p>first line<br>second &amp; last</p><p>next paragraph</p>"
    own = copy.deepcopy(NOTIFICATION_20)
    own["id"] = "22"
    own["status"]["account"]["acct"] = "mastodonpy_test"  # the brand itself
    api.get(NOTIFICATIONS, json=[own, cw], query=query(limit="80"))

    got = make_source(api).fetch(SourceState(), now=NOW)

    [m] = got.mentions
    assert m.text == "CW: bank rant\n\nfirst line\nsecond & last\n\nnext paragraph"
    assert got.state.cursor == "22"
    assert "1 of the brand's own posts skipped" in got.notes


@pytest.mark.parametrize(("status", "body", "error", "text"), [
    (401, {"error": "The access token is invalid"}, SourceAuthError, "access token refused"),
    (403, {"error": "This action is outside the authorized scopes"}, SourceAuthError,
     "access refused"),
    (404, recorded("test_status_missing", "GET", f"{BASE}/api/v1/statuses/0")["json"],
     SourceAuthError, "MASTODON_API_BASE_URL"),
    (422, {"error": "Validation failed"}, SourceAuthError, "request refused"),
    (500, {"error": "We're sorry, but something went wrong"}, SourceUnavailable, "server error"),
    (502, None, SourceUnavailable, "server error"),
    (503, None, SourceUnavailable, "server error"),
])
def test_api_errors_are_mapped(api: ScriptedHTTP, status: int, body: Any,
                               error: type[Exception], text: str) -> None:
    api.get(NOTIFICATIONS, status=status, json=body)
    with pytest.raises(error, match=text):
        make_source(api).fetch(SourceState(cursor="21"), now=NOW)


@pytest.mark.parametrize("failure", ["drop", "stall"])
def test_network_errors_are_unavailable(api: ScriptedHTTP, failure: str) -> None:
    # Real ones: the connection closed without an answer, an answer that never comes (a short
    # client timeout ends the wait).
    api.get(NOTIFICATIONS, drop=failure == "drop", stall=failure == "stall")
    with pytest.raises(SourceUnavailable):
        make_source(api, timeout=0.3).fetch(SourceState(cursor="21"), now=NOW)


def test_429_resets_at_the_x_ratelimit_reset_time(api: ScriptedHTTP) -> None:
    headers = dict(MENTIONS_ONLY["headers"])  # x-ratelimit-reset: 2026-08-01T13:55:00.940463Z
    headers["x-ratelimit-remaining"] = "0"
    headers.pop("link")
    api.get(NOTIFICATIONS, status=429, json={"error": "Too many requests"},
                  headers=headers)

    with pytest.raises(RateLimited) as caught:
        make_source(api).fetch(SourceState(cursor="21"), now=NOW)

    assert caught.value.reset_at == datetime(2026, 8, 1, 13, 55, 0, 940463, tzinfo=UTC)


def test_429_without_a_usable_reset_waits_one_window(api: ScriptedHTTP) -> None:
    api.get(NOTIFICATIONS, status=429, json={"error": "Too many requests"})
    with pytest.raises(RateLimited) as caught:
        make_source(api).fetch(SourceState(cursor="21"), now=NOW)
    assert caught.value.reset_at == NOW + timedelta(minutes=5)


def test_build_mastodon_never_waits_on_rate_limits() -> None:
    settings = Settings(MASTODON_API_BASE_URL=BASE, MASTODON_ACCESS_TOKEN="t")
    api = build_mastodon(settings)
    assert api.ratelimit_method == "throw"
    assert api.request_timeout == 20.0
    assert api.api_base_url == BASE


def test_the_brands_own_reply_is_kept_flagged_for_its_conversation(api: ScriptedHTTP) -> None:
    own = copy.deepcopy(NOTIFICATION_20)
    own["id"] = "23"
    own["status"]["account"]["acct"] = "mastodonpy_test"  # the brand, answering in its app
    own["status"]["in_reply_to_id"] = "117020583245459824"
    api.get(NOTIFICATIONS, json=[own], query=query(limit="80"))
    got = make_source(api).fetch(SourceState(), now=NOW)
    [m] = got.mentions
    assert (m.extra["by_brand"], m.in_reply_to_id) == ("1", "117020583245459824")
    assert got.notes == []
