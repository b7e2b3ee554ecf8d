"""`/healthz` tells the truth: 503 with the reason when the database refuses writes, Slack's
Socket Mode connection is down, the leader's jobs stopped running or the outbox is stuck;
GET and HEAD (bot.kit.liveness)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import Runtime
from bot.config import Settings
from bot.domain.rules.load import load_rules
from bot.kit import liveness
from bot.kit.db import upgrade_to_head
from tests.support.clock import Clock
from tests.support.offline_rules import offline_rules

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(fake_slack, tmp_path, request):
    """A Runtime, not started, on a migrated SQLite file; `read_only` opens it read-only, as
    SQLite does a file the bot's user may not write (root writes anything, so say it)."""
    path = tmp_path / "bot.db"
    upgrade_to_head(f"sqlite:///{path}")
    url = (f"sqlite:///file:{path}?mode=ro&uri=true" if getattr(request, "param", "") ==
           "read_only" else f"sqlite:///{path}")
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN="xoxb-health", SLACK_SIGNING_SECRET="s",
                        SLACK_API_URL=fake_slack.api_url, DATABASE_URL=url)
    made = Runtime(settings, load_rules(offline_rules(tmp_path)), clock=Clock(NOW))
    yield made
    made.stop()


def test_head_and_get(bot_server):
    assert (bot_server.head("/healthz").status, bot_server.head("/healthz").body) == (200, b"")
    assert bot_server.get("/healthz").body == b"ok (leader)"


@pytest.mark.parametrize("runtime", ["read_only"], indirect=True)
def test_a_database_that_refuses_writes_is_unhealthy(runtime):
    ok, why = runtime.healthy()
    assert not ok
    assert why.startswith("database refuses writes or is unavailable: OperationalError: "
                          "attempt to write a readonly database")


def test_a_lost_socket_mode_connection_is_unhealthy(runtime):
    runtime.start()
    assert runtime.healthy() == (True, "ok (leader)")
    connected = {"now": False}
    runtime.slack_connected = lambda: connected["now"]  # serve(): the Socket Mode client's
    assert runtime.healthy() == (False, "Slack Socket Mode connection down")
    connected["now"] = True
    assert runtime.healthy()[0]


def test_leader_jobs_that_stopped_running_are_unhealthy(runtime):
    runtime.start()
    clock = runtime.clock
    assert isinstance(clock, Clock)
    clock.advance(liveness.JOBS_LATE.total_seconds() - 1)
    assert runtime.healthy()[0]
    clock.advance(2)
    ok, why = runtime.healthy()
    assert (ok, why.split(" (")[0]) == (False, "leader jobs have not run for 181s")
    runtime.sla_tick()  # the job the scheduler runs every 30 s
    assert runtime.healthy() == (True, "ok (leader)")


def test_a_stuck_outbox_is_unhealthy():
    assert liveness.outbox_problem(liveness.OUTBOX_STUCK.total_seconds()) is None
    assert liveness.outbox_problem(liveness.OUTBOX_STUCK.total_seconds() + 60) == (
        "outbox stuck: a message has waited 11 min (Slack refusing or unreachable? see "
        "/social status)")


def test_parked_messages_are_unhealthy_until_a_reload_resumes_them(runtime, tmp_path):
    """The bot was removed from a team's channel: its cards park, /healthz names the fix (503)
    and /metrics counts them; SIGHUP's reload queues them again and health returns. Failed
    rows are named in the 200 body, with their age, without a 503 (no restart heals them)."""
    from sqlalchemy import select

    from bot.kit.db import session_scope
    from bot.kit.models import OutboxMessage
    from tests.support.outbox_rows import queue

    clock = runtime.clock
    assert isinstance(clock, Clock)
    runtime.scheduler.start()  # not runtime.start(): its sender would resume the row at once
    parked = queue(runtime.factory, channel="C0CARE00001", at=NOW, state="parked",
                   error="not_in_channel (HTTP 200)")
    queue(runtime.factory, channel="C0CARE00001", at=NOW, state="failed",
          error="invalid_blocks (HTTP 200)")
    clock.advance(600)
    ok, why = runtime.healthy()
    assert not ok and why.startswith("outbox parked: 1 message(s) for C0CARE00001 held for "
                                     "10 min: not_in_channel: invite the bot")
    scrape = {m.name: m.samples[0].value for m in runtime.metrics.registry.collect()
              if m.name.startswith("socialbot_outbox_")}
    assert (scrape["socialbot_outbox_parked"], scrape["socialbot_outbox_parked_oldest_seconds"],
            scrape["socialbot_outbox_failed"]) == (1, 600, 1)
    assert runtime.reload_rules(tmp_path / "rules.yaml")
    with session_scope(runtime.factory) as s:
        assert s.scalar(select(OutboxMessage.state).where(OutboxMessage.id == parked)) == \
            "pending"
    ok, why = runtime.healthy()
    assert ok and why == ("ok (leader); outbox: 1 message(s) failed in the last 24 h, oldest "
                          "queued 10 min ago (invalid_blocks (HTTP 200))")
