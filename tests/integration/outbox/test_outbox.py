"""The outbox sender on a real database (SQLite, and PostgreSQL when configured) and a real
slack-sdk WebClient talking to the fake Slack on 127.0.0.1.

Time is injected: each test drives `run_once(now)` with a fake clock that the fake Slack also
stamps its message ts with, so nothing sleeps and Retry-After, backoff and leases are exact.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot.kit.db import make_session_factory, session_scope, utcnow
from bot.kit.models import Mention, OutboxMessage
from bot.outbox import CARD_EVENT, MAX_ATTEMPTS, OutboxSender, sender_client
from bot.outbox.pacing import PACING_HEADROOM
from bot.outbox.tuning import (
    BACKOFF_MAX,
    DIGEST_EVERY,
    DIGEST_THRESHOLD,
    LEASE,
    PROBE_FIRST,
    PROBE_MAX,
    RETRY_FOR,
    backoff,
)
from tests.support.fake_slack import FakeSlack
from tests.support.outbox_rows import NOW, add_mention, cards, queue

GAP = 1 / (1 - PACING_HEADROOM)  # seconds between posts to a channel once its burst is spent


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        """Move to NOW + seconds (never backwards) and return it."""
        self.now = max(self.now, NOW + timedelta(seconds=seconds))
        return self.now


def render(session, msg: OutboxMessage) -> dict:
    if msg.kind == "digest":
        return {"text": f"{len(msg.payload['mention_ids'])} more mentions"}
    return {"text": f"{msg.kind} of mention {msg.mention_id} ({msg.priority})"}


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def fake(clock):
    fake = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()
    yield fake
    fake.stop()


@pytest.fixture
def client(fake):
    return sender_client("xoxb-test", fake.api_url, timeout=5)


@pytest.fixture
def make_sender(factory, client, clock):
    def make(**kw) -> OutboxSender:
        return OutboxSender(factory, client, kw.pop("render", render), clock, **kw)
    return make


def row(factory, row_id: int) -> OutboxMessage:
    with factory() as s:
        return s.get(OutboxMessage, row_id)


def mention_of(factory, row_id: int) -> Mention:
    with factory() as s:
        return s.get(Mention, s.get(OutboxMessage, row_id).mention_id)


def posted(fake: FakeSlack) -> list[int]:
    """Outbox ids of the messages that reached Slack, in arrival order."""
    return [m["metadata"]["event_payload"]["outbox_id"]
            for m in sorted(fake.posts(), key=lambda m: float(m["ts"]))]


def post_attempts(fake: FakeSlack) -> int:
    return len(fake.calls_to("chat.postMessage"))


# --- one card, exactly once ----------------------------------------------------------------

def test_a_card_is_posted_once_with_metadata_and_its_ts_bound_in_one_go(factory, fake,
                                                                         make_sender):
    card = queue(factory, priority="P2")
    sender = make_sender()
    assert sender.run_once(NOW) == 1
    assert sender.run_once(NOW + timedelta(seconds=5)) == 0  # nothing left, nothing reposted

    [call] = fake.calls_to("chat.postMessage")
    mention = mention_of(factory, card)
    assert call.params["channel"] == "C1"
    assert call.params["text"] == f"card of mention {mention.id} (P2)"
    assert call.params["metadata"] == {"event_type": CARD_EVENT,
                                       "event_payload": {"mention_id": mention.id,
                                                         "outbox_id": card}}
    sent = row(factory, card)
    assert (sent.state, sent.sent_at, sent.error) == ("sent", NOW, None)
    assert sent.slack_ts == fake.posts("C1")[0]["ts"]
    assert (mention.slack_channel, mention.slack_ts) == ("C1", sent.slack_ts)


# --- order and pacing ----------------------------------------------------------------------

def test_p1_jumps_the_queue_of_its_channel_and_goes_before_other_channels(factory, fake,
                                                                          make_sender, clock):
    floods = cards(factory, 10, channel="C1", priority="P4")
    other = queue(factory, channel="C2", priority="P3")
    p1 = queue(factory, channel="C1", priority="P1")  # queued last, highest id
    sender = make_sender(digest_threshold=None)

    assert sender.run_once(clock.at(0)) == 4  # C1's burst of 3, and C2's one
    assert posted(fake) == [p1, other, floods[0], floods[1]]

    # Channel drained; a new P1 arrives behind 7 P4s: it takes the very next token.
    late_p1 = queue(factory, channel="C1", priority="P1", at=clock.at(0.5))
    assert sender.run_once(clock.now) == 0  # no token yet
    assert sender.run_once(clock.at(GAP)) == 1
    assert posted(fake)[-1] == late_p1


def test_pacing_is_per_channel_a_burst_of_3_then_1_per_second(factory, fake, make_sender, clock):
    cards(factory, 12, channel="C1")
    cards(factory, 12, channel="C2")
    sender = make_sender(digest_threshold=None)
    # Slack allows ~1/s per channel; the sender keeps 5% under it (GAP ≈ 1.053 s).
    times = (0, 0.5, 1.0, GAP, 1.5, 2 * GAP - 0.01, 2 * GAP, 2 * GAP + 0.5, 20.0)
    sends = [sender.run_once(clock.at(t)) for t in times]
    # burst of 3 in each channel, then one each per GAP; after a long pause the burst again
    assert sends == [6, 0, 0, 2, 0, 0, 2, 0, 6]
    assert Counter(c.params["channel"] for c in fake.calls_to("chat.postMessage")) == {
        "C1": 8, "C2": 8}


def test_429_blocks_the_channel_for_retry_after_and_is_not_a_failure(factory, fake,
                                                                      make_sender, clock):
    c1 = cards(factory, 3, channel="C1", priority="P3")
    c2 = queue(factory, channel="C2", priority="P4")
    fake.fail("chat.postMessage", channel="C1", status=429, error="ratelimited", retry_after=7)
    sender = make_sender(digest_threshold=None)

    assert sender.run_once(clock.at(0)) == 1  # C1's first post got 429; C2 is unaffected
    assert posted(fake) == [c2]
    limited = row(factory, c1[0])
    assert (limited.state, limited.attempts) == ("pending", 0)
    assert limited.not_before == NOW + timedelta(seconds=7)
    # Written to every pending row of the channel: a restarted sender respects it too.
    assert {row(factory, i).not_before for i in c1} == {NOW + timedelta(seconds=7)}
    assert make_sender(digest_threshold=None).run_once(clock.at(3)) == 0
    assert sender.run_once(clock.at(6.9)) == 0

    assert sender.run_once(clock.at(7)) == 1  # one token right after a 429, not a burst
    assert sender.run_once(clock.at(7 + GAP / 2)) == 0
    assert sender.run_once(clock.at(7 + GAP)) == 1
    assert sender.run_once(clock.at(7 + 2 * GAP)) == 1
    assert posted(fake) == [c2, *c1]
    assert [c.status for c in fake.calls_to("chat.postMessage")].count(429) == 1


def test_5xx_backs_off_then_succeeds_and_posts_once(factory, fake, make_sender, clock):
    card = queue(factory)
    fake.fail("chat.postMessage", status=500, error="internal_error", times=2)
    sender = make_sender()

    assert sender.run_once(clock.at(0)) == 0
    r = row(factory, card)
    assert (r.attempts, r.not_before, r.error) == (1, NOW + backoff(1), "HTTP 500 internal_error")
    assert sender.run_once(clock.at(1.9)) == 0 and post_attempts(fake) == 1  # backing off
    assert sender.run_once(clock.at(2)) == 0  # verified (not in Slack), retried, 500 again
    assert row(factory, card).attempts == 2
    assert sender.run_once(clock.at(2 + 3.9)) == 0 and post_attempts(fake) == 2
    assert sender.run_once(clock.at(2 + 4)) == 1

    assert posted(fake) == [card]
    assert row(factory, card).state == "sent"
    # Each retry looked in the channel first: a 5xx may come after Slack stored the post.
    assert len(fake.calls_to("conversations.history")) == 2


def test_an_open_mentions_card_is_never_given_up_on_5xx(factory, fake, make_sender, clock):
    """Twice MAX_ATTEMPTS failures: the card keeps being retried, the backoff capped, and
    goes out once Slack answers (issue 18: it used to fail for good after 5)."""
    card = queue(factory)
    fake.fail("chat.postMessage", status=503, error="service_unavailable",
              times=2 * MAX_ATTEMPTS)
    sender = make_sender()
    t = 0.0
    for attempt in range(1, 2 * MAX_ATTEMPTS + 1):
        sender.run_once(clock.at(t))
        assert row(factory, card).state == "sending"  # waits, to be looked for, then retried
        t += backoff(attempt).total_seconds()
    assert backoff(2 * MAX_ATTEMPTS) == BACKOFF_MAX
    sender.run_once(clock.at(t))  # looked for (not in Slack), queued again, posted
    assert (row(factory, card).state, row(factory, card).attempts) == ("sent", 2 * MAX_ATTEMPTS)
    assert posted(fake) == [card] and post_attempts(fake) == 2 * MAX_ATTEMPTS + 1


def test_a_row_about_no_open_mention_fails_after_retry_for(factory, fake, make_sender, clock):
    """An alert (no mention) and the card of a closed mention are tried for RETRY_FOR, then
    fail with their error kept; an ephemeral note after MAX_ATTEMPTS."""
    alert = queue(factory, "alert", payload={})
    with session_scope(factory) as s:
        closed = add_mention(s, status="closed").id
    card = queue(factory, mention_id=closed)
    note = queue(factory, "ephemeral", payload={"user": "U1"})
    fake.fail("chat.postMessage", status=503, error="service_unavailable", times=10_000)
    fake.fail("chat.postEphemeral", status=503, error="service_unavailable", times=10_000)
    sender = make_sender()
    for t in (0, 2, 6, 14, 30, 62):
        sender.run_once(clock.at(t))
    assert row(factory, note).attempts == MAX_ATTEMPTS
    assert {row(factory, i).state for i in (alert, card)} == {"sending"}  # still trying
    for t in (60, 120, 180):  # a day later: one more failure each, and they are given up
        sender.run_once(clock.at(RETRY_FOR.total_seconds() + t))
    for i in (alert, card, note):
        failed = row(factory, i)
        assert failed.state == "failed" and failed.error == "HTTP 503 service_unavailable"
    assert fake.posts() == []


def test_channel_errors_park_the_channels_rows_until_resumed(factory, fake, make_sender,
                                                             clock, caplog):
    """not_in_channel: the channel's rows (and those queued later) are parked, not failed,
    logged once with the fix; other channels go on; `resume()` posts each exactly once."""
    bad = cards(factory, 2, channel="C404")
    good = queue(factory, channel="C1")
    fake.fail("chat.postMessage", channel="C404", status=200, error="not_in_channel")
    sender = make_sender()
    with caplog.at_level(logging.INFO, logger="bot.outbox"):
        assert sender.run_once(clock.at(0)) == 1
    assert posted(fake) == [good]
    for i in bad:
        r = row(factory, i)
        assert (r.state, r.error) == ("parked", "not_in_channel (HTTP 200)")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "C404" in errors[0].getMessage()
    assert "/invite @socialbot" in errors[0].getMessage()
    later = queue(factory, channel="C404", at=NOW + timedelta(seconds=30))
    assert sender.run_once(clock.at(30)) == 0 and row(factory, later).state == "parked"
    assert post_attempts(fake) == 2  # no call spent on a channel known to refuse
    trouble = sender.trouble(clock.at(60))
    assert [(p.scope, p.code, p.rows) for p in trouble.parked] == [("C404", "not_in_channel", 3)]
    assert "invite" in trouble.parked[0].fix and trouble.parked[0].since == NOW

    assert sender.resume(clock.at(90)) == 3  # the bot was invited, the rules reloaded
    assert sender.run_once(clock.at(90)) == 3
    assert sorted(posted(fake)) == sorted([good, *bad, later])
    assert sender.trouble(clock.now).parked == ()


def test_a_bad_token_parks_everything_until_restart(factory, fake, make_sender, clock):
    first, second = cards(factory, 2, channel="C1")
    other = queue(factory, channel="C2")
    fake.fail("chat.postMessage", status=200, error="invalid_auth")
    sender = make_sender()
    assert sender.run_once(clock.at(0)) == 0
    assert {row(factory, i).state for i in (first, second, other)} == {"parked"}  # not burnt
    assert post_attempts(fake) == 1
    assert [p.scope for p in sender.trouble(clock.now).parked] == ["all"]
    assert sender.run_once(clock.at(5 * 60)) == 0 and post_attempts(fake) == 1
    restarted = make_sender()  # the token fixed: a restart resumes (the loop's first step)
    restarted.resume(clock.now)
    assert restarted.run_once(clock.now) == 3


def test_a_parked_channel_is_probed_on_its_own_and_resumes_once_fixed(factory, fake,
                                                                      make_sender, clock):
    """No SIGHUP: PROBE_FIRST after parking, the sender tries the channel again by itself, with
    one call; while Slack still refuses, the wait doubles up to PROBE_MAX (and /social status
    says when); once the bot is invited, every parked card goes out, each once."""
    bad = cards(factory, 3, channel="C404")
    broken = {"yes": True}
    fake.outage("chat.postMessage", lambda: broken["yes"], channel="C404", status=200,
                error="not_in_channel")
    sender = make_sender()
    assert sender.run_once(clock.at(0)) == 0 and post_attempts(fake) == 1
    [scope] = sender.trouble(clock.now).parked
    assert scope.next_probe == NOW + PROBE_FIRST
    assert sender.run_once(clock.at(PROBE_FIRST.total_seconds() - 1)) == 0
    assert post_attempts(fake) == 1  # not yet due

    waits = []
    for _ in range(4):  # probes Slack still refuses: one call each, the wait doubling
        probe_at = sender.trouble(clock.now).parked[0].next_probe
        assert probe_at is not None
        calls = post_attempts(fake)
        assert sender.run_once(clock.at((probe_at - NOW).total_seconds())) == 0
        assert post_attempts(fake) == calls + 1
        assert {row(factory, i).state for i in bad} == {"parked"}
        [scope] = sender.trouble(clock.now).parked
        assert scope.rows == 3 and scope.next_probe is not None
        waits.append(scope.next_probe - clock.now)
    assert waits == [2 * PROBE_FIRST, min(PROBE_MAX, 4 * PROBE_FIRST), PROBE_MAX, PROBE_MAX]

    broken["yes"] = False  # the bot invited; nobody reloads anything
    probe_at = sender.trouble(clock.now).parked[0].next_probe
    assert probe_at is not None
    assert sender.run_once(clock.at((probe_at - NOW).total_seconds())) == 3
    assert sorted(posted(fake)) == sorted(bad)
    assert sender.trouble(clock.now).parked == ()


def test_a_probe_looks_up_a_row_posted_before_and_a_new_parking_starts_at_probe_first(
        factory, fake, make_sender, clock):
    """A probe resumes like SIGHUP: a row attempted before is looked up by its metadata, never
    posted twice; after a success, a channel parked again waits PROBE_FIRST, not the doubled
    wait of the last time."""
    card = queue(factory, channel="C9")
    fake.fail("chat.postMessage", channel="C9", status=500, error="internal_error",
              deliver=True)
    sender = make_sender()
    sender.run_once(clock.at(0))
    fake.fail("conversations.history", status=200, error="not_in_channel")
    sender.run_once(clock.at(backoff(1).total_seconds()))
    assert (row(factory, card).state, row(factory, card).attempts) == ("parked", 1)
    fake.fail("conversations.history", status=200, error="not_in_channel")  # first probe
    t = backoff(1) + PROBE_FIRST
    sender.run_once(clock.at(t.total_seconds()))  # resumed to be looked up (next round)
    sender.run_once(clock.now)  # looked up: still refused
    assert row(factory, card).state == "parked"
    probe_at = sender.trouble(clock.now).parked[0].next_probe
    assert probe_at == clock.now + 2 * PROBE_FIRST
    sender.run_once(clock.at((probe_at - NOW).total_seconds()))
    sender.run_once(clock.now)  # found by its metadata: recorded, not posted again
    assert row(factory, card).state == "sent" and posted(fake) == [card]
    assert post_attempts(fake) == 1

    again = queue(factory, channel="C9", at=clock.now)
    fake.fail("chat.postMessage", channel="C9", status=200, error="not_in_channel")
    sender.run_once(clock.now)
    assert row(factory, again).state == "parked"
    assert sender.trouble(clock.now).parked[0].next_probe == clock.now + PROBE_FIRST


def test_a_parked_row_posted_before_is_looked_up_not_posted_again(factory, fake, make_sender,
                                                                   clock):
    """A 500 after Slack stored the card, then the bot was removed from the channel: parked
    after an attempt, so on resume it is found by its metadata, never posted a second time."""
    card = queue(factory, channel="C9")
    fake.fail("chat.postMessage", channel="C9", status=500, error="internal_error",
              deliver=True)
    sender = make_sender()
    sender.run_once(clock.at(0))
    fake.fail("conversations.history", status=200, error="not_in_channel")
    sender.run_once(clock.at(backoff(1).total_seconds()))
    r = row(factory, card)
    assert (r.state, r.attempts) == ("parked", 1)
    sender.resume(clock.at(60))
    sender.run_once(clock.now)
    assert row(factory, card).state == "sent" and posted(fake) == [card]
    assert post_attempts(fake) == 1


# --- crash and unknown outcomes ------------------------------------------------------------

def leave_in_sending(factory, row_id: int, lease_until: datetime) -> None:
    """What a sender that crashed right after claiming leaves behind."""
    with session_scope(factory) as s:
        r = s.get(OutboxMessage, row_id)
        r.state, r.not_before = "sending", lease_until


def test_crash_after_the_post_is_reconciled_not_reposted(factory, fake, client, make_sender,
                                                         clock):
    card = queue(factory, priority="P2")
    leave_in_sending(factory, card, NOW + LEASE)
    mention_id = row(factory, card).mention_id
    # The crashed process had posted it: the message is in the channel, the DB doesn't know.
    clock.at(1)
    ts = client.chat_postMessage(channel="C1", text="card", metadata={
        "event_type": CARD_EVENT,
        "event_payload": {"mention_id": mention_id, "outbox_id": card}})["ts"]
    # Other messages around it: a person's, and another card of ours.
    fake.messages["C1"] += [
        {"type": "message", "ts": f"{NOW.timestamp() + 2:.6f}", "text": "a person"},
        {"type": "message", "ts": f"{NOW.timestamp() + 3:.6f}", "text": "card", "metadata": {
            "event_type": CARD_EVENT, "event_payload": {"mention_id": 0, "outbox_id": 0}}}]
    calls_before = post_attempts(fake)

    sender = make_sender()  # SQLite: single process, so start-up verifies every `sending` row
    sender.reconcile(clock.at(30), everything=True)
    assert sender.run_once(clock.now) == 0
    assert post_attempts(fake) == calls_before
    r = row(factory, card)
    assert (r.state, r.slack_ts) == ("sent", ts)
    assert mention_of(factory, card).slack_ts == ts
    [history] = fake.calls_to("conversations.history")
    assert history.params["include_all_metadata"] in ("1", "true", True)
    assert float(history.params["oldest"]) < NOW.timestamp()  # from before the row existed


def test_crash_before_the_post_posts_it_once_when_the_lease_runs_out(factory, fake,
                                                                     make_sender, clock):
    card = queue(factory)
    leave_in_sending(factory, card, NOW + LEASE)
    sender = make_sender(single_process=False)  # as on PostgreSQL: another replica may own it
    assert sender.run_once(clock.at(60)) == 0  # lease still running: not touched
    assert fake.calls_to("conversations.history") == []
    assert sender.run_once(clock.at(LEASE.total_seconds())) == 1  # verified: absent → posted
    assert posted(fake) == [card]
    assert sender.run_once(clock.at(1000)) == 0 and posted(fake) == [card]


def test_a_lost_answer_is_found_in_the_channel_not_posted_twice(factory, fake, make_sender,
                                                                clock):
    card = queue(factory)
    fake.fail("chat.postMessage", deliver=True, drop=True)  # Slack stored it, answer lost
    sender = make_sender()
    assert sender.run_once(clock.at(0)) == 0
    assert row(factory, card).state == "sending"  # outcome unknown, not "pending"
    sender.run_once(clock.at(backoff(1).total_seconds()))
    assert post_attempts(fake) == 1 and len(fake.posts()) == 1
    r = row(factory, card)
    assert (r.state, r.slack_ts) == ("sent", fake.posts("C1")[0]["ts"])
    assert mention_of(factory, card).slack_ts == r.slack_ts


def test_sender_refuses_a_client_that_retries_by_itself(factory, fake):
    with pytest.raises(ValueError, match="retry_handlers"):
        OutboxSender(factory, WebClient(token="x", base_url=fake.api_url), render)


# --- updates, threads, DMs -----------------------------------------------------------------

def test_updates_collapse_into_one_chat_update_of_the_card(factory, fake, make_sender, clock):
    card = queue(factory, priority="P2")
    sender = make_sender()
    sender.run_once(clock.at(0))
    mention = mention_of(factory, card)
    updates = [queue(factory, "update", mention_id=mention.id, priority="P2", at=clock.at(1))
               for _ in range(3)]
    assert sender.run_once(clock.at(1)) == 1
    [call] = fake.calls_to("chat.update")
    assert (call.params["channel"], call.params["ts"]) == ("C1", mention.slack_ts)
    assert [row(factory, i).state for i in updates] == ["folded", "folded", "sent"]


def test_thread_replies_and_updates_wait_for_the_card(factory, fake, make_sender, clock):
    with session_scope(factory) as s:
        mention_id = add_mention(s, priority="P3").id
    # Queued before the card and more urgent than it: still they must wait for it.
    reply = queue(factory, "thread", mention_id=mention_id, priority="P1")
    update = queue(factory, "update", mention_id=mention_id, priority="P1")
    card = queue(factory, "card", mention_id=mention_id, priority="P3",
                 not_before=NOW + timedelta(seconds=10))
    sender = make_sender()
    assert sender.run_once(clock.at(0)) == 0
    assert sender.run_once(clock.at(10)) == 1  # the card
    assert sender.run_once(clock.now) == 2  # now the thread reply and the update
    ts = mention_of(factory, card).slack_ts
    [thread_post] = [c for c in fake.calls_to("chat.postMessage") if "thread_ts" in c.params]
    assert (thread_post.params["channel"], thread_post.params["thread_ts"]) == ("C1", ts)
    assert fake.calls_to("chat.update")[0].params["ts"] == ts
    assert {row(factory, i).state for i in (reply, update, card)} == {"sent"}


def test_a_dm_opens_the_conversation_first(factory, fake, make_sender, clock):
    dm = queue(factory, "dm", channel="U0LEAD", priority="P2")
    assert make_sender().run_once(clock.at(0)) == 1
    assert fake.calls_to("conversations.open")[0].params["users"] == "U0LEAD"
    assert fake.calls_to("chat.postMessage")[0].params["channel"] == "DU0LEAD"
    assert row(factory, dm).state == "sent"


def test_a_render_error_fails_its_row_only(factory, fake, make_sender, clock):
    broken, fine = queue(factory, priority="P1"), queue(factory, priority="P2")

    def flaky(session, msg):
        if msg.id == broken:
            raise KeyError("blocks")
        return render(session, msg)

    assert make_sender(render=flaky).run_once(clock.at(0)) == 1
    assert row(factory, broken).state == "failed"
    assert row(factory, broken).error.startswith("render failed: KeyError")
    assert posted(fake) == [fine]


# --- flood → digest ------------------------------------------------------------------------

def test_a_flood_of_low_priority_cards_becomes_a_digest(factory, fake, make_sender, clock):
    p4 = cards(factory, DIGEST_THRESHOLD + 10, channel="C1", priority="P4")
    p3 = cards(factory, 5, channel="C1", priority="P3")
    p2 = queue(factory, channel="C1", priority="P2")
    p1 = queue(factory, channel="C1", priority="P1")
    calm = cards(factory, 3, channel="C2", priority="P4")  # under the threshold: cards
    sender = make_sender()

    assert sender.run_once(clock.at(0)) == 6
    with factory() as s:
        [digest] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest")).all()
        folded_mentions = [mention_of(factory, i).id for i in p3 + p4]
    assert digest.priority == "P3" and digest.state == "sent"
    assert digest.payload["mention_ids"] == folded_mentions  # most urgent first
    assert {row(factory, i).state for i in p3 + p4} == {"folded"}
    assert row(factory, p4[0]).payload == {"folded_into": digest.id}
    assert posted(fake) == [p1, p2, digest.id, *calm]  # the digest ranks as its P3s

    # More flood within DIGEST_EVERY: held for the next digest, P1/P2 still go at once.
    more = cards(factory, DIGEST_THRESHOLD + 1, channel="C1", at=clock.at(60))
    urgent = queue(factory, channel="C1", priority="P2", at=clock.now)
    assert sender.run_once(clock.now) == 1 and posted(fake)[-1] == urgent
    assert sender.run_once(clock.at(120)) == 0
    assert {row(factory, i).state for i in more} == {"pending"}

    assert sender.run_once(clock.at(DIGEST_EVERY.total_seconds())) == 1  # the second digest
    assert {row(factory, i).state for i in more} == {"folded"}
    with factory() as s:
        assert len(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest")).all()) == 2


def test_a_folded_mention_someone_works_on_gets_its_card(factory, fake, make_sender, clock):
    flood = cards(factory, DIGEST_THRESHOLD + 1, channel="C1", priority="P4")
    sender = make_sender()
    sender.run_once(clock.at(0))
    worked = row(factory, flood[5])
    assert worked.state == "folded"
    reply = queue(factory, "thread", mention_id=worked.mention_id, priority="P4", at=clock.at(5))
    assert sender.run_once(clock.now) == 1  # its card first…
    assert row(factory, flood[5]).state == "sent"
    assert sender.run_once(clock.now) == 1  # …then the reply in its thread
    assert row(factory, reply).state == "sent"
    assert sum(1 for i in flood if row(factory, i).state == "folded") == DIGEST_THRESHOLD


# --- metrics, the loop, replicas -----------------------------------------------------------

def test_depth_and_oldest_pending_age(factory, fake, make_sender, clock):
    sender = make_sender(digest_threshold=None)
    assert (sender.depth(), sender.oldest_pending_age(NOW)) == (0, 0.0)
    cards(factory, 5, channel="C1", at=NOW)
    queue(factory, channel="C1", at=NOW + timedelta(seconds=30))
    assert sender.depth() == 6
    assert sender.oldest_pending_age(NOW + timedelta(seconds=90)) == 90.0
    sender.run_once(clock.at(0))
    assert sender.depth() == 3


def test_the_background_loop_sends_when_woken(factory, fake, client):
    sender = OutboxSender(factory, client, render, utcnow)  # real time: the loop's own clock
    sender.start()
    try:
        card = queue(factory, priority="P1", at=utcnow())
        sender.wake()
        fake.wait_for("chat.postMessage", timeout=10)
    finally:
        sender.stop()
    assert row(factory, card).state == "sent"


def test_two_senders_never_post_the_same_row(factory, fake, client, clock, engine):
    rows = []
    for ch in range(8):
        rows += cards(factory, 6, channel=f"C{ch}", priority=("P1", "P2", "P3", "P4")[ch % 4])
    # Each sender has its own sessions (own factory on the engine) and its own buckets.
    senders = [OutboxSender(make_session_factory(engine), client, render, clock,
                            digest_threshold=None) for _ in range(2)]
    start = threading.Barrier(2)
    done: list[int] = []

    def work(sender: OutboxSender) -> None:
        start.wait()
        total = 0
        for step in range(40):
            total += sender.run_once(NOW + timedelta(seconds=step * 0.5))
        done.append(total)

    threads = [threading.Thread(target=work, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ids = posted(fake)
    assert sorted(ids) == sorted(rows)  # every row posted, none twice
    assert sum(done) == len(rows)
    with factory() as s:
        assert set(s.scalars(select(OutboxMessage.state))) == {"sent"}


def test_a_reassigned_mentions_new_card_becomes_its_card_even_after_a_crash(factory, fake,
                                                                             make_sender, clock):
    first = queue(factory, channel="C1", priority="P2")
    sender = make_sender()
    sender.run_once(clock.at(0))
    mention = mention_of(factory, first)
    # Reassigned to another team after its card was posted: a second card row, in C2.
    second = queue(factory, channel="C2", priority="P2", mention_id=mention.id, at=clock.at(5),
                   dedupe_key=f"card:{mention.id}:v1")
    leave_in_sending(factory, second, clock.now + LEASE)  # …and the sender crashed on it
    # The mention still points at the first card: that must not pass for the second's post.
    sender.reconcile(clock.at(6), everything=True)
    assert row(factory, second).state == "pending"
    assert sender.run_once(clock.now) == 1
    moved = mention_of(factory, second)
    assert (moved.slack_channel, moved.slack_ts) == ("C2", fake.posts("C2")[0]["ts"])
    assert row(factory, first).slack_ts == fake.posts("C1")[0]["ts"]
