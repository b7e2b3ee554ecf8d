"""The App Home refresher's timing and error handling, without a database or Slack: a fake
clock, a recording client, and a view function that only says whose Home it built.

(The database and the fake Slack Web API are in tests/integration/home/test_home_refresh.py.)"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.desk.directory import StaticDirectory
from bot.domain.rules.schema import Rules
from bot.home.refresh import DEBOUNCE, VIEWS_BURST, HomeRefresher
from tests.support.clock import Clock

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = Rules.model_validate({
    "brand": {"name": "Acme"},
    "teams": {"support": {"channel": "C0SUPPORT1", "approvers": ["U0LEAD", "S0LEADS"]}},
    "default_team": "support", "outcomes": ["resolved", "no_action"]})


def slack_error(status: int, error: str, retry_after: int | None = None) -> SlackApiError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    resp = SlackResponse(client=None, http_verb="POST", api_url="views.publish", req_args={},
                         data={"ok": False, "error": error}, headers=headers, status_code=status)
    return SlackApiError(error, resp)


class Client:
    """Records views.publish; `fail` scripts the next answers (an exception each)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: list[BaseException] = []

    def views_publish(self, *, user_id: str, view: dict) -> dict:
        self.calls.append(user_id)
        if self.fail:
            raise self.fail.pop(0)
        return {"ok": True}


def refresher(clock: Clock, client: Client, **kw) -> HomeRefresher:
    return HomeRefresher(nullcontext, lambda: RULES, StaticDirectory({"S0LEADS": {"U0GLEAD"}}),
                         client, clock, view=lambda s, r, d, user, now: {"type": "home",
                                                                          "user": user}, **kw)


def test_a_change_publishes_the_home_once_after_the_debounce_and_only_for_openers():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    homes.opened("U0ANA", T0)
    homes.request(["U0ANA", "U0NEVER"])  # U0NEVER never opened the Home: never published
    assert homes.run_once(clock()) == 0 and client.calls == []  # not before the debounce
    assert homes.run_once(clock.advance(DEBOUNCE.total_seconds())) == 1
    assert client.calls == ["U0ANA"]
    assert homes.run_once(clock.advance(60)) == 0 and client.calls == ["U0ANA"]


def test_changes_within_the_debounce_make_one_publish_and_later_ones_another():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    homes.opened("U0ANA", T0)
    for _ in range(5):
        homes.request(["U0ANA"])
        homes.run_once(clock())
        clock.advance(0.5)
    homes.run_once(clock.advance(DEBOUNCE.total_seconds()))
    assert client.calls == ["U0ANA"]
    homes.request(["U0ANA"])
    homes.run_once(clock.advance(DEBOUNCE.total_seconds()))
    assert client.calls == ["U0ANA", "U0ANA"]


def test_teams_expand_to_their_approvers_groups_included():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    for user in ("U0LEAD", "U0GLEAD", "U0ANA"):
        homes.opened(user, T0)
    homes.request(["U0ANA"], ["support", "gone-team"])
    homes.run_once(clock.advance(DEBOUNCE.total_seconds()))
    assert sorted(client.calls) == ["U0ANA", "U0GLEAD", "U0LEAD"]


def test_opening_the_tab_covers_the_refreshes_requested_before():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    homes.opened("U0ANA", T0)
    homes.request(["U0ANA"])
    homes.opened("U0ANA", clock.advance(1))  # the tab was opened: that view has the change
    homes.run_once(clock.advance(DEBOUNCE.total_seconds()))
    assert client.calls == []


def test_a_429_waits_for_retry_after_and_blocks_only_views_publish():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    homes.opened("U0ANA", T0)
    homes.opened("U0BEN", T0)
    client.fail = [slack_error(429, "ratelimited", retry_after=7)]
    homes.request(["U0ANA"])
    homes.request(["U0BEN"], at=T0 + timedelta(seconds=1))
    t = clock.advance(DEBOUNCE.total_seconds() + 1)
    assert homes.run_once(t) == 0  # ANA got the 429; BEN waits behind the block
    assert client.calls == ["U0ANA"]
    assert 6 <= homes.seconds_until_due() <= 7
    assert homes.run_once(clock.advance(6)) == 0 and client.calls == ["U0ANA"]
    assert homes.run_once(clock.advance(1)) == 1  # one token right after a 429
    assert homes.run_once(clock.advance(1)) == 1
    assert client.calls[0] == "U0ANA" and sorted(client.calls[1:]) == ["U0ANA", "U0BEN"]


def test_server_errors_are_retried_with_backoff_then_given_up():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client, max_attempts=3)
    homes.opened("U0ANA", T0)
    client.fail = [slack_error(500, "internal_error"), ConnectionResetError("reset"),
                   slack_error(503, "service_unavailable")]
    homes.request(["U0ANA"])
    clock.advance(DEBOUNCE.total_seconds())
    for _ in range(10):
        homes.run_once(clock())
        clock.advance(30)
    assert client.calls == ["U0ANA"] * 3  # third failure: given up, nothing pending
    assert homes.pending() == {}


@pytest.mark.parametrize("code", ["not_found", "invalid_arguments", "user_not_found"])
def test_a_user_slack_cannot_publish_for_is_dropped_and_logged_at_info(code, caplog):
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    homes.opened("U0GONE", T0)
    client.fail = [slack_error(200, code)]
    homes.request(["U0GONE"])
    with caplog.at_level(logging.INFO, logger="bot.home.refresh"):
        homes.run_once(clock.advance(DEBOUNCE.total_seconds()))
    assert [r.levelno for r in caplog.records if code in r.getMessage()] == [logging.INFO]
    homes.request(["U0GONE"])  # forgotten until they open the Home again
    homes.run_once(clock.advance(60))
    assert client.calls == ["U0GONE"] and homes.pending() == {}


def test_the_rate_limit_spreads_a_crowd_of_homes():
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client)
    users = [f"U0USER{i:03d}" for i in range(VIEWS_BURST + 5)]
    for user in users:
        homes.opened(user, T0)
    assert client.calls == []  # the opens took tokens too (their own publish, elsewhere)
    clock.advance(60)  # the bucket refills
    homes.request(users)
    assert homes.run_once(clock.advance(DEBOUNCE.total_seconds())) == VIEWS_BURST
    assert homes.seconds_until_due() > 0
    for _ in range(10):
        homes.run_once(clock.advance(1))
    assert sorted(client.calls) == users


def test_a_broken_view_does_not_stop_the_others(caplog):
    clock, client = Clock(T0), Client()

    def view(s, r, d, user, now):
        if user == "U0BAD":
            raise RuntimeError("bug")
        return {"type": "home"}

    homes = HomeRefresher(nullcontext, lambda: RULES, StaticDirectory(), client, clock, view=view)
    for user in ("U0BAD", "U0GOOD"):
        homes.opened(user, T0)
    homes.request(["U0BAD", "U0GOOD"])
    with caplog.at_level(logging.ERROR, logger="bot.home.refresh"):
        assert homes.run_once(clock.advance(DEBOUNCE.total_seconds())) == 1
    assert client.calls == ["U0GOOD"]


def test_a_heavy_read_makes_the_refresher_rest_in_proportion(monkeypatch):
    import bot.home.refresh as home_module

    waits: list[float] = []
    clock, client = Clock(T0), Client()
    homes = refresher(clock, client, rest=waits.append)
    monkeypatch.setattr(home_module, "HEAVY_READ_SECONDS", 0.0)  # every read counts as heavy
    for user in ("U0ANA", "U0BEN"):
        homes.opened(user, T0)
    homes.request(["U0ANA", "U0BEN"])
    assert homes.run_once(clock.advance(DEBOUNCE.total_seconds())) == 2
    assert len(waits) == 2 and all(w > 0 for w in waits)
