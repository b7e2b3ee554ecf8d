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
