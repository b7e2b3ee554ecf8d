"""The report's SQL (bot.reports) equals a plain-Python computation over the same rows, on a
seeded random set big enough to take every shortcut the queries take: more than TOP_AUTHORS
authors with ties in followers, ids not in arrival order (the id-range pruning of the tag and
draft joins), a team and an outcome no longer in the rules, tags that differ from the closing
outcome, rows just outside the period, days and hours in a non-UTC time zone."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from bot.domain.rules.schema import PRIORITIES, SENTIMENTS, Rules
from bot.domain.workflow import OPEN_STATUSES
from bot.kit import models
from bot.reports.cube import in_period, languages, period_counts
from bot.reports.period import parse_period
from bot.reports.queries import TOP_AUTHORS, compute_report

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TZ = "America/New_York"
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {"support": {"channel": "C0SUPPORT1"}, "pr": {"channel": "C0PRESS01"}},
    "default_team": "support",
    "outcomes": ["resolved", "lead", "case_opened", "no_action"],
})
TEAMS = ("support", "pr", "legacy")  # legacy: no longer in the rules
OUTCOMES = ("resolved", "lead", "case_opened", "no_action", "old_outcome")
LANGS = ("en", "en", "en-US", "es", "sw", "pt-BR", None)  # the report counts primary subtags


def pct(values: list[float], p: float) -> float | None:
    """percentile_cont."""
    if not values:
        return None
    v = sorted(values)
    k = p * (len(v) - 1)
    lo = int(k)
    return v[lo] + (v[lo + 1] - v[lo]) * (k - lo) if lo + 1 < len(v) else v[lo]


@pytest.fixture
def rows(session, make_author, make_mention):
    rng = random.Random(5)
    authors = [make_author(handle=f"a{i}", followers=rng.choice([0, 50, 500, 500, 9000, 9000,
                                                                  120_000]))
               for i in range(16)]
    start = NOW - timedelta(days=7)
    mentions = []
    for _ in range(160):
        # Arrival times in random order against ids; some before the period and after it.
        ingested = start + timedelta(seconds=rng.randrange(-2 * 86400, 7 * 86400 + 3600))
        answered = rng.random() < 0.7
        fr = ingested + timedelta(seconds=rng.randrange(30, 20_000)) if answered else None
        status = (rng.choice(["closed", "sent", "claimed"]) if answered
                  else rng.choice(["closed", "new", "claimed"]))
        closed = (fr or ingested) + timedelta(seconds=rng.randrange(60, 50_000)) \
            if status == "closed" else None
        sla = None if rng.random() < 0.1 else ingested + timedelta(
            seconds=rng.choice([900, 3600, 14_400, 86_400]))
        mentions.append(make_mention(
            ingested_at=ingested, author=rng.choice(authors), network=rng.choice(
                ["x", "mastodon", "bluesky", "rss"]), team=rng.choice(TEAMS),
            sentiment=rng.choice(SENTIMENTS), priority=rng.choice(PRIORITIES), status=status,
            first_response_at=fr, closed_at=closed, sla_due_at=sla,
            outcome=rng.choice(OUTCOMES) if closed else None,
            complaint=rng.random() < 0.4, lang=rng.choice(LANGS)))
    for m in mentions:
        if m.outcome and rng.random() < 0.8:
            session.add(models.OutcomeTag(mention_id=m.id, outcome=m.outcome, tagged_by="U0A",
                                          tagged_at=m.closed_at))
        extra = rng.choice([o for o in OUTCOMES if o != m.outcome])
        if rng.random() < 0.2:
            session.add(models.OutcomeTag(mention_id=m.id, outcome=extra, tagged_by="U0A",
                                          tagged_at=m.ingested_at))
        if m.first_response_at and rng.random() < 0.4:
            created = m.first_response_at - timedelta(seconds=rng.randrange(60, 600))
            decision = rng.choice(["approved", "rejected", None])
            session.add(models.Draft(
                mention_id=m.id, text="hi", author="U0A", created_at=created,
                decision=decision, decided_by="U0L" if decision else None,
                decided_at=created + timedelta(seconds=rng.randrange(10, 5000))
                if decision else None))
    session.flush()
    return mentions


def reference(session, mentions, period, team):
    tz = ZoneInfo(TZ)
    inside = [m for m in mentions if period.start <= m.ingested_at < period.end
              and (team is None or m.team == team)]
    prev = period.previous()
    before = [m for m in mentions if prev.start <= m.ingested_at < prev.end
              and (team is None or m.team == team)]
    ids = {m.id for m in inside}

    def secs(a, b):
        return (a - b).total_seconds()

    first = [secs(m.first_response_at, m.ingested_at) for m in inside if m.first_response_at]
    close = [secs(m.closed_at, m.ingested_at) for m in inside if m.closed_at]
    sla = {}
    for p in PRIORITIES:
        rows = [m for m in inside if m.priority == p]
        hit = sum(1 for m in rows if m.sla_due_at and m.first_response_at
                  and m.first_response_at <= m.sla_due_at)
        missed = sum(1 for m in rows if m.sla_due_at and (
            (m.first_response_at and m.first_response_at > m.sla_due_at)
            or (not m.first_response_at and m.sla_due_at <= NOW)))
        pending = sum(1 for m in rows if m.sla_due_at and not m.first_response_at
                      and m.sla_due_at > NOW)
        sla[p] = (hit, missed, pending, sum(1 for m in rows if not m.sla_due_at))
    pairs = {(m.id, m.outcome) for m in inside if m.outcome}
    pairs |= {(t.mention_id, t.outcome) for t in session.query(models.OutcomeTag)
              if t.mention_id in ids}
    outcomes = Counter(o for _, o in pairs)
    drafts = [d for d in session.query(models.Draft)
              if d.mention_id in ids and d.decision and d.decided_at]
    waits = [secs(d.decided_at, d.created_at) for d in drafts]
    per_author = Counter(m.author_id for m in inside)
    authors = {a.id: a for a in session.query(models.Author)}
    top = sorted(per_author, key=lambda a: (-authors[a].followers, -per_author[a], a))
    hours = [0] * 24
    days: dict = {}
    fr_by_day: dict = {}
    for m in inside:
        local = m.ingested_at.astimezone(tz)
        hours[local.hour] += 1
        days.setdefault(local.date(), Counter())[m.sentiment] += 1
        if m.first_response_at:
            fr_by_day.setdefault(local.date(), []).append(secs(m.first_response_at,
                                                               m.ingested_at))
    unanswered = sorted((m for m in inside if m.status in OPEN_STATUSES
                         and not m.first_response_at),
                        key=lambda m: (m.priority, m.ingested_at, m.id))
    return {
        "total": len(inside), "by_network": Counter(m.network for m in inside),
        "by_team": Counter(m.team for m in inside),
        "sentiment": {s: sum(1 for m in inside if m.sentiment == s) for s in SENTIMENTS},
        "previous": {s: sum(1 for m in before if m.sentiment == s) for s in SENTIMENTS},
        "first": (len(first), pct(first, 0.5), pct(first, 0.9)),
        "close": (len(close), pct(close, 0.5), pct(close, 0.9)),
        "sla": sla, "outcomes": {o: n for o, n in outcomes.items() if n},
        "approvals": (len(drafts), sum(d.decision == "approved" for d in drafts),
                      sum(d.decision == "rejected" for d in drafts),
                      pct(waits, 0.5), pct(waits, 0.9)),
        "top": [(authors[a].handle, authors[a].followers, per_author[a])
                for a in top[:TOP_AUTHORS]],
        "hours": hours, "days": {d: dict(c) for d, c in days.items()},
        "medians": {d: pct(v, 0.5) for d, v in fr_by_day.items()},
        "unanswered": (len(unanswered), [m.id for m in unanswered[:10]]),
        "complaints": (sum(m.complaint for m in inside), sum(m.complaint for m in before)),
        "languages": {lang: (sum(1 for m in inside if (m.lang or "und").split("-")[0] == lang),
                             sum(1 for m in inside if (m.lang or "und").split("-")[0] == lang
                                 and m.complaint))
                      for lang in {(m.lang or "und").split("-")[0] for m in inside}},
    }


@pytest.mark.parametrize("team", [None, "pr", "legacy"])
def test_sql_figures_equal_python_over_the_rows(session, rows, team):
    period = parse_period("7d", NOW, ZoneInfo(TZ))
    r = compute_report(session, RULES, period, now=NOW, team=team, tz_name=TZ)
    want = reference(session, rows, period, team)
    assert want["total"] > 20  # the fixture really exercises the figures
    assert r.total == want["total"]
    assert r.by_network == dict(want["by_network"]) and r.by_team == dict(want["by_team"])
    assert r.sentiment == want["sentiment"] and r.previous_sentiment == want["previous"]
    for got, (n, med, p90) in ((r.first_response, want["first"]), (r.close, want["close"])):
        assert (got.count, got.median, got.p90) == (n, pytest.approx(med), pytest.approx(p90))
    assert {s.priority: (s.hit, s.missed, s.pending, s.no_sla) for s in r.sla} == want["sla"]
    assert {o: n for o, n in r.outcomes.items() if n} == want["outcomes"]
    a = r.approvals
    decided, approved, rejected, med, p90 = want["approvals"]
    assert (a.decided, a.approved, a.rejected) == (decided, approved, rejected)
    assert (a.wait.median, a.wait.p90) == (pytest.approx(med), pytest.approx(p90))
    assert [(t.handle, t.followers, t.mentions) for t in r.top_authors] == want["top"]
    assert list(r.hours) == want["hours"]
    for d in r.days:
        assert {s: n for s, n in d.sentiment.items() if n} == want["days"].get(d.day, {})
        assert d.median_first_response == pytest.approx(want["medians"].get(d.day))
    assert (r.unanswered_count, [m.id for m in r.unanswered]) == want["unanswered"]
    assert (r.complaints, r.previous_complaints) == want["complaints"]
    assert {k: (v.mentions, v.complaints) for k, v in r.languages.items()} == want["languages"]
    assert list(r.languages) == sorted(r.languages, key=lambda k: (-r.languages[k].mentions, k))
    assert want["complaints"][0] > 5 and len(want["languages"]) == 5  # en, es, sw, pt, und


@pytest.mark.parametrize("critical", [False, True])
def test_queries_side_by_side_give_the_same_report(engine, session, rows, critical):
    """`more_sessions`: the queries on connections of their own, at once; same figures."""
    from bot.kit.db import make_session_factory

    session.commit()  # the other connections see committed rows only
    period = parse_period("7d", NOW, ZoneInfo(TZ))
    alone = compute_report(session, RULES, period, now=NOW, tz_name=TZ, critical=critical)
    with make_session_factory(engine)() as s:
        together = compute_report(s, RULES, period, now=NOW, tz_name=TZ, critical=critical,
                                  more_sessions=make_session_factory(engine))
    assert together == alone and alone.total > 20


def test_the_period_scans_read_the_report_index_alone(session, rows):
    """Every column the period's counts (the cube, and the languages) group or count by is in
    `ix_mention_report`: SQLite answers them from the index without visiting the table (a
    column left out of the index would make a 30-day report read every row)."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL's index-only scans also depend on the visibility map")
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = session.get_bind()
    period = parse_period("7d", NOW, ZoneInfo(TZ))
    event.listen(engine, "before_cursor_execute", capture)
    try:
        period_counts(session, period, None, NOW)
        languages(session, in_period(period, None))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    scans = [(s, p) for s, p in seen if "GROUP BY" in s]
    assert len(scans) == 2
    for statement, parameters in scans:
        plan = " ".join(str(row[-1]) for row in session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters))
        assert "COVERING INDEX ix_mention_report" in plan, plan
