"""Report periods and `/social` words: pure parsing, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.errors import NotAllowed
from bot.reports.command import parse_social
from bot.reports.period import PeriodError, parse_period
from bot.slack.ids import SocialSubcommand

NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
LONDON, TOKYO = ZoneInfo("Europe/London"), ZoneInfo("Asia/Tokyo")


def test_rolling_windows_end_now_and_step_back_by_their_length():
    p = parse_period("7d", NOW)
    assert (p.start, p.end, p.label) == (NOW - timedelta(days=7), NOW, "7d")
    prev = p.previous()
    assert (prev.start, prev.end) == (NOW - timedelta(days=14), NOW - timedelta(days=7))
    assert parse_period(" 30D ", NOW).length == timedelta(days=30)
    assert parse_period("1d", NOW).length == timedelta(days=1)


def test_today_starts_at_local_midnight_and_compares_with_yesterday_so_far():
    p = parse_period("today", NOW, TOKYO)  # 15:30 UTC is 00:30 on the 24th in Tokyo
    assert p.start == datetime(2026, 11, 23, 15, 0, tzinfo=UTC) and p.end == NOW
    prev = p.previous()
    assert prev.start == p.start - timedelta(days=1) and prev.end == NOW - timedelta(days=1)
    assert parse_period("today", NOW).start == datetime(2026, 11, 23, tzinfo=UTC)


def test_date_ranges_are_whole_local_days_inclusive():
    p = parse_period("2026-11-01..2026-11-07", NOW, LONDON)
    assert p.start == datetime(2026, 11, 1, tzinfo=UTC)
    assert p.end == datetime(2026, 11, 8, tzinfo=UTC)
    assert p.previous().start == datetime(2026, 10, 25, tzinfo=UTC)
    one = parse_period("2026-11-23..2026-11-23", NOW, TOKYO)
    assert one.start == datetime(2026, 11, 22, 15, tzinfo=UTC) and one.length == timedelta(days=1)
    # Across the end of summer time in London (25 Oct 2026), a week is 7 days and an hour.
    assert parse_period("2026-10-19..2026-10-25", NOW, LONDON).length == timedelta(days=7,
                                                                                   hours=1)


@pytest.mark.parametrize("text, words", [
    ("yesterday", "is not a period"),
    ("0d", "between 1d and 366d"),
    ("400d", "between 1d and 366d"),
    ("2026-11-07..2026-11-01", "ends before it starts"),
    ("2026-02-30..2026-03-01", "is not a date"),
    ("2025-01-01..2026-11-01", "at most 366 days"),
    ("2027-01-01..2027-01-02", "in the future"),
    ("", "is not a period"),
])
def test_bad_periods_say_what_is_wrong(text, words):
    with pytest.raises(PeriodError) as exc:
        parse_period(text, NOW)
    assert words in exc.value.message


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        parse_period("7d", datetime(2026, 11, 23))


TEAMS = {"support", "pr", "sales"}


@pytest.mark.parametrize("text, sub, period, team, public", [
    ("", SocialSubcommand.HELP, None, None, False),
    ("help", SocialSubcommand.HELP, None, None, False),
    ("frobnicate 7d", SocialSubcommand.HELP, None, None, False),
    ("report", SocialSubcommand.REPORT, "7d", None, False),
    ("REPORT 30d pr PUBLIC", SocialSubcommand.REPORT, "30d", "pr", True),
    ("report public sales today", SocialSubcommand.REPORT, "today", "sales", True),
    ("report 2026-11-01..2026-11-07", SocialSubcommand.REPORT, "2026-11-01..2026-11-07", None,
     False),
    ("status", SocialSubcommand.STATUS, None, None, False),
    ("export", SocialSubcommand.EXPORT, "30d", None, False),
    ("export 7d support", SocialSubcommand.EXPORT, "7d", "support", False),
])
def test_social_words(text, sub, period, team, public):
    req = parse_social(text, TEAMS)
    assert (req.sub, req.period, req.team, req.public) == (sub, period, team, public)


@pytest.mark.parametrize("text", ["report marketing", "report 7d 30d", "report pr sales",
                                  "export 7d public"])
def test_unknown_words_are_refused_with_the_choices(text):
    with pytest.raises(NotAllowed) as exc:
        parse_social(text, TEAMS)
    assert "Teams: pr, sales, support" in exc.value.message
