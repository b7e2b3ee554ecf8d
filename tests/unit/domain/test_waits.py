"""bot.domain.waits: how long a network's wait is believed (issue 18, break 6): at most an hour,
logged when cut; garbage, negative, NaN, infinite or absurd values are the caller's default,
never an exception (`99999999999999` seconds or a reset in year 10000 raised OverflowError)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import waits

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DEFAULT = timedelta(minutes=15)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize("value, wait", [
    ("30", timedelta(seconds=30)), (30, timedelta(seconds=30)), ("2.5", timedelta(seconds=2.5)),
    ("0", timedelta(0)), ("3600", HOUR), ("3601", HOUR), ("99999999999999", HOUR),
    ("1e400", DEFAULT), ("inf", DEFAULT), ("nan", DEFAULT), ("-5", DEFAULT), ("soon", DEFAULT),
    ("", DEFAULT), (None, DEFAULT), (True, DEFAULT), ([], DEFAULT), (10**400, DEFAULT),
])
def test_seconds(value, wait):
    assert waits.seconds(value, default=DEFAULT, what="test") == wait


@pytest.mark.parametrize("value, at", [
    ("120", NOW + timedelta(minutes=2)),
    ("Mon, 23 Nov 2026 12:10:00 GMT", NOW + timedelta(minutes=10)),
    ("Fri, 31 Dec 9999 23:59:59 GMT", NOW + HOUR),
    ("Mon, 23 Nov 2026 11:00:00 GMT", NOW),  # already past: at once
    ("Mon, 99 Nov 2026 11:00:00 GMT", NOW + DEFAULT), ("garbage", NOW + DEFAULT),
    (None, NOW + DEFAULT),
])
def test_retry_after(value, at):
    assert waits.retry_after(value, now=NOW, default=DEFAULT, what="test") == at


@pytest.mark.parametrize("value, at", [
    (str(int(NOW.timestamp()) + 300), NOW + timedelta(minutes=5)),
    (str(int((NOW + timedelta(days=3650)).timestamp())), NOW + HOUR),
    ("99999999999999999999", NOW + HOUR), (str(int(NOW.timestamp()) - 60), NOW),
    ("soon-ish", NOW + DEFAULT), ("", NOW + DEFAULT), (None, NOW + DEFAULT),
])
def test_reset_at(value, at):
    assert waits.reset_at(value, now=NOW, default=DEFAULT, what="test") == at


def test_a_cut_or_an_unreadable_wait_is_logged(caplog):
    with caplog.at_level(logging.WARNING):
        waits.seconds("86400", default=DEFAULT, what="Slack (Retry-After)")
        waits.seconds("soon", default=DEFAULT, what="reddit (retry-after)")
        waits.seconds(None, default=DEFAULT, what="quiet")  # no header: no warning
    assert "Slack (Retry-After) asked to wait 86400 s; waiting 1:00:00 at most" in caplog.text
    assert "reddit (retry-after) sent an unreadable wait ('soon')" in caplog.text
    assert "quiet" not in caplog.text
