"""The card of an app-store review: network, link, stars, and what a reply does there."""

from __future__ import annotations

import json

from bot.slack.blocks.card import card, stars
from tests.support.cards import view


def review_view(**extra: str):
    return view("new", network="google_play", author_handle="Jane Bloggs",
                url="https://play.google.com/store/apps/details?id=com.acme&reviewId=1",
                extra={"rating": "2", "app_version": "4.12.0", "device": "a52q", **extra})


def test_stars():
    assert stars("2") == "★★☆☆☆ 2/5"
    assert [stars(v) for v in ("0", "6", "x", None)] == [None] * 4


def test_a_review_card_shows_the_network_its_link_stars_and_facts():
    blocks = json.dumps(card(review_view())["blocks"], ensure_ascii=False)
    assert "Google Play" in blocks and "Open on Google Play" in blocks
    assert "*★★☆☆☆ 2/5* · version 4.12.0 · device a52q" in blocks
    assert "One reply per review: a later reply replaces it" in blocks
    assert "@Jane" not in blocks  # no handles on app stores


def test_an_answered_or_edited_review_says_sending_replaces_our_answer():
    answered = json.dumps(card(review_view(developer_reply="Fixed in <!here> 4.12.1"))["blocks"])
    assert "Already answered: sending replaces that answer" in answered
    assert "<!here>" not in answered  # the old reply is text like any other
    edited = json.dumps(card(review_view(edited_after_reply="1",
                                         developer_reply="x"))["blocks"])
    assert "Edited by its author after our reply: sending edits our reply" in edited


def test_posts_elsewhere_show_no_review_bits():
    blocks = json.dumps(card(view("new"))["blocks"])
    assert "One reply per review" not in blocks and "★" not in blocks


def test_an_app_store_card_shows_stars_territory_and_the_existing_response():
    v = view("new", network="app_store", author_handle="SamO_1987",
             url="https://apps.apple.com/app/id1473827385?see-all=reviews",
             extra={"rating": "1", "territory": "GBR",
                    "developer_reply": "Statements moved to Profile → Documents"})
    blocks = json.dumps(card(v)["blocks"], ensure_ascii=False)
    assert "App Store" in blocks and "id1473827385" in blocks
    assert "*★☆☆☆☆ 1/5* · territory GBR" in blocks
    assert "Already answered: sending replaces that answer — Statements moved" in blocks
    assert "@SamO" not in blocks


def test_hostile_words_in_an_app_store_review_ping_no_one():
    v = view("new", network="app_store", author_handle="<!here> ليلى",
             text="<!channel> تطبيق سيء 😡 <@U0LEAD>",
             extra={"rating": "1", "territory": "ARE<!everyone>",
                    "developer_reply": "<!subteam^S0LEADS> sorry"})
    blocks = json.dumps(card(v)["blocks"], ensure_ascii=False)
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U0LEAD>", "<!subteam^S0LEADS>"):
        assert ping not in blocks, ping
    assert "تطبيق سيء 😡" in blocks and "ليلى" in blocks


def test_an_app_store_response_apple_has_not_published_yet_says_so():
    v = view("new", network="app_store", author_handle="SamO_1987",
             extra={"rating": "1", "developer_reply": "Sorry!", "response_state": "PENDING_PUBLISH"})
    blocks = json.dumps(card(v)["blocks"], ensure_ascii=False)
    assert "Already answered (not yet published by Apple): sending replaces that answer" in blocks
    published = json.dumps(card(view("new", network="app_store", extra={
        "developer_reply": "Sorry!", "response_state": "PUBLISHED"}))["blocks"])
    assert "not yet published" not in published and "Already answered:" in published
