"""The real Bolt app over real HTTP: signatures enforced, `/social help` answered, health up."""

from __future__ import annotations

import time

from tests.support.bot_server import FORM, slash


def test_app_checks_its_token_at_start(bot_server, fake_slack):
    call = fake_slack.wait_for("auth.test")  # a real auth.test against the fake
    assert call.headers["Authorization"] == "Bearer xoxb-e2e"


def test_signed_slash_command_is_acked_and_answered(bot_server, fake_slack):
    resp = bot_server.post("/slack/events", slash(fake_slack), content_type=FORM)
    assert resp.status == 200
    call = fake_slack.wait_for("respond")
    assert call.params["response_type"] == "ephemeral"
    assert "/social help" in str(call.params["blocks"])


def test_bad_signature_is_refused_and_nothing_is_done(bot_server, fake_slack):
    resp = bot_server.post("/slack/events", slash(fake_slack), content_type=FORM,
                           secret="not-the-secret")
    assert resp.status == 401
    time.sleep(0.5)  # `/social help` is answered well within this when it is accepted
    # Only what the command would cause counts: the runtime's own start-up calls (auth.test,
    # the cards of its first poll) run beside this request and say nothing about it.
    answers = {"respond", "chat.postEphemeral", "views.open"}
    assert [c.method for c in fake_slack.calls if c.method in answers] == []


def test_stale_timestamp_is_refused(bot_server, fake_slack):
    resp = bot_server.post("/slack/events", slash(fake_slack), content_type=FORM,
                           timestamp=int(time.time()) - 301)
    assert resp.status == 401


def test_healthz_and_metrics(bot_server):
    health = bot_server.get("/healthz")
    assert (health.status, health.body) == (200, b"ok (leader)")  # SQLite: always the leader
    metrics = bot_server.get("/metrics")
    assert metrics.status == 200 and b"socialbot_up 1.0" in metrics.body
    assert bot_server.get("/nowhere").status == 404


def metric(body: bytes, name: str) -> float:
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_show_acks_leadership_sla_and_slack_errors(bot_server, fake_slack):
    assert bot_server.post("/slack/events", slash(fake_slack), content_type=FORM).status == 200
    fake_slack.wait_for("respond")
    body = bot_server.get("/metrics").body
    assert metric(body, "socialbot_slack_ack_seconds_count") == 1
    assert metric(body, "socialbot_slack_ack_seconds_bucket{le=\"3.0\"}") == 1  # within 3 s
    assert metric(body, "socialbot_leader") == 1.0  # SQLite: the one process leads
    assert metric(body, "socialbot_sla_overdue") == 0.0
    assert metric(body, "socialbot_outbox_oldest_seconds") >= 0.0  # the feed's cards may wait
    # A failed Slack call of the outbox is counted by its error code.
    bot_server.runtime.metrics.slack_error("channel_not_found")
    body = bot_server.get("/metrics").body
    assert metric(body, 'socialbot_slack_errors_total{code="channel_not_found"}') == 1.0
