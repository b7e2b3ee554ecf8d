"""RssSource on real feed documents (feedjira MIT, feedparser BSD; see tests/data/README.md),
served over real HTTP by a scripted local server (tests/support/scripted_http.py; the sources
allow loopback, `allow_private`) — no network, no sleeping; `now` is a fixed clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.rules.schema import SourceSpec
from bot.networks.base import RateLimited, SourceAuthError, SourceState, SourceUnavailable
from bot.networks.rss.source import RssSource, canonical_url, unwrap_link
from tests.support.paths import DATA
from tests.support.scripted_http import ScriptedHTTP

FEEDS = DATA / "feeds"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ALERT_URL = "https://www.google.com/alerts/feeds/04175468913983673025/4428013283581841004"
ALERT = "/alerts/feeds/04175468913983673025/4428013283581841004"  # its path, on the local server
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


def feed(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


@pytest.fixture
def api() -> Iterator[ScriptedHTTP]:
    """The feeds' server: each answer once (or `times`); nothing else is served."""
    with ScriptedHTTP() as server:
        yield server


def source(api: ScriptedHTTP, path: str = ALERT, source_id: str = "google-alerts",
           **kw: float) -> RssSource:
    # allow_private: the egress policy refuses loopback otherwise, and this server is loopback.
    return RssSource(SourceSpec(id=source_id, type="rss", url=f"{api.url}{path}", every="15m",
                                allow_private=True), **kw)


def serve(api: ScriptedHTTP, path: str, name: str, content_type: str = ATOM, *, times: int = 1,
          **headers: str) -> None:
    api.get(path, body=feed(name), content_type=content_type, headers=headers, times=times)


def test_google_alerts_links_unwrapped_and_markup_stripped(api: ScriptedHTTP) -> None:
    serve(api, ALERT, "google_alerts_atom.xml", ETag='"ga-1"',
          **{"Last-Modified": "Wed, 10 Jul 2019 11:53:37 GMT"})

    got = source(api).fetch(SourceState(), now=NOW)

    assert len(got.mentions) == 20 and got.reads == 20
    assert not got.not_modified
    for m in got.mentions:
        assert m.network == "rss" and m.source_id == "google-alerts"
        assert m.url and not m.url.startswith("https://www.google.com/url")
        assert "<b>" not in m.text and "&lt;" not in m.text and "&nbsp;" not in m.text
        assert m.created_at is not None and m.created_at.tzinfo is not None
        assert m.extra["read_only"] == "1"
        assert m.extra["entry_id"].startswith("tag:google.com,2013:googlealerts/feed:")
    by_url = {m.url: m for m in got.mentions}
    m = by_url["https://investorplace.com/2019/07/slack-stock-truly-compelling/"]
    assert m.text == ("Slack Stock Has a Compelling Story and the Numbers to Back It Up — In the "
                      "run up to the IPO for Slack Technologies Inc (NYSE:WORK), much of the news "
                      "coverage centered on the Company's decision to go public via ...")
    assert m.external_id == "https://investorplace.com/2019/07/slack-stock-truly-compelling/"
    assert m.author.name == "Google Alert - Slack"  # the entry's <author><name> is empty
    assert m.author.handle == "investorplace.com"
    assert m.created_at == datetime(2019, 7, 10, 11, 46, 48, tzinfo=UTC)
    # oldest first; the cursor is the newest entry's date; the validators are kept
    dates = [m.created_at for m in got.mentions]
    assert dates == sorted(dates)
    assert got.state == SourceState(cursor="2019-07-10T11:53:37+00:00", etag='"ga-1"',
                                    last_modified="Wed, 10 Jul 2019 11:53:37 GMT")
    sent = api.calls[0].request.headers
    assert "socialbot" in sent["User-Agent"]
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


def test_conditional_get_sends_validators_and_304_is_not_modified(api: ScriptedHTTP) -> None:
    api.get(ALERT, status=304)
    state = SourceState(cursor="2019-07-10T11:53:37+00:00", etag='"ga-1"',
                        last_modified="Wed, 10 Jul 2019 11:53:37 GMT")

    got = source(api).fetch(state, now=NOW)

    assert got.not_modified and got.mentions == [] and got.state == state
    sent = api.calls[0].request.headers
    assert sent["If-None-Match"] == '"ga-1"'
    assert sent["If-Modified-Since"] == "Wed, 10 Jul 2019 11:53:37 GMT"


def test_cursor_prevents_re_emission(api: ScriptedHTTP) -> None:
    serve(api, ALERT, "google_alerts_atom.xml", times=3)  # no validators: 200 every time
    src = source(api)
    first = src.fetch(SourceState(), now=NOW)
    again = src.fetch(first.state, now=NOW)
    assert len(first.mentions) == 20
    assert again.mentions == [] and again.reads == 20
    assert again.state.cursor == first.state.cursor

    # a cursor in the middle of the feed: only the entries after it come out
    middle = first.mentions[9].created_at
    later = src.fetch(SourceState(cursor=middle.isoformat()), now=NOW)
    assert [m.external_id for m in later.mentions] == [
        m.external_id for m in first.mentions if m.created_at > middle]
    assert 0 < len(later.mentions) < 20


def test_future_dated_entry_does_not_push_the_cursor_past_now(api: ScriptedHTTP) -> None:
    serve(api, ALERT, "google_alerts_atom.xml", times=2)
    clock = datetime(2019, 7, 10, 11, 50, tzinfo=UTC)  # the newest entry is 3 minutes later
    got = source(api).fetch(SourceState(), now=clock)
    assert len(got.mentions) == 20
    assert got.state.cursor == clock.isoformat()
    later = source(api).fetch(got.state, now=clock)
    assert {m.created_at for m in later.mentions} == {
        datetime(2019, 7, 10, 11, 53, 37, tzinfo=UTC)}


def test_same_url_in_two_feeds_gives_the_same_external_id(api: ScriptedHTTP) -> None:
    other_alert = "/alerts/feeds/04175468913983673025/1111111111111111111"
    serve(api, ALERT, "google_alerts_atom.xml")
    serve(api, other_alert, "google_alerts_atom.xml")
    serve(api, "/feedburner/TechCrunch", "TechCrunch.xml", content_type=RSS)
    serve(api, "/acmebank/clippings.xml", "acme_press.xml", content_type=RSS)

    a = source(api).fetch(SourceState(), now=NOW)
    b = source(api, other_alert, "alert-2").fetch(SourceState(), now=NOW)
    assert {m.external_id for m in a.mentions} == {m.external_id for m in b.mentions}

    tc = source(api, "/feedburner/TechCrunch", "techcrunch").fetch(
        SourceState(), now=NOW)
    press = source(api, "/acmebank/clippings.xml", "press").fetch(
        SourceState(), now=NOW)
    angie = ("http://techcrunch.com/2011/11/02/"
             "angies-list-prices-ipo-at-11-to-13-per-share-valued-at-over-600m/")
    assert angie in {m.external_id for m in tc.mentions}  # FeedBurner link → origLink
    press_ids = {m.external_id for m in press.mentions}
    assert angie in press_ids  # upper-case host, :80, utm_* and fragment normalised away
    assert "https://investorplace.com/2019/07/slack-stock-truly-compelling/" in press_ids
    assert {m.extra["entry_id"] for m in press.mentions} == {"acme-clipping-0001",
                                                               "acme-clipping-0002"}
    assert {m.lang for m in press.mentions} == {"en"}


def test_canonical_url_and_unwrap(api: ScriptedHTTP) -> None:
    wrapped = ("https://www.google.com/url?rct=j&sa=t&url=https://Example.com/a/b?x=1%26y&"
               "ct=ga&usg=abc")
    assert unwrap_link(wrapped) == "https://Example.com/a/b?x=1&y"
    assert canonical_url(wrapped) == canonical_url("https://example.com:443/a/b?x=1&y=#top")
    assert canonical_url("https://example.com/p?id=7&utm_campaign=z&fbclid=q") == \
        "https://example.com/p?id=7"
    assert canonical_url("https://example.com") == "https://example.com/"
    assert unwrap_link("https://www.google.com/url?q=javascript:alert(1)") == \
        "https://www.google.com/url?q=javascript:alert(1)"  # only http(s) targets unwrapped
    assert unwrap_link("https://example.com/url?url=https://x.example/") == \
        "https://example.com/url?url=https://x.example/"  # not Google


def test_rss_feed_authors_comments_and_feedburner_links(api: ScriptedHTTP) -> None:
    serve(api, "/feedburner/TechCrunch", "TechCrunch.xml", content_type=RSS)
    got = source(api, "/feedburner/TechCrunch", "techcrunch").fetch(
        SourceState(), now=NOW)
    assert len(got.mentions) == 20
    m = next(m for m in got.mentions if m.extra["entry_id"] == "http://techcrunch.com/?p=446154")
    assert m.author.name == "Leena Rao" and m.author.handle == "techcrunch.com"
    assert m.url == ("http://techcrunch.com/2011/11/02/"
                     "angies-list-prices-ipo-at-11-to-13-per-share-valued-at-over-600m/")
    assert m.text.startswith("Angie’s List Sets Price Range IPO At $11 To $13 Per Share; "
                             "Valued At Over $600M — ")
    assert "<" not in m.text
    assert m.lang == "en"
    assert m.extra["comments"].endswith("#comments")
    assert m.created_at == datetime(2011, 11, 2, 17, 25, 27, tzinfo=UTC)
    # TechCrunch.xml starts with a newline before <?xml …?>: a bozo feed, parsed anyway
    assert any("not well-formed" in n for n in got.notes)


def test_entries_without_id_use_their_link(api: ScriptedHTTP) -> None:
    serve(api, "/hn/rss", "RSSWithComments.xml", content_type=RSS)
    got = source(api, "/hn/rss", "hn").fetch(SourceState(), now=NOW)
    assert len(got.mentions) == 30
    m = next(m for m in got.mentions if m.url == "https://openai.com/dall-e-2/")
    assert m.external_id == "https://openai.com/dall-e-2/"
    assert "entry_id" not in m.extra
    assert m.author.name == "Hacker News" and m.author.handle == "openai.com"
    assert m.extra["comments"] == "https://news.ycombinator.com/item?id=30932095"
    assert m.text == "Dall-E 2 — Comments"


def test_entry_without_link_or_id_gets_a_stable_hash(api: ScriptedHTTP) -> None:
    doc = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Notes</title>"
           b"<link>https://notes.example/</link>"
           b"<item><title>Acme &lt;b&gt;Bank&lt;/b&gt; outage</title>"
           b"<pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>"
           b"<item><title>Home</title><link>https://notes.example/</link>"
           b"<guid isPermaLink='false'>n-2</guid></item></channel></rss>")
    api.get("/notes/rss", body=doc, content_type=RSS, times=2)
    src = source(api, "/notes/rss", "notes")
    one = src.fetch(SourceState(), now=NOW)
    two = src.fetch(SourceState(), now=NOW)
    hashed = next(m for m in one.mentions if m.text == "Acme Bank outage")
    assert hashed.external_id.startswith("sha256:")
    assert hashed.external_id in {m.external_id for m in two.mentions}
    assert hashed.author.name == "Notes" and hashed.url is None
    # an entry whose link is the feed's home page is identified by its guid, not the link
    home = next(m for m in one.mentions if m.text == "Home")
    assert home.external_id == "n-2"


@pytest.mark.parametrize("name", ["aaa_illformed.xml", "rss_empty_document.xml",
                                  "rss_incomplete_cdata.xml",
                                  "rss_item_link_corrupted_ampersands.xml",
                                  "undeclared_namespace.xml"])
def test_bozo_feeds_do_not_raise(api: ScriptedHTTP, name: str) -> None:
    url = f"/feeds/{name}"
    serve(api, url, name, content_type="application/xml", ETag='"bozo"')
    got = source(api, url, "bozo").fetch(SourceState(), now=NOW)
    assert got.notes  # the problem is reported, not raised
    assert got.state.etag == '"bozo"'  # the same bytes will not parse better next time
    if name == "rss_item_link_corrupted_ampersands.xml":
        [m] = got.mentions
        assert m.url == "http://link/get?a=1&b=2" and m.text == "http://link/get?a=1&b=2"
    else:
        assert got.mentions == []


def test_empty_document_is_a_note_not_an_exception(api: ScriptedHTTP) -> None:
    api.get("/feeds/empty", body=b"", content_type="application/xml")
    api.get("/feeds/html", body=b"<html><body>Sign in</body></html>",
                  content_type="text/html")
    for url in ("/feeds/empty", "/feeds/html"):
        got = source(api, url, "empty").fetch(SourceState(cursor="2019-01-01T00:00:00+00:00"),
                                         now=NOW)
        assert got.mentions == [] and got.reads == 0
        assert any("not a feed" in n for n in got.notes)
        assert got.state.cursor == "2019-01-01T00:00:00+00:00"


@pytest.mark.parametrize(("status", "error", "text"), [
    (500, SourceUnavailable, "HTTP 500"),
    (503, SourceUnavailable, "HTTP 503"),
    (401, SourceAuthError, "access refused"),
    (403, SourceAuthError, "access refused"),
    (404, SourceAuthError, "feed not found"),
    (410, SourceAuthError, "feed not found"),
])
def test_http_errors_are_mapped(api: ScriptedHTTP, status: int, error: type[Exception], text: str) -> None:
    api.get(ALERT, status=status)
    with pytest.raises(error, match=text):
        source(api).fetch(SourceState(), now=NOW)


@pytest.mark.parametrize("failure", ["stall", "drop"])
def test_timeouts_and_connection_errors_are_unavailable(api: ScriptedHTTP, failure: str) -> None:
    # Real ones: an answer that never comes (a short client timeout ends the wait), the
    # connection closed without a status line.
    api.get(ALERT, stall=failure == "stall", drop=failure == "drop")
    with pytest.raises(SourceUnavailable, match="ReadTimeout" if failure == "stall" else
                       "ConnectionError"):
        source(api, timeout=0.3).fetch(SourceState(), now=NOW)


def test_429_uses_retry_after(api: ScriptedHTTP) -> None:
    api.get(ALERT, status=429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited) as seconds:
        source(api).fetch(SourceState(), now=NOW)
    assert seconds.value.reset_at == NOW + timedelta(seconds=120)

    api.replace("GET", ALERT, status=429,
                      headers={"Retry-After": "Mon, 23 Nov 2026 12:30:00 GMT"})
    with pytest.raises(RateLimited) as date:
        source(api).fetch(SourceState(), now=NOW)
    assert date.value.reset_at == datetime(2026, 11, 23, 12, 30, tzinfo=UTC)

    api.replace("GET", ALERT, status=429)
    with pytest.raises(RateLimited) as bare:
        source(api).fetch(SourceState(), now=NOW)
    assert bare.value.reset_at == NOW + timedelta(minutes=15)  # one poll interval


def test_local_feed_file(tmp_path: Path) -> None:
    path = tmp_path / "alerts.xml"
    path.write_bytes(feed("google_alerts_atom.xml"))
    os.utime(path, (1_700_000_000, 1_700_000_000))
    src = RssSource(SourceSpec(id="local", type="rss", url=path.as_uri(), every="15m"))

    first = src.fetch(SourceState(), now=NOW)
    assert len(first.mentions) == 20
    assert first.state.last_modified == "Tue, 14 Nov 2023 22:13:20 GMT"

    second = src.fetch(first.state, now=NOW)
    assert second.not_modified and second.state == first.state

    with pytest.raises(SourceAuthError, match="feed not found"):
        RssSource(SourceSpec(id="missing", type="rss", url=(tmp_path / "missing.xml").as_uri(),
                             every="15m")).fetch(SourceState(), now=NOW)


def test_injected_fetcher_is_used(api: ScriptedHTTP) -> None:
    from requests.structures import CaseInsensitiveDict

    from bot.networks.rss.source import HttpResult

    seen: list[tuple[str, dict]] = []

    def fetch_url(url: str, headers: dict) -> HttpResult:
        seen.append((url, dict(headers)))
        return HttpResult(200, CaseInsensitiveDict({"Content-Type": ATOM}),
                          feed("google_alerts_atom.xml"))

    got = RssSource(SourceSpec(id="ga", type="rss", url=ALERT_URL), fetch_url=fetch_url).fetch(
        SourceState(etag='"x"'), now=NOW)
    assert len(got.mentions) == 20
    assert seen[0][0] == ALERT_URL and seen[0][1]["If-None-Match"] == '"x"'
