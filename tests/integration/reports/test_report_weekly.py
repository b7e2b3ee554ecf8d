"""The weekly executive report: due at `reports.weekly.at` in its time zone, queued once per
week whatever the restarts (the outbox dedupe key), posted by the outbox sender with the real
renderer, and carrying the week's critical events; its chart uploaded once in its thread,
whatever the failures and crashes (the real sender, against the fake Slack)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.desk.directory import StaticDirectory
from bot.domain.rules.schema import Rules, Weekly
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.kit.models import OutboxMessage
from bot.outbox import OutboxSender, sender_client
from bot.outbox.tuning import FILE_SHARE_DELAY, LEASE
from bot.reports.chart import report_chart_png
from bot.reports.queries import compute_report
from bot.reports.weekly import latest_slot, run_weekly_report
from bot.slack.render import Renderer
from tests.support.fake_slack import FakeSlack
from tests.support.threads import run_at_once

EXEC = "C0EXEC00001"
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1"}, "pr": {"channel": "C0PRESS01"}},
    "default_team": "support",
    "reports": {"weekly": {"channel": EXEC, "at": "mon 08:00", "timezone": "Europe/Paris"}},
})
# Paris is UTC+1 in winter: Monday 30 Nov 08:00 there is 07:00 UTC.
DUE = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_slot_covers_the_previous_local_week():
    slot = latest_slot(RULES.reports.weekly, DUE + timedelta(minutes=1))
    assert slot.due == DUE and slot.key == "weekly:2026-W48"
    assert slot.period.start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Mon 00:00 Paris
    assert slot.period.end == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    assert slot.period.label == "2026-11-23..2026-11-29"
    before = latest_slot(RULES.reports.weekly, DUE - timedelta(seconds=1))
    assert before.key == "weekly:2026-W47"
    # Across a DST change (Paris goes to summer time on 29 March 2026): still 08:00 local.
    spring = latest_slot(Weekly(channel=EXEC, at="mon 08:00", timezone="Europe/Paris"),
                         datetime(2026, 3, 30, 6, 30, tzinfo=UTC))
    assert spring.due == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert spring.period.length == timedelta(days=7, hours=-1)


def _queued(factory) -> list[OutboxMessage]:
    with factory() as s:
        return list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("weekly:%")).order_by(OutboxMessage.id)))


@pytest.fixture
def week(session, make_author, make_mention):
    """The week's mentions: a P1 closed as resolved, a legal risk still open, and noise."""
    inside = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    p1 = make_mention(ingested_at=inside, priority="P1", status="closed", outcome="resolved",
                      first_response_at=inside + timedelta(minutes=7),
                      closed_at=inside + timedelta(hours=1), text="You lost my bag!")
    legal = make_mention(ingested_at=inside + timedelta(hours=3), priority="P2", team="pr",
                         risk=["legal"], text="My lawyer will hear about this")
    make_mention(ingested_at=inside + timedelta(hours=5), priority="P4", sentiment="positive")
    make_mention(ingested_at=datetime(2026, 11, 30, 0, 30, tzinfo=UTC), priority="P1")  # next week
    session.commit()
    return p1, legal


def test_posted_once_per_week_across_restarts(migrated_url, week):
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    assert run_weekly_report(factory, RULES, DUE - timedelta(minutes=1)) is False  # not yet
    assert run_weekly_report(factory, RULES, DUE + timedelta(minutes=1)) is True
    assert run_weekly_report(factory, RULES, DUE + timedelta(minutes=6)) is False
    engine.dispose()

    # A restart: new engine, new factory, the job runs again at once and every 5 minutes.
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    for minutes in (11, 16, 60 * 24):
        assert run_weekly_report(factory, RULES, DUE + timedelta(minutes=minutes)) is False
    [row] = _queued(factory)
    assert (row.kind, row.channel, row.dedupe_key) == ("alert", EXEC, "weekly:2026-W48")
    text = str(row.payload["blocks"])
    assert "weekly listening report" in row.payload["text"] and "Critical events* — 2" in text
    p1, legal = week
    assert "Resolved" in text and p1.text in text
    assert "legal" in text and legal.text in text

    # The sender posts it exactly once, with what was queued; then its chart, in its thread.
    fake = FakeSlack().start()
    try:
        clock = lambda: DUE + timedelta(minutes=20)  # noqa: E731
        sender = OutboxSender(factory, sender_client("xoxb-t", fake.api_url),
                              Renderer(lambda: RULES, StaticDirectory({}), clock), clock)
        assert sender.run_once(clock()) == 1  # the report: the chart waits for its ts
        assert sender.run_once(clock()) == 1  # the chart
        assert sender.run_once(clock()) == 0
        [post, chart] = fake.posts(EXEC)
        assert post["text"] == row.payload["text"]
        assert chart["thread_ts"] == post["ts"] and len(fake.files(EXEC)) == 1
    finally:
        fake.stop()

    # A week later: the next week's report, once.
    nxt = DUE + timedelta(days=7, minutes=2)
    assert run_weekly_report(factory, RULES, nxt) is True
    assert run_weekly_report(factory, RULES, nxt + timedelta(minutes=5)) is False
    assert [r.dedupe_key for r in _queued(factory)] == ["weekly:2026-W48", "weekly:2026-W49"]
    engine.dispose()


def test_too_late_or_not_configured_posts_nothing(migrated_url):
    engine = make_engine(migrated_url)
    factory = make_session_factory(engine)
    # Down from Monday to Thursday: that week's report is skipped, not posted days late.
    assert run_weekly_report(factory, RULES, DUE + timedelta(days=3)) is False
    no_weekly = RULES.model_copy(update={"reports": RULES.reports.model_copy(
        update={"weekly": None})})
    assert run_weekly_report(factory, no_weekly, DUE + timedelta(minutes=1)) is False
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    engine.dispose()


# --- the chart: queued with the report, uploaded once in its thread -------------------------

class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def after(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def clock():
    return Clock(DUE + timedelta(minutes=1))


@pytest.fixture
def fake(clock):
    fake = FakeSlack(ts_clock=lambda: clock.now.timestamp()).start()  # ts follow our clock
    yield fake
    fake.stop()


@pytest.fixture
def sender(factory, fake, clock):
    return OutboxSender(factory, sender_client("xoxb-t", fake.api_url, timeout=5),
                        Renderer(lambda: RULES, StaticDirectory({}), clock), clock)


def _rows(factory) -> dict[str, OutboxMessage]:
    with factory() as s:
        return {r.dedupe_key: r for r in s.scalars(select(OutboxMessage))}


def _uploads(fake: FakeSlack) -> dict[str, int]:
    return {m: len(fake.calls_to(m)) for m in
            ("files.getUploadURLExternal", "upload", "files.completeUploadExternal")}


def _send_until_idle(sender: OutboxSender, clock: Clock, rounds: int = 5) -> int:
    return sum(sender.run_once(clock.after(timedelta(seconds=1))) for _ in range(rounds))


def test_the_report_and_its_chart_are_queued_once_however_often_the_job_runs(factory, week,
                                                                            clock):
    assert run_weekly_report(factory, RULES, clock()) is True
    for minutes in (5, 10, 60):
        assert run_weekly_report(factory, RULES, clock() + timedelta(minutes=minutes)) is False
    rows = _rows(factory)
    assert sorted(rows) == ["weekly-chart:2026-W48", "weekly:2026-W48"]
    chart = rows["weekly-chart:2026-W48"]
    assert (chart.kind, chart.channel, chart.state) == ("file", EXEC, "pending")
    assert chart.payload["thread_of"] == "weekly:2026-W48"
    assert chart.payload["filename"] == "socialbot-weekly-2026-W48.png"
    assert [d["day"] for d in chart.payload["days"]] == [
        f"2026-11-{d}" for d in range(23, 30)]  # the reported local week, Monday to Sunday
    assert sum(sum(d["sentiment"].values()) for d in chart.payload["days"]) == 3


def test_two_workers_queue_the_report_and_its_chart_once(factory, migrated_url, week, clock):
    results = run_at_once(migrated_url, lambda f: run_weekly_report(f, RULES, clock()))
    assert sorted(results) == [False, True]
    assert sorted(_rows(factory)) == ["weekly-chart:2026-W48", "weekly:2026-W48"]


def test_a_week_queued_before_charts_gets_its_chart_and_no_second_report(factory, week, clock):
    with session_scope(factory) as s:  # what the job queued before it drew charts
        s.add(OutboxMessage(kind="alert", channel=EXEC, priority="P3",
                            payload={"type": "weekly_report", "text": "old", "blocks": []},
                            state="sent", slack_ts="1700000000.000001", not_before=DUE,
                            created_at=DUE, sent_at=DUE, dedupe_key="weekly:2026-W48"))
    assert run_weekly_report(factory, RULES, clock()) is True
    rows = _rows(factory)
    assert rows["weekly:2026-W48"].payload["text"] == "old"
    assert rows["weekly-chart:2026-W48"].state == "pending"


def test_the_chart_is_uploaded_once_in_the_reports_thread(factory, week, clock, fake, sender,
                                                           session):
    assert run_weekly_report(factory, RULES, clock()) is True
    assert _send_until_idle(sender, clock) == 2
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert _uploads(fake) == {"files.getUploadURLExternal": 1, "upload": 1,
                              "files.completeUploadExternal": 1}
    [post, shared] = fake.posts(EXEC)
    assert "weekly listening report" in post["text"]
    assert "in this message's thread" in str(post["blocks"])
    [file] = fake.files(EXEC)
    assert file["thread_ts"] == shared["thread_ts"] == post["ts"]
    assert file["filename"] == "socialbot-weekly-2026-W48.png"
    assert file["title"] == "Mentions and response time · 2026-11-23..2026-11-29"
    # A valid PNG, and the very chart /social report draws for the same period.
    image = Image.open(io.BytesIO(file["data"]))
    image.verify()
    assert (image.format, image.size) == ("PNG", (1000, 450))
    slot = latest_slot(RULES.reports.weekly, clock())
    same = compute_report(session, RULES, slot.period, now=clock(), tz_name="Europe/Paris")
    assert file["data"] == report_chart_png(same)
    rows = _rows(factory)
    assert rows["weekly:2026-W48"].slack_ts == post["ts"]
    assert (rows["weekly-chart:2026-W48"].state, rows["weekly-chart:2026-W48"].error) == (
        "sent", None)
    # Later rounds and runs of the job: nothing more.
    assert run_weekly_report(factory, RULES, clock.after(timedelta(minutes=5))) is False
    assert _send_until_idle(sender, clock) == 0
    assert len(fake.calls_to("chat.postMessage")) == 1 and len(fake.files()) == 1


def test_the_chart_waits_for_the_report_to_have_a_ts(factory, week, clock, fake, sender):
    run_weekly_report(factory, RULES, clock())
    fake.fail("chat.postMessage", status=503, error="service_unavailable")
    assert sender.run_once(clock()) == 0  # the report's post failed: outcome unknown
    assert _rows(factory)["weekly:2026-W48"].state == "sending"
    assert _send_until_idle(sender, clock, rounds=1) == 0  # within its backoff: nothing
    assert _uploads(fake)["files.getUploadURLExternal"] == 0
    # After the backoff the report is looked for (absent), posted, and only then the chart.
    assert _send_until_idle(sender, clock, rounds=10) == 2
    order = [c.method for c in fake.calls if c.method in (
        "chat.postMessage", "files.getUploadURLExternal")]
    assert order == ["chat.postMessage", "chat.postMessage", "files.getUploadURLExternal"]
    [post, _] = fake.posts(EXEC)
    [file] = fake.files(EXEC)
    assert file["thread_ts"] == post["ts"]


# (method that fails, how, then the calls each upload step got in all)
UPLOAD_FAILURES = [
    pytest.param("files.getUploadURLExternal", {"status": 500}, (2, 1, 1), id="url"),
    pytest.param("upload", {"status": 500}, (2, 2, 1), id="bytes"),
    pytest.param("files.completeUploadExternal", {"status": 500}, (2, 2, 2), id="complete"),
    pytest.param("files.completeUploadExternal", {"drop": True}, (2, 2, 2), id="dropped"),
    pytest.param("files.completeUploadExternal", {"deliver": True, "drop": True}, (1, 1, 1),
                 id="shared-answer-lost"),
]


@pytest.mark.parametrize(("method", "how", "calls"), UPLOAD_FAILURES)
def test_a_failed_upload_is_retried_and_never_shared_twice(factory, week, clock, fake, sender,
                                                           method, how, calls):
    run_weekly_report(factory, RULES, clock())
    fake.fail(method, **how)
    assert _send_until_idle(sender, clock, rounds=3) == 1  # the report; the upload failed
    chart = _rows(factory)["weekly-chart:2026-W48"]
    assert (chart.state, chart.attempts) == ("sending", 1)  # outcome unknown: look first
    shared_already = how.get("deliver", False)
    assert len(fake.files(EXEC)) == int(shared_already)
    # Not looked for (nor uploaded again) before Slack may have shared it.
    sender.run_once(clock.after(FILE_SHARE_DELAY - timedelta(seconds=10)))
    assert fake.calls_to("conversations.replies") == []
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1
    clock.after(timedelta(seconds=10))
    _send_until_idle(sender, clock)
    [post] = [m for m in fake.posts(EXEC) if not m.get("files")]
    [file] = fake.files(EXEC)  # exactly one share, in the report's thread
    assert file["thread_ts"] == post["ts"]
    assert Image.open(io.BytesIO(file["data"])).format == "PNG"
    [looked] = fake.calls_to("conversations.replies")  # looked for in the thread, once
    assert looked.params["ts"] == post["ts"]
    assert tuple(_uploads(fake).values()) == calls
    chart = _rows(factory)["weekly-chart:2026-W48"]
    assert chart.state == "sent"
    assert _send_until_idle(sender, clock) == 0 and tuple(_uploads(fake).values()) == calls


def test_a_crash_after_the_upload_is_reconciled_not_uploaded_again(factory, week, clock, fake,
                                                                    sender):
    run_weekly_report(factory, RULES, clock())
    assert _send_until_idle(sender, clock) == 2
    with session_scope(factory) as s:  # the process died before recording the upload
        row = s.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == "weekly-chart:2026-W48"))
        row.state, row.sent_at, row.not_before = "sending", None, clock() + LEASE
    before = _uploads(fake)
    restarted = OutboxSender(factory, sender.client, sender.render, clock, single_process=False)
    restarted.run_once(clock.after(LEASE + timedelta(seconds=1)))  # its lease ran out
    assert _rows(factory)["weekly-chart:2026-W48"].state == "sent"
    assert _uploads(fake) == before and len(fake.files()) == 1


def test_a_restart_seconds_after_the_upload_does_not_look_for_the_file_yet(factory, week,
                                                                           clock, fake, sender):
    # A single process restarting verifies every `sending` row at once, except a file: Slack
    # may not show a file it was just given yet, and missing it would upload it again.
    run_weekly_report(factory, RULES, clock())
    assert _send_until_idle(sender, clock) == 2
    with session_scope(factory) as s:  # died right after the upload, before recording it
        row = s.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == "weekly-chart:2026-W48"))
        row.state, row.sent_at, row.not_before = "sending", None, clock() + LEASE
    before = _uploads(fake)
    restarted = OutboxSender(factory, sender.client, sender.render, clock, single_process=True)
    assert restarted.reconcile(clock.after(timedelta(seconds=5)), everything=True) == 0
    assert fake.calls_to("conversations.replies") == []
    clock.after(LEASE)
    _send_until_idle(restarted, clock)
    assert _rows(factory)["weekly-chart:2026-W48"].state == "sent"
    assert _uploads(fake) == before and len(fake.files()) == 1


def test_a_crash_before_the_upload_uploads_it_once_when_the_lease_runs_out(factory, week,
                                                                           clock, fake, sender):
    run_weekly_report(factory, RULES, clock())
    assert sender.run_once(clock()) == 1  # the report
    with session_scope(factory) as s:  # claimed, then the process died before any call
        row = s.scalar(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == "weekly-chart:2026-W48"))
        row.state, row.not_before = "sending", clock() + LEASE
    restarted = OutboxSender(factory, sender.client, sender.render, clock, single_process=False)
    assert restarted.run_once(clock.after(timedelta(seconds=30))) == 0  # lease still running
    assert _uploads(fake)["files.getUploadURLExternal"] == 0
    clock.after(LEASE)
    assert _send_until_idle(restarted, clock) == 1
    assert len(fake.files(EXEC)) == 1 and _rows(factory)["weekly-chart:2026-W48"].state == "sent"


def test_the_chart_waits_parked_with_its_report(factory, week, clock, fake, sender):
    """The bot is not in the executive channel: the report and its chart are parked together
    (no upload is wasted), and once resumed both go out, the chart in the report's thread."""
    run_weekly_report(factory, RULES, clock())
    fake.fail("chat.postMessage", status=200, error="not_in_channel")
    _send_until_idle(sender, clock)
    rows = _rows(factory)
    assert rows["weekly:2026-W48"].state == "parked"
    assert rows["weekly-chart:2026-W48"].state == "parked"
    assert _uploads(fake)["files.getUploadURLExternal"] == 0
    assert sender.resume(clock()) == 2
    _send_until_idle(sender, clock)
    rows = _rows(factory)
    assert {rows[k].state for k in ("weekly:2026-W48", "weekly-chart:2026-W48")} == {"sent"}
    assert len(fake.files(EXEC)) == 1
