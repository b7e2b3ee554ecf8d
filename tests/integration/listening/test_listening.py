"""Listening end to end in one process: the real X sources (tweepy `Client` talking HTTP to a
scripted local server) and real RSS sources on file:// feeds, polled by `poll_source` /
`Runtime.poll` into a real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set).

Covers what issue 3 asks of the ingest as a whole: every mention stored once across polls, a
restart (new engine, new clients, new source objects, same database) and overlapping pages;
the same post from two sources (x-mentions and x-search; one article in two feeds) is one
mention; the cursor moves only when its mentions commit, so the poll after a failed commit asks
X for the old `since_id` again; a source with bad credentials is parked without stopping the
others. Pages are the hand-written Northwind Air ones in tests/data/x_api, plus a few posts
made here in the same wire format; nothing reaches the internet and nothing sleeps.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, func, inspect, select

from bot.app import Runtime
from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.domain.rules.schema import SourceSpec
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.listening.polling import poll_source
from bot.networks.rss.source import RssSource
from bot.networks.x.client import build_x_client
from bot.networks.x.source import XMentionsSource, XSearchSource
from tests.support.clock import Clock
from tests.support.paths import ROOT
from tests.support.scripted_http import ScriptedHTTP
from tests.support.x_api import (
    BEARER,
    BRAND_ID,
    MENTIONS_URL,
    SEARCH_URL,
    USER_URL,
    x_body,
)

DATA = ROOT / "tests" / "data"
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=UTC)  # the Northwind pages are from that morning
RULES = load_rules(ROOT / "routing_rules.yaml")
X_MENTIONS = RULES.source("x-mentions")
X_SEARCH = RULES.source("x-search")
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401,
                "detail": "Unauthorized"}

# Posts of the recorded pages, by id (see tests/data/x_api/northwind_*.json).
TOM = "1853719169070026937"  # mentions page 1, @tbecker_travels; page 1's newest_id
LUCIA = "1853714563724239070"  # mentions page 1
PRIYA = "1853709387953082405"  # mentions page 2, @priyaflies
ORPHAN = "1853708452623294538"  # mentions page 2, author missing from includes
PRESS = "1853720234423230538"  # search, quotes the brand
SAMITO = "1853717168387010671"  # search
FAN = "1853711560602579203"  # search, @NorthwindAirFan (not the brand)
SEARCH_NEWEST = "1853721580794810405"  # search's newest_id: the brand's own post (skipped)
# Posts written here, later than everything recorded (snowflakes minted after 08:50Z).
NEW_MENTION = "1853725000000000001"
NEW_SEARCH = "1853726000000000002"


def post(post_id: str, username: str, text: str, *, author_id: str,
         followers: int = 350) -> tuple[dict[str, Any], dict[str, Any]]:
    """A v2 tweet and its author, in the fields the sources ask for."""
    tweet = {"id": post_id, "edit_history_tweet_ids": [post_id], "author_id": author_id,
             "text": text, "created_at": "2024-11-05T08:55:00.000Z", "lang": "en",
             "conversation_id": post_id}
    if "@NorthwindAir" in text:
        start = text.index("@NorthwindAir")
        tweet["entities"] = {"mentions": [{"start": start, "end": start + 13,
                                           "username": "NorthwindAir", "id": BRAND_ID}]}
    user = {"id": author_id, "name": username.title(), "username": username,
            "public_metrics": {"followers_count": followers, "following_count": 10,
                               "tweet_count": 100, "listed_count": 0}}
    return tweet, user


def page_of(*parts: tuple[dict[str, Any], dict[str, Any]],
            base: dict[str, Any] | None = None) -> dict[str, Any]:
    """`base` (a recorded page, copied) with more posts and their authors; meta recomputed."""
    page = copy.deepcopy(base) if base else {"data": [], "includes": {"users": []}}
    page.setdefault("includes", {}).setdefault("users", [])
    known = {u["id"] for u in page["includes"]["users"]}
    for tweet, user in parts:
        page["data"].append(tweet)
        if user["id"] not in known:
            page["includes"]["users"].append(user)
            known.add(user["id"])
    ids = sorted((int(t["id"]) for t in page["data"]), reverse=True)
    page["data"].sort(key=lambda t: int(t["id"]), reverse=True)  # X answers newest first
    page["meta"] = {"newest_id": str(ids[0]), "oldest_id": str(ids[-1]), "result_count": len(ids)}
    return page


def recorded_post(page: str, post_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = x_body(page)
    tweet = next(t for t in body["data"] if t["id"] == post_id)
    user = next(u for u in body["includes"]["users"] if u["id"] == tweet["author_id"])
    return tweet, user


def query(call: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def shift_feed_dates(xml: str, days: int) -> str:
    """The same Atom entries, re-published `days` later (same ids and links)."""
    def later(m: re.Match[str]) -> str:
        when = datetime.fromisoformat(m.group(2).replace("Z", "+00:00")) + timedelta(days=days)
        return f"<{m.group(1)}>{when:%Y-%m-%dT%H:%M:%SZ}</{m.group(1)}>"
    return re.sub(r"<(published|updated)>([^<]+)</\1>", later, xml)


NEW_ENTRY = """<entry> <id>tag:google.com,2013:googlealerts/feed:1</id>
<title type="html">Northwind Air adds hotel vouchers after Gatwick delays</title>
<link href="https://www.google.com/url?rct=j&amp;sa=t&amp;url=https://news.example.org/northwind-vouchers/&amp;ct=ga"></link>
<published>2019-07-12T09:00:00Z</published> <updated>2019-07-12T09:00:00Z</updated>
<content type="html">Passengers stranded at Gatwick ...</content> <author><name></name></author> </entry>"""


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture
def api() -> Iterator[ScriptedHTTP]:
    """X's answers, served in the order registered; each must be used, nothing else is served."""
    with ScriptedHTTP(ordered=True) as server:
        yield server


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, api: ScriptedHTTP):
    for name in [n for n in os.environ if n.startswith("X_")]:
        monkeypatch.delenv(name)

    def make(**values: str) -> Settings:
        return Settings(_env_file=None, X_API_URL=api.url, **values)
    return make


@pytest.fixture
def feeds(tmp_path: Path) -> dict[str, Path]:
    """Copies of the Google Alerts feed and the Acme press feed (one article is in both)."""
    out = {}
    for name, file in (("alerts", "google_alerts_atom.xml"), ("press", "acme_press.xml")):
        out[name] = tmp_path / file
        shutil.copyfile(DATA / "feeds" / file, out[name])
        os.utime(out[name], (1_700_000_000, 1_700_000_000))
    return out


def rss_spec(source_id: str, path: Path) -> SourceSpec:
    return SourceSpec(id=source_id, type="rss", url=path.as_uri(), every="15m")


def build(client, feeds: dict[str, Path]) -> list:
    """The sources `socialbot run` builds (`build_sources`): brand id not known yet."""
    return [XMentionsSource(X_MENTIONS, RULES.brand, client),
            XSearchSource(X_SEARCH, RULES.brand, client),
            RssSource(rss_spec("alerts", feeds["alerts"])),
            RssSource(rss_spec("press", feeds["press"]))]


def stored(factory) -> dict[str, Any]:
    with session_scope(factory) as s:
        rows = s.execute(select(models.Mention.network, models.Mention.external_id,
                                models.Mention.source_id)).all()
        cards = s.execute(select(models.OutboxMessage.mention_id).where(
            models.OutboxMessage.kind == "card")).scalars().all()
        cursors = dict(s.execute(select(models.Source.id, models.Source.cursor)).all())
        authors = dict(s.execute(select(models.Author.handle, models.Author.mention_count)
                                 ).all())
    return {"keys": [(n, e) for n, e, _ in rows], "source_of": {e: src for _, e, src in rows},
            "cards": cards, "cursors": cursors, "authors": authors}


def assert_each_once(state: dict[str, Any], expected: int) -> None:
    assert len(state["keys"]) == len(set(state["keys"])) == expected
    assert len(state["cards"]) == len(set(state["cards"])) == expected  # one card per mention


# --- every mention once: polls, restart, overlapping pages, two sources ---------------------

def test_restart_and_overlapping_pages_store_every_mention_once(
        api, settings, feeds, migrated_url):
    clock = Clock(NOW)
    # First run. x-mentions: brand lookup + two pages; x-search: the recorded page plus two
    # posts x-mentions also returns (a post can mention the brand and match the query).
    api.get(USER_URL, json=x_body("northwind_get_user"))
    api.get(MENTIONS_URL, json=x_body("northwind_mentions_page1"))
    api.get(MENTIONS_URL, json=x_body("northwind_mentions_page2"))
    api.get(SEARCH_URL, json=page_of(recorded_post("northwind_mentions_page2", PRIYA),
                                     recorded_post("northwind_mentions_page1", TOM),
                                     base=x_body("northwind_search_recent")))
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    client = build_x_client(settings(X_BEARER_TOKEN=BEARER))
    first = [poll_source(factory, s, RULES, clock=clock) for s in build(client, feeds)]
    engine.dispose()

    assert [(o.source_id, o.status, o.new, o.duplicates) for o in first] == [
        ("x-mentions", "ok", 4, 0),
        ("x-search", "ok", 3, 2),  # PRIYA and TOM came in through x-mentions already
        ("alerts", "ok", 20, 0),
        ("press", "ok", 1, 1),  # the investorplace article is also in the Alerts feed
    ]
    assert len(api.calls) == 4
    assert "start_time" in query(api.calls[1]) and "since_id" not in query(api.calls[1])

    # Restart: a new engine, client and sources on the same database. X's pages overlap the
    # first run's (a post at the cursor comes back, x-search sees x-mentions' new post); the
    # Alerts feed re-publishes its 20 entries with new dates and adds one; the press feed is
    # unchanged (304).
    clock.now += timedelta(minutes=10)
    new_mention = post(NEW_MENTION, "gatwick_gary", "@NorthwindAir any news on NW212 crew?",
                       author_id="2911000020")
    api.get(USER_URL, json=x_body("northwind_get_user"))
    api.get(MENTIONS_URL, json=page_of(new_mention,
                                       recorded_post("northwind_mentions_page1", TOM)))
    api.get(SEARCH_URL, json=page_of(
        new_mention, recorded_post("northwind_search_recent", SAMITO),
        post(NEW_SEARCH, "aviation_ana", "Northwind Air's Gatwick meltdown, day two",
             author_id="2911000021", followers=90_000)))
    alerts = feeds["alerts"].read_text(encoding="utf-8")
    feeds["alerts"].write_text(shift_feed_dates(alerts, 2).replace("</feed>", NEW_ENTRY
                                                                    + "</feed>"))
    os.utime(feeds["alerts"], (1_700_100_000, 1_700_100_000))

    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    client = build_x_client(settings(X_BEARER_TOKEN=BEARER))
    second = [poll_source(factory, s, RULES, clock=clock) for s in build(client, feeds)]

    assert [(o.source_id, o.status, o.new, o.duplicates) for o in second] == [
        ("x-mentions", "ok", 1, 1),
        ("x-search", "ok", 1, 2),
        ("alerts", "ok", 1, 20),
        ("press", "not_modified", 0, 0),
    ]
    # Each X source asked for what is newer than its own committed cursor, nothing older.
    assert query(api.calls[5])["since_id"] == TOM and "start_time" not in query(api.calls[5])
    assert query(api.calls[6])["since_id"] == SEARCH_NEWEST

    state = stored(factory)
    engine.dispose()
    assert_each_once(state, 31)
    assert {e for n, e in state["keys"] if n == "x"} == {
        TOM, LUCIA, PRIYA, ORPHAN, PRESS, SAMITO, FAN, NEW_MENTION, NEW_SEARCH}
    # One mention per post, kept as the source that saw it first.
    assert state["source_of"][PRIYA] == state["source_of"][NEW_MENTION] == "x-mentions"
    assert state["source_of"][NEW_SEARCH] == "x-search"
    assert state["source_of"]["https://investorplace.com/2019/07/slack-stock-truly-compelling/"
                              ] == "alerts"
    assert state["cursors"]["x-mentions"] == NEW_MENTION
    assert state["cursors"]["x-search"] == NEW_SEARCH
    # A duplicate does not count as another mention by its author.
    assert state["authors"]["priyaflies"] == state["authors"]["tbecker_travels"] == 1


# --- the cursor moves with its mentions -----------------------------------------------------

class CommitFailsOnce:
    """Makes the next commit that would store a fetch (advance a source's cursor, with the
    mentions it covers) raise, like a crash at that point. Watched at the ORM flush: the rows
    themselves may go by COPY (PostgreSQL), which no SQLAlchemy event sees."""

    def __init__(self, factory) -> None:
        self.armed = False
        self.failed = 0
        event.listen(factory, "before_flush", self._before_flush)
        event.listen(factory, "before_commit", self._before_commit)

    def _before_flush(self, session, _context, _instances) -> None:
        for obj in session.dirty:
            if isinstance(obj, models.Source) and inspect(obj).attrs.cursor.history.has_changes():
                session.info["stores_fetch"] = True

    def _before_commit(self, session) -> None:
        if self.armed and session.info.pop("stores_fetch", False):
            self.armed = False
            self.failed += 1
            raise RuntimeError("commit failed (injected)")


def test_cursor_advances_only_after_commit(api, settings, engine):
    factory = make_session_factory(engine)
    failing = CommitFailsOnce(factory)
    client = build_x_client(settings(X_BEARER_TOKEN=BEARER))
    source = XSearchSource(X_SEARCH, RULES.brand, client)
    clock = Clock(NOW)
    newer = page_of(post(NEW_SEARCH, "aviation_ana", "Northwind Air's Gatwick meltdown, day two",
                         author_id="2911000021"))
    api.get(SEARCH_URL, json=x_body("northwind_search_recent"))
    api.get(SEARCH_URL, json=newer)
    api.get(SEARCH_URL, json=newer)

    assert poll_source(factory, source, RULES, clock=clock).new == 3
    with session_scope(factory) as s:
        assert s.get(models.Source, "x-search").cursor == SEARCH_NEWEST

    failing.armed = True
    clock.now += timedelta(minutes=5)
    with pytest.raises(RuntimeError, match="injected"):
        poll_source(factory, source, RULES, clock=clock)
    assert failing.failed == 1
    state = stored(factory)
    assert state["cursors"]["x-search"] == SEARCH_NEWEST  # not NEW_SEARCH: nothing committed
    assert NEW_SEARCH not in state["source_of"]
    assert_each_once(state, 3)

    clock.now += timedelta(minutes=5)
    outcome = poll_source(factory, source, RULES, clock=clock)
    assert query(api.calls[1])["since_id"] == query(api.calls[2])["since_id"] == SEARCH_NEWEST
    assert (outcome.status, outcome.new, outcome.duplicates) == ("ok", 1, 0)
    state = stored(factory)
    assert state["cursors"]["x-search"] == NEW_SEARCH
    assert_each_once(state, 4)


# --- bad credentials park one source, the others keep going ---------------------------------

def test_a_source_with_bad_credentials_does_not_stop_the_others(
        api, settings, feeds, migrated_url, caplog):
    # The same client serves both X sources: a revoked bearer token fails both with 401.
    api.get(USER_URL, status=401, json=UNAUTHORIZED)
    api.get(SEARCH_URL, status=401, json=UNAUTHORIZED)
    slack = dict(SLACK_BOT_TOKEN="xoxb-listening", SLACK_SIGNING_SECRET="listening",
                 SLACK_API_URL="http://127.0.0.1:9/api/")  # never called: nothing is started
    runtime = Runtime(settings(DATABASE_URL=migrated_url, X_BEARER_TOKEN=BEARER, **slack),
                      RULES, clock=Clock(NOW))
    client = build_x_client(runtime.settings)
    sources = build(client, feeds)[:3]
    try:
        for source in sources:  # the scheduler's job body, one source after another
            runtime.poll(source)
        assert len(api.calls) == 2
        with session_scope(runtime.factory) as s:
            rows = {r.id: r for r in s.scalars(select(models.Source))}
            by_source = dict(s.execute(select(models.Mention.source_id, func.count())
                                       .group_by(models.Mention.source_id)).all())
        assert by_source == {"alerts": 20}
        for source_id in ("x-mentions", "x-search"):
            assert "(401): Unauthorized" in rows[source_id].unhealthy_reason
            assert rows[source_id].cursor is None
        assert rows["alerts"].unhealthy_reason is None and rows["alerts"].cursor

        # The next round skips the parked sources without calling X (nothing more is
        # registered: a call would fail), and the healthy one keeps polling (304 now).
        runtime.clock.now += timedelta(hours=1)
        for source in sources:
            runtime.poll(source)
        assert len(api.calls) == 2
        polls = {(s.labels["source"], s.labels["status"]): s.value
                 for metric in runtime.metrics.polls.collect() for s in metric.samples
                 if s.name == "socialbot_polls_total"}
        assert polls == {("x-mentions", "auth_error"): 1, ("x-search", "auth_error"): 1,
                         ("alerts", "ok"): 1, ("x-mentions", "skipped"): 1,
                         ("x-search", "skipped"): 1, ("alerts", "not_modified"): 1}
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
    finally:
        runtime.stop()
