"""Spike detection (bot.domain.spikes, pure): baselines, thresholds, one alert per storm, words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import spikes
from bot.domain.rules.schema import Rules

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)
COOLDOWN = timedelta(hours=2)


def test_baseline_is_the_same_hour_over_four_weeks_when_history_allows():
    plan = spikes.baseline_plan(NOW, WINDOW, NOW - timedelta(days=90))
    assert plan.mode is spikes.Mode.SAME_HOUR
    assert len(plan.periods) == 28
    assert plan.periods[0] == (NOW - timedelta(days=1, minutes=30), NOW - timedelta(days=1))
    assert plan.periods[-1] == (NOW - timedelta(days=28, minutes=30), NOW - timedelta(days=28))
    assert plan.rate(56) == 2.0  # 56 mentions over 28 windows: 2 per window


def test_only_days_the_history_fully_covers_count():
    plan = spikes.baseline_plan(NOW, WINDOW, NOW - timedelta(days=10, minutes=5))
    assert plan.mode is spikes.Mode.SAME_HOUR
    assert len(plan.periods) == 9  # day 10's window starts before the first mention
    assert plan.rate(18) == 2.0


def test_short_history_uses_the_trailing_average():
    start = NOW - timedelta(days=2)
    plan = spikes.baseline_plan(NOW, WINDOW, start)
    assert plan.mode is spikes.Mode.TRAILING
    assert plan.periods == ((start, NOW - WINDOW),)
    # 94 mentions over 47.5 h: 0.99 per 30 min.
    assert round(plan.rate(94), 3) == round(94 * 0.5 / 47.5, 3)
    # Trailing history is capped at a week.
    plan = spikes.baseline_plan(NOW, WINDOW, NOW - timedelta(days=6, hours=23))
    assert plan.mode is spikes.Mode.TRAILING
    assert plan.periods[0][0] == NOW - timedelta(days=6, hours=23)


def test_no_history_means_no_baseline():
    assert spikes.baseline_plan(NOW, WINDOW, None).mode is spikes.Mode.NONE
    assert spikes.baseline_plan(NOW, WINDOW, NOW - timedelta(minutes=40)).mode is spikes.Mode.NONE


def test_a_rate_is_over_at_factor_times_baseline_and_min_mentions():
    counts = {spikes.ALL: 30, spikes.NEGATIVE: 12, "rule:legal threat": 20, "rule:regulator": 0,
              spikes.COMPLAINTS: 9}
    baselines = {spikes.ALL: 10.0, spikes.NEGATIVE: 2.0, "rule:legal threat": 0.0}
    metrics = {m.key: m for m in spikes.evaluate(counts, baselines, factor=3, min_mentions=20)}
    assert metrics[spikes.ALL].over  # 30 >= 3 x 10 and >= 20
    assert metrics[spikes.ALL].ratio == 3.0
    assert not metrics[spikes.NEGATIVE].over  # 6x, but only 12 < min_mentions
    assert metrics["rule:legal threat"].over and metrics["rule:legal threat"].ratio is None
    assert not metrics["rule:regulator"].over
    just_under = spikes.evaluate({spikes.ALL: 29}, {spikes.ALL: 10.0}, factor=3, min_mentions=20)
    assert not just_under[0].over
    # The order shown: all, negative, complaints, then rules by name.
    keys = [m.key for m in spikes.evaluate(counts, baselines, factor=3, min_mentions=1)]
    assert keys == [spikes.ALL, spikes.NEGATIVE, spikes.COMPLAINTS, "rule:legal threat",
                    "rule:regulator"]


def over(n: int = 30) -> tuple[spikes.Metric, ...]:
    return spikes.evaluate({spikes.ALL: n}, {spikes.ALL: 1.0}, factor=3, min_mentions=20)


def test_one_storm_one_alert_then_updates_then_a_new_one_after_the_cooldown():
    assert spikes.plan(NOW, over(5), None, COOLDOWN).action is spikes.Action.NONE
    first = spikes.plan(NOW, over(), None, COOLDOWN)
    assert first.action is spikes.Action.RAISE and [m.key for m in first.over] == ["all"]
    active = spikes.Active(alert_id=7, last_seen_at=NOW)
    later = spikes.plan(NOW + timedelta(minutes=1), over(40), active, COOLDOWN)
    assert later.action is spikes.Action.UPDATE and later.alert_id == 7
    # Quiet: nothing to do (the alert stays as it was).
    assert spikes.plan(NOW + timedelta(minutes=30), over(3), active, COOLDOWN).action \
        is spikes.Action.NONE
    # Back within the cooldown of the last time it was seen: the same storm.
    assert spikes.plan(NOW + COOLDOWN - timedelta(seconds=1), over(), active, COOLDOWN).action \
        is spikes.Action.UPDATE
    # After a quiet cooldown: a new storm, a new alert.
    assert spikes.plan(NOW + COOLDOWN, over(), active, COOLDOWN).action is spikes.Action.RAISE


def test_risk_rules_are_the_rules_that_set_a_risk():
    rules = Rules.model_validate({
        "brand": {"name": "Acme"}, "teams": {"pr": {"channel": "C0PR"}}, "default_team": "pr",
        "rules": [
            {"name": "legal threat", "when": {"text_matches": "sue"},
             "then": {"risk": "legal", "priority": "P1"}},
            {"name": "old", "enabled": False, "when": {"text_matches": "x"},
             "then": {"risk": "privacy"}},
            {"name": "sales", "when": {"text_matches": "buy"}, "then": {"team": "pr"}}]})
    assert spikes.risk_rules(rules) == ("legal threat",)
    assert spikes.metric_label("rule:legal threat") == "Rule: legal threat"


def test_top_words_count_each_text_once_and_skip_noise():
    texts = ["Flight CANCELLED again, cancelled cancelled! https://t.co/abc @NorthwindAir",
             "My flight was cancelled and the app crashed #fail",
             "Northwind: the app crashed while rebooking my flight 123"]
    words = spikes.top_words(texts, ignore=["Northwind"])
    assert words[:3] == [("flight", 3), ("app", 2), ("cancelled", 2)]
    assert ("crashed", 2) in words
    assert all(w not in dict(words) for w in ("https", "northwind", "northwindair", "fail",
                                               "the", "123", "my"))
