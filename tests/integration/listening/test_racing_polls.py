"""Two sources reading the same site start together: their first polls race to create the
site's author row. The loser used to fail on the unique (network, handle) and wait its whole
`every`; now its store is retried and sees the winner's row. The race is made exact, not
timed: the second poll runs to its commit at the moment the first is about to insert the
author (an engine event), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select

from bot.domain.mention import Author, Mention
from bot.domain.rules.load import load_rules
from bot.domain.rules.schema import SourceSpec
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory
from bot.listening.polling import poll_source
from bot.networks.base import Fetch, SourceState
from tests.support.fake_source import FakeSource
from tests.support.paths import DATA

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = load_rules(DATA / "architecture_example.yaml")


def article(n: int, source_id: str) -> Mention:
    return Mention(network="rss", external_id=f"https://news.example/{n}",
                   text=f"Acme Bank story {n}", author=Author(handle="news.example",
                                                               name="News"),
                   url=f"https://news.example/{n}", created_at=NOW - timedelta(minutes=5),
                   lang="en", source_id=source_id)


def feed(source_id: str, n: int) -> FakeSource:
    spec = SourceSpec(id=source_id, type="rss", url=f"https://news.example/{source_id}.xml",
                      every="1h")
    return FakeSource(spec, [Fetch([article(n, source_id)], SourceState(cursor="c"))])


def test_racing_first_polls_on_one_site_both_store(migrated_url):
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    first, second = feed("news-a", 1), feed("news-b", 2)
    outcomes = {}
    raced = threading.Event()

    def about_to_insert_the_author(statement: str, parameters: object) -> bool:
        if statement.lstrip().upper().startswith("INSERT INTO AUTHOR"):  # SQLite
            return True
        # PostgreSQL: COPY (not an event) after taking the new rows' ids from the sequence
        return "nextval" in statement and isinstance(parameters, dict) and \
            parameters.get("table") == "author"

    def second_poll_commits_first(conn, cursor, statement, parameters, *args):
        if about_to_insert_the_author(statement, parameters) and not raced.is_set():
            raced.set()  # the second poll's own insert passes through here unhindered
            racer = threading.Thread(target=lambda: outcomes.setdefault(
                "news-b", poll_source(factory, second, RULES, clock=lambda: NOW)))
            racer.start()
            racer.join()

    event.listen(engine, "before_cursor_execute", second_poll_commits_first)
    try:
        outcomes["news-a"] = poll_source(factory, first, RULES, clock=lambda: NOW)
    finally:
        event.remove(engine, "before_cursor_execute", second_poll_commits_first)
    try:
        assert raced.is_set()
        assert {k: (o.status, o.new) for k, o in outcomes.items()} == {
            "news-a": ("ok", 1), "news-b": ("ok", 1)}
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(models.Mention)) == 2
            author = s.scalars(select(models.Author)).one()
            assert (author.handle, author.mention_count) == ("news.example", 2)
    finally:
        engine.dispose()
