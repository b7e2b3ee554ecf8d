"""App Store reviews in the pure domain: the rating rule (1–2 stars a complaint, as for Google
Play), the 5,970-character response limit, the `app_id` rules key and the polling cost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.domain import polling_cost
from bot.domain.limits import reply_length, reply_limit
from bot.domain.mention import Author, Mention
from bot.domain.policy import check_reply
from bot.domain.rules.load import load_rules
from bot.domain.rules.schema import Brand, Policy, SourceSpec
from bot.domain.scoring.enrich import enrich
from bot.networks.app_store.source import MAX_PAGES
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def review(text: str, stars: int | None) -> Mention:
    extra = {"review_id": "r1", "territory": "GBR"} | (
        {"rating": str(stars)} if stars is not None else {})
    return Mention(network="app_store", external_id="r1", text=text,
                   author=Author(handle="SamO_1987", name="SamO_1987"), created_at=NOW,
                   mentions_brand=True, extra=extra)


def test_a_two_star_app_store_review_in_kind_words_is_a_complaint():
    got = enrich(review("Lovely design, nice colours", 2), RULES, now=NOW)
    assert got.is_complaint and got.score_parts["rating"] > 0 and got.priority != "P4"
    five = enrich(review("Lovely design, nice colours", 5), RULES, now=NOW)
    assert not five.is_complaint and "rating" not in five.score_parts


def test_app_store_responses_are_5970_utf16_units():
    assert reply_limit("app_store") == (5970, "characters")
    assert reply_length("app_store", "🙏 مرحبا") == 8  # the emoji counts two
    brand, policy = Brand(name="Acme"), Policy(block_personal_data=False)
    assert check_reply("x" * 5970, network="app_store", mention_mentions_brand=True,
                       brand=brand, policy=policy) == []
    [too_long] = check_reply("x" * 5969 + "🙏", network="app_store",
                             mention_mentions_brand=True, brand=brand, policy=policy)
    assert too_long.code == "too_long" and "5971/5970" in too_long.message


def test_app_store_sources_need_the_apps_apple_id():
    spec = SourceSpec.model_validate({"id": "ios", "type": "app_store_reviews",
                                      "app_id": "1473827385"})
    assert (spec.network, spec.every) == ("app_store", timedelta(minutes=5))
    with pytest.raises(ValidationError, match="needs an app_id"):
        SourceSpec.model_validate({"id": "ios", "type": "app_store_reviews"})
    with pytest.raises(ValidationError, match="app_id"):
        SourceSpec.model_validate({"id": "ios", "type": "app_store_reviews",
                                   "app_id": "com.acme.app"})  # the bundle id is not it


def test_the_default_every_stays_inside_app_store_connects_rate_limit_even_in_bursts():
    spec = SourceSpec(id="ios", type="app_store_reviews", app_id="1473827385")
    cost = polling_cost.polling_cost(spec)
    assert cost.within and cost.share == pytest.approx(12 / 3600)
    assert cost.share * MAX_PAGES <= 1
    assert "0.3% of App Store Connect's 3,600 requests/hour" in cost.line()
