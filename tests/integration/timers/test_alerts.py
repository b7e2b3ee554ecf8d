"""Spike alerts on a real database (SQLite, and PostgreSQL when configured), with a fake
clock: counts against the same-hour baseline (or the trailing average), one alert per storm,
updated while it lasts (chat.update of the posted alert), a new one after a quiet cooldown,
two workers raising one alert, the crisis thread opened once; the messages through the real
outbox and renderer to a fake Slack."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.desk.directory import StaticDirectory
from bot.domain import spikes
from bot.domain.errors import ConcurrentChange
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.outbox import OutboxSender, sender_client
from bot.slack.render import Renderer
from bot.timers import alerts
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack
from tests.support.threads import run_at_once

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1", "approvers": ["U0LEAD"]},
              "pr": {"channel": "C0PRESS01", "approvers": ["S0PRLEADS", "U0PRLEAD"]}},
    "default_team": "support",
    "rules": [{"name": "legal threat", "when": {"text_matches": ["lawyer", "sue"]},
               "then": {"team": "pr", "priority": "P1", "risk": "legal"}},
              {"name": "sales lead", "when": {"text_matches": "business account"},
               "then": {"team": "support"}}],
    "alerts": {"spike": {"channel": "C0PRESS01", "window": "30m", "factor": 3,
                         "min_mentions": 5, "cooldown": "2h"}},
})
_n = itertools.count(1)


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


def add(factory, n: int, at: datetime, *, text: str = "ATM swallowed my card",
        sentiment: str = "negative", rules: tuple[str, ...] = (), followers: int = 10,
        priority: str = "P3", posted: bool = False,
        created: datetime | None = None, complaint: bool = False) -> list[int]:
    ids = []
    with session_scope(factory) as s:
        for _ in range(n):
            k = next(_n)
            author = models.Author(network="x", handle=f"user{k}", name=f"User {k}",
                                   followers=followers, author_type="customer")
            m = models.Mention(
                network="x", external_id=f"spk-{k}", text=text, author=author,
                compound=-0.6 if sentiment == "negative" else 0.1, sentiment=sentiment,
                author_type="customer", score=40, priority=priority, team="support",
                matched_rules=list(rules), ingested_at=at, created_at=created,
                complaint=complaint,
                slack_channel="C0SUPPORT1" if posted else None,
                slack_ts=f"1700000000.{k:06d}" if posted else None)
            s.add(m)
            s.flush()
            ids.append(m.id)
    return ids


def history(factory, per_window: int = 2, days: int = 28) -> None:
    """`per_window` quiet mentions in the same half hour of each of the last `days` days."""
    for d in range(1, days + 1):
        add(factory, per_window, NOW - timedelta(days=d, minutes=10), sentiment="neutral",
            text="nice flight")


def alert_rows(factory) -> list[models.Alert]:
    with factory() as s:
        return list(s.scalars(select(models.Alert).order_by(models.Alert.id)))


def outbox(factory, kind: str | None = None) -> list[models.OutboxMessage]:
    with factory() as s:
        q = select(models.OutboxMessage).where(models.OutboxMessage.mention_id.is_(None))
        if kind:
            q = q.where(models.OutboxMessage.kind == kind)
        return list(s.scalars(q.order_by(models.OutboxMessage.id)))


def metrics(run: alerts.SpikeRun) -> dict[str, spikes.Metric]:
    return {m.key: m for m in run.metrics}


def test_quiet_desk_raises_nothing(factory):
    history(factory)
    add(factory, 3, NOW - timedelta(minutes=5))
    run = alerts.run_spikes(factory, RULES, NOW)
    assert run.action is spikes.Action.NONE
    m = metrics(run)
    assert (m["all"].count, m["all"].baseline) == (3, 2.0)  # 56 over 28 same-hour windows
    assert alert_rows(factory) == []


def test_a_backlog_fetched_after_downtime_is_not_a_storm(factory):
    history(factory)  # baseline: 2 per half hour
    # The bot was down; on restart the poll fetches 3 hours of posts at once.
    add(factory, 40, NOW - timedelta(minutes=5), created=NOW - timedelta(hours=3))
    # Late by less than `late_after` (2 h before the window's start): still counted.
    add(factory, 2, NOW - timedelta(minutes=5), created=NOW - timedelta(hours=2, minutes=20))
    add(factory, 1, NOW - timedelta(minutes=5))  # no posting time known: counted
    run = alerts.run_spikes(factory, RULES, NOW)
    assert run.action is spikes.Action.NONE
    assert metrics(run)["all"].count == 3
    assert alert_rows(factory) == []
    # The same arrivals posted within the window are a storm.
    add(factory, 40, NOW - timedelta(minutes=5), created=NOW - timedelta(minutes=10))
    run = alerts.run_spikes(factory, RULES, NOW)
    assert run.action is spikes.Action.RAISE and metrics(run)["all"].count == 43
    # A desk whose feeds run hours behind can widen the allowance.
    wide = RULES.model_copy(update={"alerts": RULES.alerts.model_copy(update={
        "spike": RULES.alerts.spike.model_copy(update={"late_after": timedelta(hours=4)})})})
    with factory() as s:
        found, _ = alerts.detect(s, wide, wide.alerts.spike, NOW)
    assert {m.key: m.count for m in found}["all"] == 83


def test_a_storm_raises_one_alert_updates_it_then_a_new_one_after_the_cooldown(factory):
    history(factory)  # baseline: 2 per half hour
    add(factory, 4, NOW - timedelta(minutes=20))
    add(factory, 3, NOW - timedelta(minutes=10), text="I will sue you, my lawyer agrees",
        rules=("legal threat",), followers=90_000, priority="P1", posted=True)
    run = alerts.run_spikes(factory, RULES, NOW)
    assert run.action is spikes.Action.RAISE
    m = metrics(run)
    assert (m["all"].count, m["all"].over, m["all"].ratio) == (7, True, 3.5)
    assert (m["negative"].count, m["negative"].over) == (7, True)  # baseline 0 (neutral)
    assert (m["rule:legal threat"].count, m["rule:legal threat"].over) == (3, False)
    [alert] = alert_rows(factory)
    assert (alert.count, alert.peak, alert.channel, alert.version) == (7, 7, "C0PRESS01", 1)
    assert alert.summary["baseline_mode"] == "same_hour"
    assert alert.summary["authors"][0]["followers"] == 90_000
    assert alert.summary["rules"] == [["legal threat", 3]]
    assert alert.summary["cards"][0]["priority"] == "P1"
    assert alert.summary["cards"][0]["channel"] == "C0SUPPORT1"
    words = dict(map(tuple, alert.summary["words"]))
    assert words["swallowed"] == 4 and words["lawyer"] == 3
    [post] = outbox(factory)
    assert (post.kind, post.channel, post.priority, post.payload) == (
        "alert", "C0PRESS01", "P1", {"alert_id": alert.id})

    # A minute later, nothing new: the same alert, unchanged, nothing queued.
    assert alerts.run_spikes(factory, RULES, NOW + timedelta(minutes=1)).action \
        is spikes.Action.UPDATE
    assert alert_rows(factory)[0].version == 1 and len(outbox(factory)) == 1
    # The alert is posted; the storm grows: the row changes and its message is updated.
    with session_scope(factory) as s:
        row = s.get(models.OutboxMessage, post.id)
        row.state, row.slack_ts = "sent", "1700000100.000001"
    add(factory, 5, NOW + timedelta(minutes=2))
    run = alerts.run_spikes(factory, RULES, NOW + timedelta(minutes=3))
    assert (run.action, run.alert_id) == (spikes.Action.UPDATE, alert.id)
    [alert] = alert_rows(factory)
    assert (alert.count, alert.peak, alert.version, alert.slack_ts) == (12, 12, 2,
                                                                        "1700000100.000001")
    [update] = outbox(factory, "update")
    assert update.payload == {"alert_id": alert.id, "target_channel": "C0PRESS01",
                              "target_ts": "1700000100.000001"}
    assert len(alert_rows(factory)) == 1 and len(outbox(factory, "alert")) == 1

    # The storm passes; quiet for the cooldown; a new storm is a new alert.
    later = NOW + timedelta(minutes=3) + timedelta(hours=2)
    assert alerts.run_spikes(factory, RULES, NOW + timedelta(hours=1)).action \
        is spikes.Action.NONE
    add(factory, 9, later - timedelta(minutes=5))
    run = alerts.run_spikes(factory, RULES, later)
    assert run.action is spikes.Action.RAISE
    first, second = alert_rows(factory)
    assert second.dedupe_key == f"spike:after:{first.id}" and second.count == 9
    assert len(outbox(factory, "alert")) == 2


def test_a_risk_rule_spikes_on_its_own(factory):
    history(factory, per_window=6)
    add(factory, 6, NOW - timedelta(minutes=15), text="my lawyer will sue",
        rules=("legal threat",))
    run = alerts.run_spikes(factory, RULES, NOW)
    m = metrics(run)
    assert not m["all"].over  # 6 vs 6 usual
    assert m["rule:legal threat"].over and m["rule:legal threat"].baseline == 0
    assert run.action is spikes.Action.RAISE
    assert "rule:sales lead" not in m  # not a risk rule


def test_complaints_spike_on_their_own_in_any_language(factory):
    """A storm of complaints whose words read neutral (a Swahili outage: "hakuna mtandao tangu
    asubuhi") is neither more posts than usual nor negative ones, and still a storm."""
    history(factory, per_window=6)
    add(factory, 6, NOW - timedelta(minutes=15), text="hakuna mtandao tangu asubuhi",
        sentiment="neutral", complaint=True)
    run = alerts.run_spikes(factory, RULES, NOW)
    m = metrics(run)
    assert not m["all"].over and m["negative"].count == 0  # 6 vs 6 usual
    assert (m["complaints"].count, m["complaints"].baseline, m["complaints"].over) == (6, 0, True)
    assert [k for k in m][:3] == ["all", "negative", "complaints"]
    assert run.action is spikes.Action.RAISE


def test_short_history_uses_the_trailing_average(factory):
    for h in range(1, 48):  # two days, 1 mention an hour: 0.5 per half hour
        add(factory, 1, NOW - timedelta(hours=h, minutes=1), sentiment="neutral")
    add(factory, 5, NOW - timedelta(minutes=1))
    run = alerts.run_spikes(factory, RULES, NOW)
    m = metrics(run)
    assert m["all"].count == 5 and round(m["all"].baseline, 2) == round(47 * 30 / (47 * 60 + 1 - 30), 2)
    assert run.action is spikes.Action.RAISE
    assert alert_rows(factory)[0].summary["baseline_mode"] == "trailing"


def test_two_workers_raise_one_alert(factory, migrated_url):
    history(factory)
    add(factory, 10, NOW - timedelta(minutes=5))
    runs = run_at_once(migrated_url, lambda f: alerts.run_spikes(f, RULES, NOW))
    assert len(alert_rows(factory)) == 1 and len(outbox(factory, "alert")) == 1
    assert sorted(r.action.value for r in runs) in (["none", "raise"], ["raise", "update"])


def test_no_spike_section_means_no_job(factory):
    rules = RULES.model_copy(update={"alerts": RULES.alerts.model_copy(update={"spike": None})})
    add(factory, 50, NOW)
    assert alerts.run_spikes(factory, rules, NOW).action is spikes.Action.NONE


def test_the_crisis_thread_is_opened_once(factory, session):
    history(factory)
    add(factory, 10, NOW - timedelta(minutes=5))
    alert_id = alerts.run_spikes(factory, RULES, NOW).alert_id
    opened = alerts.open_crisis(session, RULES, "U0PRLEAD", alert_id, channel="C0PRESS01",
                                ts="1700000200.000001", now=NOW + timedelta(minutes=1))
    assert (opened.crisis_opened_by, opened.slack_ts, opened.version) == (
        "U0PRLEAD", "1700000200.000001", 2)
    with pytest.raises(ConcurrentChange, match="already opened by <@U0PRLEAD>"):
        alerts.open_crisis(session, RULES, "U0OTHER", alert_id, channel="C0PRESS01",
                           ts="1700000200.000001", now=NOW + timedelta(minutes=2))
    session.commit()
    thread = outbox(factory, "thread")
    assert [(t.payload["type"], t.payload["target_ts"]) for t in thread] == [
        ("crisis_thread", "1700000200.000001")]
    assert len(outbox(factory, "update")) == 1
    with factory() as s:
        event = s.scalars(select(models.AuditEvent).where(
            models.AuditEvent.action == "open_crisis")).one()
        assert (event.actor, event.detail) == ("U0PRLEAD", {"alert_id": alert_id})


# --- through the real outbox and renderer ------------------------------------------------------

def text_of(call) -> str:
    b = call.params.get("blocks")
    return json.dumps(json.loads(b) if isinstance(b, str) else b, ensure_ascii=False)


def test_alert_posted_updated_and_crisis_thread_in_slack(factory, session):
    fake = FakeSlack().start()
    try:
        clock = Clock(NOW)
        sender = OutboxSender(factory, sender_client("xoxb-test", fake.api_url, timeout=5),
                              Renderer(lambda: RULES, StaticDirectory(), clock), clock)
        history(factory)
        add(factory, 8, NOW - timedelta(minutes=5), text="I will sue", rules=("legal threat",),
            posted=True, priority="P1")
        alert_id = alerts.run_spikes(factory, RULES, NOW).alert_id
        assert sender.run_once(NOW) == 1
        [post] = fake.calls_to("chat.postMessage")
        assert post.params["channel"] == "C0PRESS01"
        assert post.params["text"] == "Mention spike: 8 in the last 30 min (4.0× the usual)"
        assert '"open_crisis"' in text_of(post) and "archives/C0SUPPORT1/p" in text_of(post)
        ts = fake.posts("C0PRESS01")[0]["ts"]

        clock.now = NOW + timedelta(minutes=1)
        add(factory, 4, clock.now - timedelta(seconds=30))
        assert alerts.run_spikes(factory, RULES, clock.now).action is spikes.Action.UPDATE
        sender.run_once(clock.now)
        [upd] = fake.calls_to("chat.update")
        assert (upd.params["channel"], upd.params["ts"]) == ("C0PRESS01", ts)
        assert "Mention spike: 12 in the last 30 min" in upd.params["text"]

        alerts.open_crisis(session, RULES, "U0PRLEAD", alert_id, channel="C0PRESS01", ts=ts,
                           now=clock.now)
        session.commit()
        sender.run_once(clock.now + timedelta(seconds=5))
        [crisis] = [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts")]
        assert (crisis.params["channel"], crisis.params["thread_ts"]) == ("C0PRESS01", ts)
        assert "<!subteam^S0PRLEADS>, <@U0PRLEAD>: coordinate" in text_of(crisis)
        last = fake.calls_to("chat.update")[-1]
        assert "Crisis thread opened by <@U0PRLEAD>" in text_of(last)
        assert '"open_crisis"' not in text_of(last)
    finally:
        fake.stop()
