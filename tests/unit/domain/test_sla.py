"""SLA timer arithmetic (bot.domain.sla): due times with and without business hours, time zones and
DST, overnight shifts, the reminder at 75 %, and the stages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import sla
from bot.domain.rules.schema import BusinessHours, Rules

LONDON = ZoneInfo("Europe/London")
OFFICE = BusinessHours(days=["mon", "tue", "wed", "thu", "fri"], start="09:00", end="17:00",
                       timezone="Europe/London")
NIGHT = BusinessHours(days=["mon", "tue", "wed", "thu", "fri"], start="22:00", end="06:00",
                      timezone="UTC")


def rules(**team_extra) -> Rules:
    return Rules.model_validate({
        "brand": {"name": "Acme"},
        "teams": {"care": {"channel": "C0CARE", "sla": {"P1": "15m", "P2": "1h", "P4": "1d"},
                           **team_extra},
                  "sales": {"channel": "C0SALES"}},
        "default_team": "care"})


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def test_without_business_hours_the_clock_always_runs():
    at = datetime(2026, 11, 28, 23, 50, tzinfo=UTC)  # a Saturday night
    assert sla.due_at(rules(), "care", "P1", at) == at + timedelta(minutes=15)
    assert sla.remind_at(rules(), "care", "P2", at) == at + timedelta(minutes=45)


def test_no_sla_for_the_priority_or_team_means_no_timer():
    at = datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert sla.due_at(rules(), "care", "P3", at) is None
    assert sla.due_at(rules(), "sales", "P1", at) is None
    assert sla.due_at(rules(), "gone", "P1", at) is None
    assert sla.timer_columns(rules(), "care", "P3", at) == {"sla_due_at": None,
                                                            "sla_next_at": None}


def test_the_clock_stops_outside_business_hours():
    r = rules(business_hours=OFFICE.model_dump())
    # Friday 16:30 London + 1 h of office time: 30 min on Friday, 30 min on Monday.
    fri = local(2026, 11, 27, 16, 30)
    assert sla.due_at(r, "care", "P2", fri) == local(2026, 11, 30, 9, 30)
    # 75 % = 45 min: 30 on Friday, 15 on Monday.
    assert sla.remind_at(r, "care", "P2", fri) == local(2026, 11, 30, 9, 15)
    # Arriving on a Sunday: the clock starts Monday 09:00.
    assert sla.due_at(r, "care", "P1", local(2026, 11, 29, 12, 0)) == local(2026, 11, 30, 9, 15)
    # Arriving before opening on a weekday.
    assert sla.due_at(r, "care", "P1", local(2026, 11, 24, 7, 0)) == local(2026, 11, 24, 9, 15)
    # 1 d of office time = three 8 h days.
    assert sla.due_at(r, "care", "P4", local(2026, 11, 23, 9, 0)) == local(2026, 11, 25, 17, 0)


def test_business_hours_follow_the_time_zone_through_dst():
    r = rules(business_hours=OFFICE.model_dump())
    # London leaves BST on Sunday 2026-10-25: Friday 16:45 BST (15:45 UTC) + 1 h → Monday
    # 09:45 GMT (09:45 UTC), though a naive UTC count would say 08:45 UTC.
    due = sla.due_at(r, "care", "P2", local(2026, 10, 23, 16, 45))
    assert due == datetime(2026, 10, 26, 9, 45, tzinfo=UTC)


def test_overnight_shift():
    r = rules(business_hours=NIGHT.model_dump())
    # Monday 23:30 + 1 h → Tuesday 00:30 (the shift that opened Monday runs until 06:00).
    assert sla.due_at(r, "care", "P2", datetime(2026, 11, 23, 23, 30, tzinfo=UTC)) == \
        datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    # Tuesday 05:30 (in Monday's shift) + 1 h → 30 min then, 30 min from Tuesday 22:00.
    assert sla.due_at(r, "care", "P2", datetime(2026, 11, 24, 5, 30, tzinfo=UTC)) == \
        datetime(2026, 11, 24, 22, 30, tzinfo=UTC)
    # Saturday 02:00 is still Friday's shift; Saturday 10:00 waits for Monday 22:00.
    assert sla.due_at(r, "care", "P1", datetime(2026, 11, 28, 2, 0, tzinfo=UTC)) == \
        datetime(2026, 11, 28, 2, 15, tzinfo=UTC)
    assert sla.due_at(r, "care", "P1", datetime(2026, 11, 28, 10, 0, tzinfo=UTC)) == \
        datetime(2026, 11, 30, 22, 15, tzinfo=UTC)


def test_hours_that_never_open_give_no_timer():
    r = rules(business_hours={"days": [], "timezone": "UTC"})
    assert sla.due_at(r, "care", "P1", datetime(2026, 11, 23, 10, tzinfo=UTC)) is None


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="naive"):
        sla.add_time(datetime(2026, 11, 23, 10), timedelta(hours=1), None)


def test_stages():
    at = datetime(2026, 11, 23, 10, tzinfo=UTC)
    t = sla.timer(rules(), "care", "P2", at)
    assert t is not None
    assert sla.stage(at + timedelta(minutes=44, seconds=59), t.remind_at, t.due_at) is sla.Stage.NONE
    assert sla.stage(at + timedelta(minutes=45), t.remind_at, t.due_at) is sla.Stage.REMIND
    assert sla.stage(at + timedelta(minutes=59), t.remind_at, t.due_at) is sla.Stage.REMIND
    assert sla.stage(at + timedelta(hours=1), t.remind_at, t.due_at) is sla.Stage.BREACH
    assert sla.stage(at, None, None) is sla.Stage.NONE


HOURS = st.builds(
    BusinessHours,
    days=st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                  min_size=1, max_size=7, unique=True),
    start=st.sampled_from(["00:00", "06:00", "08:30", "09:00", "22:00"]),
    end=st.sampled_from(["06:00", "12:00", "17:00", "17:30", "23:00"]),
    timezone=st.sampled_from(["UTC", "Europe/London", "America/New_York", "Asia/Kolkata",
                              "Australia/Lord_Howe"]))
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31),
                       timezones=st.just(UTC))
SPANS = st.integers(min_value=1, max_value=3 * 24 * 60).map(lambda m: timedelta(minutes=m))


@settings(max_examples=300, deadline=None)
@given(at=MOMENTS, span=SPANS, hours=HOURS)
def test_due_time_holds_exactly_the_allowed_business_time(at, span, hours):
    due = sla.add_time(at, span, hours)
    assert due is not None and due > at
    assert sla.business_time(at, due, hours) == span
    # The clock stops outside the hours: nothing is gained by waiting past the due time
    # unless the hours are open, and the due time is never later than it must be.
    assert sla.business_time(at, due - timedelta(seconds=1), hours) < span


@settings(max_examples=200, deadline=None)
@given(at=MOMENTS, a=SPANS, b=SPANS, hours=st.one_of(st.none(), HOURS))
def test_more_time_is_never_due_earlier(at, a, b, hours):
    short, long_ = sorted((a, b))
    assert sla.add_time(at, short, hours) <= sla.add_time(at, long_, hours)


def test_breach_is_the_overdue_rule():
    due = datetime(2026, 11, 23, 11, tzinfo=UTC)
    for now in (due - timedelta(seconds=1), due, due + timedelta(days=1)):
        assert (sla.stage(now, None, due) is sla.Stage.BREACH) is sla.is_overdue(due, now)
