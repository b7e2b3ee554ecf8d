"""App-store reviews in the pure domain: the rating part of the score (1–2 stars is a
complaint whatever the words), reply limits, the rules keys and the polling cost."""

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
from bot.domain.scoring import rating
from bot.domain.scoring.enrich import enrich
from bot.networks.google_play.source import MAX_PAGES
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def review(text: str, stars: int | None, network: str = "google_play") -> Mention:
    extra = {"review_id": "r1"} | ({"rating": str(stars)} if stars is not None else {})
    return Mention(network=network, external_id="r1", text=text,
                   author=Author(handle="Jane Bloggs", name="Jane Bloggs"), created_at=NOW,
                   lang="en", mentions_brand=True, extra=extra)


@pytest.mark.parametrize(("stars", "points", "complaint"), [
    (1, 35, True), (2, 30, True), (3, 10, False), (4, 0, False), (5, 0, False),
    (None, 0, False)])
def test_rating_points_and_complaint(stars, points, complaint):
    m = review("ok", stars)
    assert (rating.points(m), rating.is_complaint(m)) == (points, complaint)
    assert rating.points(m, words=25) == max(0, points - 25)  # a floor, not a bonus


def test_a_one_star_review_is_a_complaint_whatever_its_words():
    kind = enrich(review("Great app, love the colours", 1), RULES, now=NOW)
    plain = enrich(review("Great app, love the colours", None), RULES, now=NOW)
    assert kind.is_complaint and not plain.is_complaint
    assert kind.score_parts["rating"] == 35 - kind.score_parts["praise"]  # praise undone
    assert "rating" not in plain.score_parts
    assert kind.score > plain.score and kind.priority != "P4"


def test_a_one_star_review_in_plain_words_lands_at_least_at_p3():
    got = enrich(review("The app.", 1), RULES, now=NOW)
    assert got.priority in ("P1", "P2", "P3"), got


def test_angry_words_are_not_counted_twice_with_the_stars():
    text = "Crashes on login since the update. Useless."
    starred, unstarred = (enrich(review(text, n), RULES, now=NOW) for n in (1, None))
    words = sum(starred.score_parts.get(k, 0)
                for k in ("negativity", "praise", "likely_complaint", "complaint"))
    assert starred.score == max(unstarred.score, unstarred.score - words + 35)
    assert starred.priority != "P1"  # an app crash, not a legal threat


@pytest.mark.parametrize("bad", ["0", "6", "five", ""])
def test_a_rating_outside_1_to_5_counts_for_nothing(bad):
    m = review("x", None)
    m.extra["rating"] = bad
    assert (rating.stars(m), rating.points(m)) == (None, 0)


def test_google_play_replies_are_350_utf16_units():
    assert reply_limit("google_play") == (350, "characters")
    assert reply_length("google_play", "héllo") == 5
    assert reply_length("google_play", "🙏") == 2  # outside the BMP: two UTF-16 units
    assert reply_length("google_play", "مرحبا") == 5
    brand, policy = Brand(name="Acme"), Policy(block_personal_data=False)
    assert check_reply("x" * 350, network="google_play", mention_mentions_brand=True,
                       brand=brand, policy=policy) == []
    [too_long] = check_reply("x" * 349 + "🙏", network="google_play",
                             mention_mentions_brand=True, brand=brand, policy=policy)
    assert too_long.code == "too_long" and "351/350" in too_long.message


def test_google_play_sources_need_a_package():
    spec = SourceSpec.model_validate({"id": "play", "type": "google_play_reviews",
                                      "package": "com.acmebank.mobile"})
    assert (spec.network, spec.every) == ("google_play", timedelta(minutes=5))
    with pytest.raises(ValidationError, match="needs a package"):
        SourceSpec.model_validate({"id": "play", "type": "google_play_reviews"})
    with pytest.raises(ValidationError, match="package"):
        SourceSpec.model_validate({"id": "play", "type": "google_play_reviews",
                                   "package": "not a package"})


def test_the_default_every_stays_inside_google_plays_free_quota_even_in_bursts():
    spec = SourceSpec(id="play", type="google_play_reviews", package="com.acme.app")
    cost = polling_cost.polling_cost(spec)
    assert cost.within and cost.share == pytest.approx(12 / 200)
    assert cost.share * MAX_PAGES <= 1  # every poll reading its whole page cap: 48 of 200
    assert "6.0% of Google Play's 200 review reads/hour" in cost.line()
    fast = SourceSpec(id="play", type="google_play_reviews", package="com.acme.app",
                      every="15s")
    assert "OVER the free quota" in polling_cost.polling_cost(fast).line()
