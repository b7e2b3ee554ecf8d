"""Two `socialbot run --http` replicas on one PostgreSQL database, against the fake Slack:
exactly one polls; both send the outbox; each mention's card is posted once; kill -9 of the
leader moves leadership (and the polling) to the other replica within seconds."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tests.support.bot_process import Bot, wait_until
from tests.support.offline_rules import FEED, rules_reading

TAKEN = "leadership taken"
FOLLOWING = "another replica leads"
ROUND = 6  # feed entries per round: cards go out at ~1/s per channel after a burst of 3


def feed_of(entries: list[str]) -> str:
    xml = FEED.read_text()
    head = xml[:xml.index("<entry>")]
    return head + "".join(entries) + "</feed>"


def posted_outbox_ids(fake) -> list[int]:
    return [m["metadata"]["event_payload"]["outbox_id"] for m in fake.posts()
            if (m.get("metadata") or {}).get("event_payload", {}).get("outbox_id")]


@pytest.mark.postgres
def test_two_replicas_post_each_card_once_and_leadership_moves_on_kill_9(
        tmp_path: Path, fake_slack, postgres_database):
    url = postgres_database.migrated()
    entries = re.findall(r"<entry>.*?</entry>", FEED.read_text(), flags=re.S)
    # Newest first in the file: the second round must be newer than the first (the cursor).
    first, second = entries[10:10 + ROUND], entries[:ROUND]
    feed = tmp_path / "alerts.xml"
    feed.write_text(feed_of(first))
    rules = rules_reading(tmp_path, feed)
    observer = create_engine(url, poolclass=NullPool)

    def db(sql: str):
        with observer.connect() as conn:
            return conn.execute(text(sql)).one()

    bots = [Bot(tmp_path, f"replica-{n}", database_url=url, rules=rules,
                slack_url=fake_slack.api_url) for n in (1, 2)]
    try:
        def roles() -> tuple[Bot, Bot] | None:
            logs = [b.log_text() for b in bots]
            if TAKEN in logs[0] and FOLLOWING in logs[1]:
                return bots[0], bots[1]
            if TAKEN in logs[1] and FOLLOWING in logs[0]:
                return bots[1], bots[0]
            return None

        leader, follower = wait_until(roles, bots[0], "one leader and one follower")
        wait_until(lambda: len(posted_outbox_ids(fake_slack)) >= ROUND, leader,
                   "the first round of cards")
        # Only the leader polled; the follower served and sent but never polled.
        wait_until(lambda: 'socialbot_polls_total{source="alerts",status="ok"} 1.0'
                   in leader.metrics(), leader, "the leader's poll metric")
        assert 'socialbot_polls_total{source="alerts"' not in follower.metrics()

        # New entries arrive; the leader dies before its next poll (every: 1h).
        feed.write_text(feed_of(second))
        killed_at = time.monotonic()
        leader.kill9()
        wait_until(lambda: TAKEN in follower.log_text(), follower, "the follower taking over")
        takeover = time.monotonic() - killed_at
        assert takeover < 10, f"takeover took {takeover:.1f}s"
        # The new leader polls at once (not at the source's next tick) and posts the cards.
        wait_until(lambda: len(posted_outbox_ids(fake_slack)) >= 2 * ROUND, follower,
                   "the second round of cards")
        # Once every row is `sent` no sender can claim one again: the count below is final.
        wait_until(lambda: db("SELECT count(*) FROM outbox_message WHERE state <> 'sent'")
                   == (0,), follower, "an empty outbox")

        ids = posted_outbox_ids(fake_slack)
        assert len(ids) == len(set(ids)) == 2 * ROUND, ids  # every card, none twice
        mentions, distinct, cards, sent = db(
            "SELECT (SELECT count(*) FROM mention), "
            "(SELECT count(DISTINCT (network, external_id)) FROM mention), "
            "(SELECT count(DISTINCT mention_id) FROM outbox_message WHERE kind = 'card'), "
            "(SELECT count(*) FROM outbox_message WHERE kind = 'card' AND state = 'sent')")
        assert (mentions, distinct, cards, sent) == (2 * ROUND,) * 4
        print(f"\ntakeover after kill -9: {takeover:.2f}s; {len(ids)} cards, each posted once")
    finally:
        for b in bots:
            b.cleanup()
        observer.dispose()
