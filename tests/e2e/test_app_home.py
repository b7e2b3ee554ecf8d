"""The App Home and the crisis thread over real signed HTTP to the Bolt app, with the fake
Slack: opening the Home tab publishes the user's own queue and the teams' counts as the
database has them; a click on "Open crisis thread" on a posted spike alert opens the thread
once and updates the alert."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select

from bot.domain.workflow import OPEN_STATUSES
from bot.kit import models
from bot.kit.db import session_scope, utcnow
from bot.slack.blocks import escape_mrkdwn
from bot.timers import alerts
from tests.support.desk_rows import mention

LEAD = "U0BAGLEAD01"  # approves for the baggage team in the shipped rules
OTHER = "U0AGENT0002"


def drafted_by(s, m: models.Mention, author: str) -> None:
    s.add(models.Draft(mention_id=m.id, text="Sorry — DM us?", author=author))


def wait_until(predicate, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def published_view(fake, n: int = 1) -> dict:
    fake.wait_until(lambda: len(fake.calls_to("views.publish")) >= n, timeout=10)
    calls = fake.calls_to("views.publish")
    assert len(calls) >= n, [c.method for c in fake.calls]
    call = calls[n - 1]
    view = call.params["view"]
    return {"user_id": call.params["user_id"],
            "view": json.loads(view) if isinstance(view, str) else view}


def test_opening_the_home_tab_publishes_my_queue_and_the_team_counts(bot_server, fake_slack):
    runtime = bot_server.runtime
    # Let the start-up poll of the offline feed finish: its mentions count too.
    wait_until(lambda: runtime.factory().get(models.Source, "alerts") is not None
               and runtime.factory().get(models.Source, "alerts").last_success_at is not None)
    with session_scope(runtime.factory) as s:
        mention(s, team="care", priority="P2", status="claimed", claimed_by=LEAD,
                due_in=timedelta(hours=1))
        mention(s, team="care", priority="P1", status="drafted", claimed_by=LEAD,
                due_in=timedelta(minutes=-5))  # overdue, mine
        mention(s, team="care", priority="P1", status="claimed", claimed_by=OTHER,
                due_in=timedelta(minutes=-5))  # overdue, not mine (care isn't LEAD's team)
        for i in range(3):
            m = mention(s, team="baggage", priority="P2", status="pending_approval",
                        claimed_by=LEAD if i == 0 else OTHER, due_in=timedelta(hours=2))
            drafted_by(s, m, LEAD if i == 0 else OTHER)  # LEAD can't approve their own
        mention(s, team="baggage", priority="P3", due_in=timedelta(minutes=-1),
                complaint=True)  # overdue
        mention(s, team="baggage", priority="P4", status="closed")
        mention(s, team="sales", priority="P4", status="sent", claimed_by=LEAD)
    event = {"type": "event_callback", "event_id": "EvHome1", "team_id": "T111",
             "api_app_id": "A111", "event": {"type": "app_home_opened", "user": LEAD,
                                             "channel": "D0HOME", "tab": "home",
                                             "event_ts": f"{time.time():.6f}"}}
    resp = bot_server.post("/slack/events", json.dumps(event), content_type="application/json")
    assert resp.status == 200
    published = published_view(fake_slack)
    assert published["user_id"] == LEAD
    view = published["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "*Claimed by you* (3)" in text  # 2 in care, 1 awaiting approval in baggage
    assert "*Awaiting your approval* (2)" in text  # 3 pending, one is LEAD's own draft
    assert "*Overdue* (2)" in text  # mine in care + the unclaimed one in baggage
    assert "You approve for: Baggage desk" in text

    # The team figures equal a count made here, row by row, from the same database.
    with runtime.factory() as s:
        rows = s.execute(select(models.Mention.team, models.Mention.priority)
                         .where(models.Mention.status.in_(OPEN_STATUSES))).all()
    by_team = Counter(rows)
    for team_id, team in runtime.rules.teams.items():
        counts = " · ".join(f"{p} {by_team[(team_id, p)]:,}" for p in ("P1", "P2", "P3", "P4"))
        total = sum(by_team[(team_id, p)] for p in ("P1", "P2", "P3", "P4"))
        mine = " :bust_in_silhouette:" if team_id == "baggage" else ""
        assert f"*{escape_mrkdwn(team.label)}*{mine}: {total:,} open — {counts}" in text, (team_id, counts)
    assert ("*Baggage desk* :bust_in_silhouette:: 4 open — P1 0 · P2 3 · P3 1 · P4 0 · "
            ":mega: 1 complaint · :rotating_light: 1 overdue") in text
    assert "*alerts* (rss)" in text and "last success" in text

    # Another tab, or Slack's retry of the same event: nothing more is published.
    for retry in ("1", "2"):
        bot_server.post("/slack/events", json.dumps(event), content_type="application/json",
                        headers={"X-Slack-Retry-Num": retry})
    messages_tab = {**event, "event_id": "EvHome2",
                    "event": {**event["event"], "tab": "messages"}}
    bot_server.post("/slack/events", json.dumps(messages_tab), content_type="application/json")
    time.sleep(0.3)
    assert len(fake_slack.calls_to("views.publish")) == 1


def test_open_crisis_thread_from_the_posted_alert(bot_server, fake_slack):
    runtime = bot_server.runtime
    spec = runtime.rules.alerts.spike
    assert spec is not None
    now = utcnow()
    with session_scope(runtime.factory) as s:
        for _ in range(spec.min_mentions + 5):
            mention(s, team="pr", priority="P1")
    alert_id = alerts.run_spikes(runtime.factory, runtime.rules,
                                 now + timedelta(seconds=1)).alert_id
    assert alert_id is not None
    runtime.sender.wake()
    fake_slack.wait_until(lambda: any(
        "Mention spike" in (m["text"] or "") for m in fake_slack.posts(spec.channel)), timeout=10)
    alert_msg = next(m for m in fake_slack.posts(spec.channel) if "Mention spike" in m["text"])
    blocks = alert_msg["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    button = next(e for b in blocks if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "open_crisis"

    def click(user: str) -> None:
        payload = {"type": "block_actions", "user": {"id": user}, "team": {"id": "T111"},
                   "api_app_id": "A111", "channel": {"id": spec.channel},
                   "container": {"type": "message", "channel_id": spec.channel,
                                 "message_ts": alert_msg["ts"]},
                   "trigger_id": "t", "message": {"ts": alert_msg["ts"]},
                   "actions": [{"action_id": "open_crisis", "block_id": "b", "type": "button",
                                "value": button["value"]}],
                   "response_url": fake_slack.url + "respond/T111/1/x"}
        resp = bot_server.post("/slack/events", urlencode({"payload": json.dumps(payload)}),
                               content_type="application/x-www-form-urlencoded")
        assert resp.status == 200

    click("U0PRLEAD001")
    fake_slack.wait_until(lambda: any(
        m.get("thread_ts") == alert_msg["ts"] for m in fake_slack.posts(spec.channel)), timeout=10)
    thread = [m for m in fake_slack.posts(spec.channel) if m.get("thread_ts") == alert_msg["ts"]]
    assert len(thread) == 1 and "Crisis thread opened by <@U0PRLEAD001>" in json.dumps(
        thread[0]["blocks"])
    fake_slack.wait_until(lambda: fake_slack.calls_to("chat.update"), timeout=10)
    update = fake_slack.calls_to("chat.update")[-1]
    assert update.params["ts"] == alert_msg["ts"]
    assert "Crisis thread opened by" in json.dumps(update.params["blocks"])

    click("U0SOMEONE01")  # too late: told who opened it, nothing posted
    refusal = fake_slack.wait_for("chat.postEphemeral")
    assert "already opened by <@U0PRLEAD001>" in refusal.params["text"]
    time.sleep(0.3)
    assert len([m for m in fake_slack.posts(spec.channel)
                if m.get("thread_ts") == alert_msg["ts"]]) == 1
    with runtime.factory() as s:
        alert = s.get(models.Alert, alert_id)
        assert alert.crisis_opened_by == "U0PRLEAD001"
