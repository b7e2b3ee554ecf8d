"""The card of a Facebook mention: where it was written, and whether the Page hid it."""

from __future__ import annotations

import json

from bot.slack.blocks.card import card
from tests.support.cards import view


def facebook_view(**extra: str):
    return view("new", network="facebook", author_handle="Dana Whitfield",
                url="https://www.facebook.com/104123456789012/posts/5?comment_id=5_7",
                extra={"kind": "comment", **extra})


def test_a_facebook_card_says_what_it_is_and_names_no_handle():
    blocks = json.dumps(card(facebook_view())["blocks"], ensure_ascii=False)
    assert "Facebook" in blocks and "A comment on the Page's post" in blocks
    assert "@Dana" not in blocks  # Facebook names are not handles
    assert "Hidden" not in blocks


def test_a_hidden_comment_says_so():
    blocks = json.dumps(card(facebook_view(hidden="1"))["blocks"], ensure_ascii=False)
    assert "Hidden by the Page" in blocks


def test_tags_and_visitor_posts_are_named():
    assert "A post that tags the Page" in json.dumps(card(facebook_view(kind="tag"))["blocks"])
    assert "A visitor's post on the Page" in json.dumps(
        card(facebook_view(kind="visitor_post"))["blocks"])
