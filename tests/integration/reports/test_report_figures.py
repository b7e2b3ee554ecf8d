"""Report figures on a real database (SQLite, and PostgreSQL when configured) equal the ones
worked out by hand from a small fixture set (the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.reports.period import parse_period
from bot.reports.queries import compute_report

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # the 7d period: [11-16 12:00, 11-23 12:00)
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1"}, "pr": {"channel": "C0PRESS01"},
              "sales": {"channel": "C0SALES01"}},
    "default_team": "support",
    "outcomes": ["resolved", "lead", "case_opened", "feature_request", "competitor_intel",
                 "no_action"],
})
MIN = 60.0


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def fixture_set(session, make_author, make_mention):
    a = make_author(handle="alice", followers=500)
    b = make_author(handle="bigpress", network="mastodon", followers=120_000)
    c = make_author(handle="carol", network="bluesky", followers=50)
    d = make_author(handle="dave", followers=9_000)
    e = make_author(handle="feed", network="rss", followers=0)
    f = make_author(handle="frank", followers=2_000)
    g = make_author(handle="giant", followers=1_000_000)  # only writes outside the period

    def mention(ingested, author, *, fr=None, closed=None, sla=None, **kw):
        """fr/closed/sla: minutes after ingestion (None: not set)."""
        def plus(minutes):
            return None if minutes is None else ingested + timedelta(minutes=minutes)

        return make_mention(ingested_at=ingested, author=author, network=author.network,
                            first_response_at=plus(fr), closed_at=plus(closed),
                            sla_due_at=plus(sla), **kw)

    m1 = mention(at(17, 9), a, fr=10, closed=60, sla=15, sentiment="negative", priority="P1",
                 status="closed", outcome="resolved")
    m2 = mention(at(17, 10), a, fr=30, closed=120, sla=60, sentiment="negative", priority="P2",
                 status="closed", outcome="resolved")
    m3 = mention(at(18, 9), b, fr=90, sla=60, sentiment="neutral", priority="P2", team="pr",
                 status="sent", risk=["regulatory", "privacy"])
    m4 = mention(at(19, 14), c, sla=240, sentiment="positive", priority="P3", status="new",
                 risk=["privacy"])  # due 18:00 on the 19th, never answered: missed
    m5 = mention(at(23, 11), d, sla=24 * 60, sentiment="positive", priority="P4", team="sales",
                 status="new")  # due tomorrow: pending
    mention(at(20, 8), e, fr=20, closed=40, sentiment="neutral", priority="P3",
                 status="closed", outcome="no_action")  # dismissed, no SLA recorded, no tag
    m7 = mention(at(21, 16), f, fr=5, closed=300, sla=15, sentiment="negative", priority="P1",
                 team="pr", status="closed", outcome="lead", risk=["legal"])
    # The previous 7 days [11-09 12:00, 11-16 12:00): one of each sentiment.
    m8 = mention(at(10, 12), g, sentiment="negative", priority="P1", status="closed",
                 outcome="resolved", fr=1, closed=2)
    mention(at(15, 9), g, sentiment="positive")
    mention(at(16, 11, 59), g, sentiment="neutral")
    mention(at(23, 12), g, sentiment="negative")  # at the end instant: excluded
    for m, outcomes in ((m1, ["resolved"]), (m2, ["resolved"]), (m7, ["case_opened", "lead"]),
                        (m8, ["resolved"])):
        for o in outcomes:
            session.add(models.OutcomeTag(mention_id=m.id, outcome=o, tagged_by="U0ANA",
                                          tagged_at=m.closed_at))

    def draft(m, created, decided, decision):
        session.add(models.Draft(mention_id=m.id, text="hi", author="U0ANA", created_at=created,
                                 decided_at=decided, decision=decision,
                                 decided_by="U0LEAD" if decision else None))

    draft(m2, at(17, 10, 10), at(17, 10, 25), "approved")  # 15 min
    draft(m7, at(21, 16, 3), at(21, 16, 13), "rejected")  # 10 min
    draft(m7, at(21, 16, 20), at(21, 16, 50), "approved")  # 30 min
    draft(m3, at(18, 9, 30), None, None)  # not decided yet
    draft(m8, at(10, 12, 1), at(10, 12, 5), "approved")  # outside the period
    session.flush()
    return {"m1": m1, "m3": m3, "m4": m4, "m5": m5, "m7": m7}


def test_figures_equal_the_hand_computed_ones(session, fixture_set):
    r = compute_report(session, RULES, parse_period("7d", NOW), now=NOW, tz_name="UTC",
                       critical=True)
    assert r.total == 7
    assert r.by_network == {"x": 4, "mastodon": 1, "bluesky": 1, "rss": 1}
    assert r.by_team == {"support": 4, "pr": 2, "sales": 1}
    assert r.sentiment == {"negative": 3, "neutral": 2, "positive": 2}
    assert (r.previous_total, r.previous_sentiment) == (
        3, {"negative": 1, "neutral": 1, "positive": 1})
    assert r.share_change("negative") == pytest.approx((3 / 7 - 1 / 3) * 100)
    # first response, minutes: [5, 10, 20, 30, 90] → median 20; p90 at rank 3.6: 30 + .6×60
    assert r.first_response.count == 5
    assert r.first_response.median == pytest.approx(20 * MIN, abs=0.01)
    assert r.first_response.p90 == pytest.approx(66 * MIN, abs=0.01)
    # close, minutes: [40, 60, 120, 300] → median (60+120)/2; p90 at rank 2.7: 120 + .7×180
    assert r.close.count == 4
    assert r.close.median == pytest.approx(90 * MIN, abs=0.01)
    assert r.close.p90 == pytest.approx(246 * MIN, abs=0.01)
    sla = {row.priority: (row.hit, row.missed, row.pending, row.no_sla) for row in r.sla}
    assert sla == {"P1": (2, 0, 0, 0), "P2": (1, 1, 0, 0), "P3": (0, 1, 0, 1),
                   "P4": (0, 0, 1, 0)}
    assert [row.rate for row in r.sla] == [1.0, 0.5, 0.0, None]
    assert r.outcomes == {"resolved": 2, "lead": 1, "case_opened": 1, "feature_request": 0,
                          "competitor_intel": 0, "no_action": 1}
    # approvals: waits [10, 15, 30] min → median 15; p90 at rank 1.8: 15 + .8×15
    assert (r.approvals.decided, r.approvals.approved, r.approvals.rejected) == (3, 2, 1)
    assert r.approvals.wait.median == pytest.approx(15 * MIN, abs=0.01)
    assert r.approvals.wait.p90 == pytest.approx(27 * MIN, abs=0.01)
    assert [(a.handle, a.followers, a.mentions) for a in r.top_authors] == [
        ("bigpress", 120_000, 1), ("dave", 9_000, 1), ("frank", 2_000, 1), ("alice", 500, 2),
        ("carol", 50, 1), ("feed", 0, 1)]
    assert r.hours[9] == 2 and sum(r.hours) == 7
    assert r.busiest_hours() == [(9, 2), (8, 1), (10, 1)]
    assert [d.day for d in r.days] == [date(2026, 11, d) for d in range(16, 24)]
    by_day = {d.day.day: (d.sentiment, d.median_first_response) for d in r.days}
    assert by_day[17] == ({"negative": 2, "neutral": 0, "positive": 0}, pytest.approx(20 * MIN))
    assert by_day[18][1] == pytest.approx(90 * MIN) and by_day[21][1] == pytest.approx(5 * MIN)
    assert by_day[19] == ({"negative": 0, "neutral": 0, "positive": 1}, None)
    assert r.unanswered_count == 2
    assert [m.id for m in r.unanswered] == [fixture_set["m4"].id, fixture_set["m5"].id]
    assert r.critical_count == 3
    assert [m.id for m in r.critical] == [fixture_set[k].id for k in ("m1", "m7", "m3")]
    assert r.critical[1].risk == ("legal",) and r.critical[1].outcome == "lead"


def test_team_filter(session, fixture_set):
    r = compute_report(session, RULES, parse_period("7d", NOW), now=NOW, team="pr",
                       tz_name="UTC")
    assert (r.total, r.by_team, r.by_network) == (2, {"pr": 2}, {"mastodon": 1, "x": 1})
    assert r.previous_total == 0 and r.share_change("negative") is None
    assert r.first_response.count == 2
    assert r.first_response.median == pytest.approx(47.5 * MIN, abs=0.01)  # (5 + 90) / 2
    assert (r.approvals.decided, r.approvals.rejected) == (2, 1)
    assert r.outcomes["lead"] == 1 and r.outcomes["resolved"] == 0
    assert r.unanswered_count == 0 and r.unanswered == ()


def test_hours_and_days_follow_the_report_time_zone(session, fixture_set):
    # New York is UTC-5 in November: 09:00 UTC is 04:00 there.
    r = compute_report(session, RULES, parse_period("7d", NOW), now=NOW,
                       tz_name="America/New_York")
    assert r.hours[4] == 2 and r.hours[9] == 1  # m4: 14:00 UTC
    by_day = {d.day.day: d.sentiment for d in r.days}
    assert by_day[20]["neutral"] == 1  # 08:00 UTC on the 20th is 03:00 on the 20th
    assert r.days[0].day == date(2026, 11, 16)  # 12:00 UTC = 07:00 local


def test_an_empty_period_has_no_figures_but_no_errors(session):
    r = compute_report(session, RULES, parse_period("30d", NOW), now=NOW, tz_name="UTC")
    assert r.total == 0 and r.first_response.median is None and r.approvals.decided == 0
    assert r.outcomes["resolved"] == 0 and len(r.days) == 31
