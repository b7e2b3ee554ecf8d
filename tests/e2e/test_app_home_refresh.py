"""The App Home follows the desk over real signed HTTP to the Bolt app, with the fake Slack:
after the Home tab was opened once, a Claim click is acked at once, and the claimer's Home is
published again by the refresher — through a 429 from views.publish, retried after its
Retry-After — while the card is updated as usual."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from urllib.parse import urlencode

from bot.kit import models
from bot.kit.db import session_scope
from bot.slack.ids import Action, CardRef
from tests.support.desk_rows import mention

FORM = "application/x-www-form-urlencoded"
OTHER = "U0AGENT0002"  # an agent, no approver in the shipped rules


def view_text(call) -> str:
    view = call.params["view"]
    return view if isinstance(view, str) else json.dumps(view)


def test_a_claim_over_http_refreshes_the_claimers_home_through_a_429(bot_server, fake_slack):
    runtime = bot_server.runtime
    runtime.homes.debounce = timedelta(milliseconds=200)  # real time here: keep it short
    channel = runtime.rules.teams["baggage"].channel
    with session_scope(runtime.factory) as s:
        m = mention(s, team="baggage", priority="P2")
        m.slack_channel, m.slack_ts = channel, "1700000000.000900"
        s.flush()
        mention_id, value = m.id, CardRef(m.id, m.version).encode()

    event = {"type": "event_callback", "event_id": "EvHomeRefresh1", "team_id": "T111",
             "api_app_id": "A111", "event": {"type": "app_home_opened", "user": OTHER,
                                             "channel": "D0HOME", "tab": "home",
                                             "event_ts": f"{time.time():.6f}"}}
    assert bot_server.post("/slack/events", json.dumps(event),
                           content_type="application/json").status == 200
    opened = fake_slack.wait_for("views.publish", timeout=10)
    assert "*Claimed by you* (0)" in view_text(opened)

    fake_slack.fail("views.publish", status=429, error="ratelimited", retry_after=1)
    payload = {"type": "block_actions", "user": {"id": OTHER}, "team": {"id": "T111"},
               "api_app_id": "A111", "channel": {"id": channel},
               "container": {"type": "message", "channel_id": channel},
               "trigger_id": "trigger-claim", "message": {"ts": "1700000000.000900"},
               "response_url": fake_slack.url + "respond/T111/1/x",
               "actions": [{"action_id": Action.CLAIM.value, "block_id": "b",
                            "type": "button", "value": value}]}
    t0 = time.monotonic()
    resp = bot_server.post("/slack/events", urlencode({"payload": json.dumps(payload)}),
                           content_type=FORM)
    acked = time.monotonic() - t0
    assert resp.status == 200 and acked < 2.0, acked

    refreshed = fake_slack.wait_for_call(
        lambda c: c.method == "views.publish" and c.status == 200 and c is not opened
        and "*Claimed by you* (1)" in view_text(c), timeout=10,
        what="the claimer's Home was not published again")
    calls = fake_slack.calls_to("views.publish")
    assert [c.status for c in calls] == [200, 429, 200]
    assert refreshed.params["user_id"] == OTHER
    assert refreshed.at - calls[1].at >= 0.9  # after Retry-After, not at once
    fake_slack.wait_for("chat.update", timeout=10)  # the card, as before
    with runtime.factory() as s:
        assert s.get(models.Mention, mention_id).claimed_by == OTHER
    time.sleep(0.5)
    assert len(fake_slack.calls_to("views.publish")) == 3  # one refresh for one claim
