"""The conversation model (bot.domain.conversation): where a post goes, per network."""

from __future__ import annotations

import pytest

from bot.domain.conversation import (
    THREAD_ONLY,
    Link,
    Role,
    classify,
    links_of,
    raises,
    reopen_status,
    reopened,
)
from bot.domain.mention import Author, Mention

CARD = Link(card=7, author="bagless", card_author="bagless")
OUR_REPLY = Link(card=7, author="", by_brand=True, card_author="bagless")


def post(handle: str = "bagless", network: str = "x", reply_to: str | None = "1",
         root: str | None = "1", **extra: str) -> Mention:
    return Mention(network=network, external_id="9", text="hello", author=Author(handle),
                   in_reply_to_id=reply_to, conversation_id=root, extra=dict(extra))


@pytest.mark.parametrize("network, expected", [
    ("x", ("1", "0")), ("bluesky", ("1", "0")), ("reddit", ("1", "0")),
    ("youtube", ("1", "0")), ("facebook", ("1", "0")), ("instagram", ("1", "0")),
    ("threads", ("1", "0")),
    ("mastodon", ("1", None)),
    ("rss", (None, None)), ("google_play", (None, None)), ("app_store", (None, None))])
def test_what_each_network_points_at(network, expected):
    assert links_of(post(network=network, reply_to="1", root="0")) == expected


def test_a_root_equal_to_the_post_or_its_parent_is_not_asked_twice():
    assert links_of(post(reply_to="1", root="1")) == ("1", None)
    assert links_of(post(reply_to=None, root="9")) == (None, None)


def test_an_answer_to_our_reply_is_a_follow_up_whoever_writes_it():
    placed = classify(post("someone_else"), "someone_else", parent=OUR_REPLY, root=None)
    assert (placed.role, placed.card) == (Role.FOLLOW_UP, 7)


def test_the_card_author_again_is_a_follow_up_and_anyone_else_is_context():
    assert classify(post(), "bagless", parent=CARD, root=None).role is Role.FOLLOW_UP
    assert classify(post("x2"), "x2", parent=CARD, root=None).role is Role.CONTEXT


def test_the_root_places_a_post_whose_parent_is_unknown():
    assert classify(post(), "bagless", parent=None, root=CARD).role is Role.FOLLOW_UP
    assert classify(post(), "bagless", parent=None, root=None).role is Role.CARD


def test_the_brand_never_starts_a_card_nor_loops():
    brand = post("northwindair", by_brand="1")
    assert classify(brand, "northwindair", parent=CARD, root=None).role is Role.OUTSIDE
    assert classify(brand, "northwindair", parent=OUR_REPLY, root=None).role is Role.OUTSIDE
    assert classify(brand, "northwindair", parent=None, root=None).role is Role.OURS
    assert classify(post(), "bagless", parent=CARD, root=None, ours=True).role is Role.OURS


def test_reopening_keeps_the_claimer_and_priority_only_rises():
    assert reopened("sent") and reopened("closed") and not reopened("drafted")
    assert (reopen_status("U1"), reopen_status(None)) == ("claimed", "new")
    assert raises("P3", "P1") and not raises("P1", "P3") and not raises("P2", "P2")


def test_a_post_read_only_for_a_watched_thread_joins_a_card_or_nothing():
    """A stranger's reply in a thread the desk watches (Threads' conversations): never a card."""
    stranger = post("someone", **{THREAD_ONLY: "1"})
    assert classify(stranger, "someone", parent=None, root=None).role is Role.OURS
    assert classify(stranger, "someone", parent=CARD, root=None).role is Role.CONTEXT
    assert classify(post("bagless", **{THREAD_ONLY: "1"}), "bagless", parent=OUR_REPLY,
                    root=None).role is Role.FOLLOW_UP
