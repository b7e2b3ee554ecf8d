"""Slack's event retries over real signed HTTP: a retry of an event whose work was done is
acknowledged and ignored; an event whose work failed is done on Slack's retry; the event id
is recorded with the work, in one transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from bot.desk import commands as desk
from bot.kit import models
from bot.kit.db import session_scope

AGENT = "U0AGENT01"
CHANNEL, CARD_TS = "C0BAGGAGE01", "1700000000.000900"
JSON = "application/json"


@pytest.fixture
def claimed_card(bot_server) -> int:
    """A mention whose card is in the baggage channel, claimed by AGENT."""
    now = datetime.now(UTC)
    with session_scope(bot_server.runtime.factory) as s:
        author = models.Author(network="x", handle="bagless", name="B", followers=50,
                               author_type="customer")
        mention = models.Mention(
            network="x", external_id="1998000000000000777", text="where is my bag?",
            author=author, compound=-0.4, sentiment="negative", author_type="customer",
            score=55, priority="P2", team="baggage", status="claimed", claimed_by=AGENT,
            claimed_at=now, slack_channel=CHANNEL, slack_ts=CARD_TS, ingested_at=now)
        s.add(mention)
        s.flush()
        return mention.id


def thread_reply(event_id: str, text: str) -> str:
    return json.dumps({
        "type": "event_callback", "event_id": event_id, "team_id": "T111", "api_app_id": "A111",
        "event": {"type": "message", "channel": CHANNEL, "user": AGENT, "text": text,
                  "ts": f"1800000000.{abs(hash(event_id)) % 10**6:06d}", "thread_ts": CARD_TS}})


def deliver(bot_server, event_id: str, text: str, retry: int | None = None) -> int:
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} \
        if retry else {}
    return bot_server.post("/slack/events", thread_reply(event_id, text), content_type=JSON,
                           headers=headers).status


def drafts(bot_server) -> list[str]:
    with bot_server.runtime.factory() as s:
        return list(s.scalars(select(models.Draft.text).order_by(models.Draft.id)))


def recorded(bot_server, event_id: str) -> bool:
    with bot_server.runtime.factory() as s:
        return s.get(models.ProcessedEvent, event_id) is not None


def previews(fake_slack) -> list:
    return [c for c in fake_slack.calls_to("chat.postMessage") if c.params.get("thread_ts")]


def wait_until(predicate, fake_slack, what: str, timeout: float = 10.0) -> None:
    """Listeners run after the ack, in Bolt's pool: wait on the fake's change notifications."""
    assert fake_slack.wait_until(predicate, timeout=timeout), what


def test_retries_of_a_processed_event_are_acknowledged_and_ignored(bot_server, fake_slack,
                                                                   claimed_card):
    assert deliver(bot_server, "EvOnce1", "Sorry, tracing it now") == 200
    wait_until(lambda: previews(fake_slack), fake_slack, "no draft preview posted")
    for retry in (1, 2, 3):  # Slack retries up to three times
        assert deliver(bot_server, "EvOnce1", "Sorry, tracing it now", retry=retry) == 200
    # A later, different event still goes through: proof that the retries were looked at
    # (and dropped) before it, not merely still queued behind it.
    assert deliver(bot_server, "EvOnce2", "Found it: arriving tonight") == 200
    wait_until(lambda: len(previews(fake_slack)) >= 2, fake_slack, "second preview missing")
    assert drafts(bot_server) == ["Sorry, tracing it now", "Found it: arriving tonight"]
    assert len(previews(fake_slack)) == 2
    assert recorded(bot_server, "EvOnce1") and recorded(bot_server, "EvOnce2")


def test_an_event_whose_work_failed_is_processed_on_slacks_retry(bot_server, fake_slack,
                                                                  claimed_card, monkeypatch):
    real = desk.draft_from_thread
    attempts: list[str] = []

    def flaky(*args, **kwargs):
        attempts.append(kwargs["text"])
        if len(attempts) == 1:
            raise RuntimeError("database went away mid-work")  # after the ack, like a crash
        return real(*args, **kwargs)

    monkeypatch.setattr(desk, "draft_from_thread", flaky)
    assert deliver(bot_server, "EvFail1", "We're on it") == 200
    wait_until(lambda: attempts, fake_slack, "the first delivery never ran")
    # The failed work left nothing: no draft, and no record that would swallow the retry.
    wait_until(lambda: not recorded(bot_server, "EvFail1") and not drafts(bot_server),
               fake_slack, "the failure left a trace")
    assert deliver(bot_server, "EvFail1", "We're on it", retry=1) == 200
    wait_until(lambda: previews(fake_slack), fake_slack, "the retry was not processed")
    assert drafts(bot_server) == ["We're on it"]
    assert recorded(bot_server, "EvFail1")
    assert deliver(bot_server, "EvFail1", "We're on it", retry=2) == 200  # now done: ignored
    assert deliver(bot_server, "EvFail2", "One more thing") == 200
    wait_until(lambda: len(previews(fake_slack)) >= 2, fake_slack, "second preview missing")
    assert drafts(bot_server) == ["We're on it", "One more thing"]
    assert attempts == ["We're on it", "We're on it", "One more thing"]


def test_the_event_id_is_written_in_the_transaction_of_the_work(bot_server, fake_slack,
                                                                claimed_card):
    """Between one BEGIN and its COMMIT, on one connection: the draft and the event's id."""
    log: list[tuple[int, str]] = []
    engine = bot_server.runtime.engine

    def statement(conn, _cursor, sql, *_args) -> None:
        if sql.lstrip().upper().startswith("INSERT INTO"):
            log.append((id(conn.connection.dbapi_connection), sql.split()[2].strip('"')))

    def commit(conn) -> None:
        log.append((id(conn.connection.dbapi_connection), "COMMIT"))

    sa_event.listen(engine, "before_cursor_execute", statement)
    sa_event.listen(engine, "commit", commit)
    try:
        assert deliver(bot_server, "EvTx1", "Checking now") == 200
        wait_until(lambda: previews(fake_slack), fake_slack, "no preview")
    finally:
        sa_event.remove(engine, "before_cursor_execute", statement)
        sa_event.remove(engine, "commit", commit)
    tx = next(i for i, (_, what) in enumerate(log) if what == "processed_event")
    conn = log[tx][0]
    this_tx: list[str] = []
    for other, what in reversed(log[:tx]):  # back to the previous commit on that connection
        if other == conn:
            if what == "COMMIT":
                break
            this_tx.append(what)
    assert "draft" in this_tx and "outbox_message" in this_tx  # the draft and its preview
    assert (conn, "COMMIT") in log[tx:]
    assert recorded(bot_server, "EvTx1") and drafts(bot_server) == ["Checking now"]
    with bot_server.runtime.factory() as s:
        assert s.scalar(select(func.count()).select_from(models.ProcessedEvent)) == 1
