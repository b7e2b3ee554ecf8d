"""Report Block Kit builders and the chart: within Slack's limits whatever the figures, and
untrusted text (handles, posts) inert."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.health import HealthState, SourceHealth
from bot.domain.outbox import OutboxTrouble, ParkedScope
from bot.reports.chart import report_chart_png
from bot.reports.figures import (
    Approvals,
    AuthorReach,
    DayRow,
    Durations,
    LanguageRow,
    MentionLine,
    Report,
    SlaRow,
)
from bot.reports.period import parse_period
from bot.slack.blocks.report import (
    duration,
    report_blocks,
    social_help,
    status_blocks,
    weekly_report_blocks,
)
from bot.slack.blocks.text import (
    FIELD_MAX,
    FIELDS_MAX,
    HEADER_MAX,
    MESSAGE_BLOCKS_MAX,
    SECTION_TEXT_MAX,
    slack_len,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EVIL = "<!channel> <@U0BOSS> <http://evil.example|bank> & 🎉" * 60


def make_report(*, n_lines: int = 40, text: str = EVIL, days: int = 30, empty: bool = False,
                critical: bool = False) -> Report:
    period = parse_period(f"{days}d", NOW)
    first = period.start.date()
    line = MentionLine(1, "x", "support" * 10, "P1", "h<!here>" * 40,
                       "https://x.com/i/web/status/1", text, NOW, "new", "resolved",
                       ("legal", "<!channel>"))
    return Report(
        period=period, team=None, timezone="Europe/London", generated_at=NOW,
        total=0 if empty else 123_456,
        by_network={} if empty else {"x": 100_000, "mastodon": 20_000, "<!channel>": 3_456},
        by_team={} if empty else {f"team-{i}-<b>": 1000 + i for i in range(40)},
        sentiment={"negative": 0 if empty else 50_000, "neutral": 0, "positive": 0},
        previous_total=0 if empty else 100_000,
        previous_sentiment={"negative": 40_000, "neutral": 30_000, "positive": 30_000},
        first_response=Durations(0, None, None) if empty else Durations(9, 754.0, 86400.0 * 3),
        close=Durations(0, None, None),
        sla=tuple(SlaRow(p, 10, 5, 1, 2) for p in ("P1", "P2", "P3", "P4")),
        outcomes={"resolved": 10, "lead": 0, "case_opened<!here>": 3},
        approvals=Approvals(3, 2, 1, Durations(3, 900.0, 1620.0)),
        top_authors=tuple(AuthorReach("x", "<@U0BOSS>" * 30, "n", 10**9, 5) for _ in range(10)),
        hours=tuple(range(24)),
        days=tuple(DayRow(first + timedelta(days=i), {"negative": i, "neutral": 2,
                                                      "positive": 1},
                          None if i % 3 else 600.0 * i) for i in range(days + 1)),
        unanswered_count=0 if empty else 9_999,
        unanswered=() if empty else tuple(line for _ in range(n_lines)),
        critical=tuple(line for _ in range(n_lines)) if critical else (),
        critical_count=500 if critical else 0,
        complaints=0 if empty else 30_864,
        previous_complaints=0 if empty else 20_000,
        sentiment_unknown=0 if empty else 1_234,
        languages={} if empty else {"en": LanguageRow(100_000, 25_000),
                                    "es": LanguageRow(20_000, 5_000), "sw": LanguageRow(1, 1),
                                    **{f"<!here>{i}": LanguageRow(10, 0) for i in range(30)}},
    )


def check_limits(content: dict) -> None:
    blocks = content["blocks"]
    assert content["text"] and len(blocks) <= MESSAGE_BLOCKS_MAX
    for b in blocks:
        if b["type"] == "header":
            assert slack_len(b["text"]["text"]) <= HEADER_MAX
        if b["type"] == "section":
            if "text" in b:
                assert 0 < slack_len(b["text"]["text"]) <= SECTION_TEXT_MAX
            for f in b.get("fields", []):
                assert slack_len(f["text"]) <= FIELD_MAX
            assert len(b.get("fields", [])) <= FIELDS_MAX
        if b["type"] == "context":
            assert 1 <= len(b["elements"]) <= 10
    # plain_text (the header) is never parsed by Slack; everything else must be inert.
    parsed = {"text": content["text"], "blocks": [b for b in blocks if b["type"] != "header"]}
    raw = json.dumps(parsed, ensure_ascii=False)
    for bad in ("<!channel>", "<!here>", "<@U0BOSS>", "<http://evil"):
        assert bad not in raw


@pytest.mark.parametrize("kw", [{}, {"empty": True}, {"critical": True}, {"n_lines": 1},
                                {"days": 366, "critical": True}])
def test_report_blocks_stay_within_limits_and_escape(kw):
    report = make_report(**kw)
    check_limits(report_blocks(report))
    check_limits(weekly_report_blocks(report, "Acme <!channel> Bank" * 20))


def test_report_blocks_show_the_figures():
    content = report_blocks(make_report(n_lines=3))
    raw = json.dumps(content, ensure_ascii=False)
    assert content["blocks"][0]["text"]["text"] == "Social report · 30d"
    assert "123,456 (100,000 in the previous period)" in raw
    assert "median 12m · p90 3d 0h · n=9" in raw
    assert "67% on time (10 of 15)" in raw and "2 without SLA" in raw
    assert "9,999 open with no response yet" in raw and "…and 9,996 more" in raw
    assert "23:00 (23)" in raw  # the busiest hour first
    assert "*Complaints*\\n30,864 · 25% of mentions (+5.0 pp)" in raw  # 20 % before
    assert ("*Languages*\\nen 100,000 (25,000 complaints) · es 20,000 (5,000 complaints) · "
            "sw 1 (1 complaint) · &lt;!here&gt;0 10 · ") in raw and " · 25 more" in raw
    assert ":grey_question: 1% unknown" in raw  # a language scoring has no weights for


def test_sentiment_change_in_points():
    r = make_report()
    # 50,000 of 123,456 negative now (40.5%) against 40% before: +0.5 pp
    assert r.share_change("negative") == pytest.approx((50_000 / 123_456 - 0.4) * 100)
    assert "+0.5 pp" in json.dumps(report_blocks(r), ensure_ascii=False)


@pytest.mark.parametrize("seconds, shown", [(None, "–"), (0, "0s"), (59.4, "59s"), (60, "1m"),
                                            (3599, "59m"), (3600, "1h 00m"),
                                            (47 * 3600 + 60, "47h 01m"), (49 * 3600, "2d 1h")])
def test_duration(seconds, shown):
    assert duration(seconds) == shown


def test_status_and_help_blocks():
    sources = [SourceHealth(f"src-{i}<!here>", "x_search", HealthState.PARKED,
                            last_success_at=NOW, last_error_at=NOW, last_error="boom " * 200,
                            unhealthy_reason="401 from X: <bad>", next_run_at=NOW,
                            reads_this_month=12_345, cost_this_month=61.72,
                            monthly_budget=100.0) for i in range(60)]
    content = status_blocks(sources, 42, NOW - timedelta(minutes=5), NOW)
    check_limits(content)
    raw = json.dumps(content, ensure_ascii=False)
    assert "740,700 posts read, $3,703.20 of $6,000.00 budget" in raw
    assert "42 message(s) queued for Slack, oldest 5m old" in raw
    check_limits(status_blocks([], 0, None, NOW))
    check_limits(social_help())
    scopes = [ParkedScope(f"C{i:010d}", "not_in_channel", "invite the bot <!channel>", 3,
                          NOW - timedelta(hours=2)) for i in range(40)]
    trouble = OutboxTrouble(
        (ParkedScope("C0PROBED01", "not_in_channel", "invite", 1, NOW, NOW + timedelta(minutes=7)),
         *scopes, ParkedScope("all", "token_revoked", "reinstall", 9, NOW)),
        failed=7, failed_since=NOW - timedelta(minutes=30), failed_error="invalid_blocks <x>")
    content = status_blocks([], 0, None, NOW, trouble)
    check_limits(content)
    raw = json.dumps(content, ensure_ascii=False)
    assert ("*1 message(s) parked* for <#C0PROBED01>, oldest 0s old: `not_in_channel` — "
            "invite; tried again on its own in 7m") in raw
    assert ("*3 message(s) parked* for <#C0000000000>, oldest 2h 00m old: `not_in_channel` — "
            "invite the bot &lt;!channel&gt;") in raw
    assert "…and 37 more parked scope(s)" in raw
    assert "*7 message(s) failed* in the last 24 h, oldest 30m old: invalid_blocks &lt;x&gt;" in raw
    assert "/social export" in json.dumps(social_help(), ensure_ascii=False)


@pytest.mark.parametrize("kw", [{}, {"empty": True}, {"days": 1}])
def test_chart_is_a_png(kw):
    png = report_chart_png(make_report(**kw))
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


def test_days_cover_the_period():
    assert make_report(days=7).days[0].day == date(2026, 11, 16)
