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


def overflow(blocks: list[dict]) -> list[str]:
    return [o["text"]["text"] for b in blocks for e in b.get("elements", [])
            if e.get("type") == "overflow" for o in e["options"]]


def test_comments_offer_hide_then_unhide_and_posts_do_not():
    assert "Hide on Facebook" in overflow(card(facebook_view())["blocks"])
    hidden = overflow(card(facebook_view(hidden="1"))["blocks"])
    assert "Unhide on Facebook" in hidden and "Hide on Facebook" not in hidden
    assert not any("ide on" in o for o in overflow(card(facebook_view(kind="tag"))["blocks"]))
    assert overflow(card(facebook_view())["blocks"])[-1] == "Dismiss"


def test_an_instagram_tag_says_why_it_cannot_be_answered():
    from bot.networks.instagram.client import NOT_A_COMMENT

    v = view("claimed", network="instagram", author_handle="sam.okafor",
             url="https://www.instagram.com/p/1/", reply_blocked=NOT_A_COMMENT,
             extra={"kind": "tag"})
    blocks = json.dumps(card(v)["blocks"], ensure_ascii=False)
    assert "Someone else's post that tags the account" in blocks
    assert "answer comments only" in blocks and "Draft reply" in blocks
    assert "Mark as handled elsewhere" in blocks  # the way to close it
