"""Reply lengths counted the way each network counts them (bot.domain.limits)."""

from __future__ import annotations

import pytest

from bot.domain.graphemes import grapheme_count, graphemes
from bot.domain.limits import (
    BLUESKY_MAX,
    MASTODON_MAX,
    X_MAX,
    NoReplyChannel,
    mastodon_countable_text,
    reply_length,
    reply_limit,
    utf8_length,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦, 7 code points
TANG = ("故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。朱雀桥边野草花，乌衣巷口夕阳斜。"
        "旧时王谢堂前燕，飞入寻常百姓家。朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
        "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。独在异乡为异客，每逢佳节倍思亲。"
        "遥知兄弟登高处，遍插茱萸少一人。")


def test_limits_per_network() -> None:
    assert reply_limit("x") == (280, "weighted characters")
    assert reply_limit("mastodon") == (500, "characters")
    assert reply_limit("bluesky") == (300, "graphemes")
    assert (X_MAX, MASTODON_MAX, BLUESKY_MAX) == (280, 500, 300)


def test_instance_override() -> None:
    assert reply_limit("mastodon", max_chars=5000) == (5000, "characters")
    with pytest.raises(ValueError, match="positive"):
        reply_limit("mastodon", max_chars=0)


@pytest.mark.parametrize("network", ["rss", "", "myspace"])
def test_no_reply_channel(network: str) -> None:
    with pytest.raises(NoReplyChannel, match="no reply channel"):
        reply_limit(network)
    with pytest.raises(NoReplyChannel):
        reply_length(network, "hi")


# --- X: twitter-text v3 weighted length ------------------------------------------------------
# Cases from twitter-text's conformance suite (conformance/validate.yml,
# WeightedTweetsWithDiscountedEmojiCounterTest: the v3 configuration X uses).
X_CONFORMANCE = [
    ("Hi http://test.co", 26),
    ("http://test.co", 23),
    ("285 chars-" + "xxxxxxxxxx-" * 25, 285),
    ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),
    ("https://www.twitter.com/aloha " * 10, 240),
    (TANG, 320),  # 160 CJK characters weigh 2 each
    ("the" + TANG, 323),
    ("\U0001f637" * 160, 320),  # 160 emoji
    ("A\u0301B", 2),  # NFC: Á is one character
    ("H\U0001f431\u263a" + FAMILY, 7),  # an emoji ZWJ sequence weighs 2 in all
    ("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),
    ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),  # skin tone, ZWJ
    ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),  # label > 63
]


@pytest.mark.parametrize(("text", "expected"), X_CONFORMANCE)
def test_x_weighted_length_conformance(text: str, expected: int) -> None:
    assert reply_length("x", text) == expected


def test_x_urls_without_scheme_count_23() -> None:
    assert reply_length("x", "acme.com") == 23
    assert reply_length("x", "see acme.com/help") == 4 + 23


# --- Mastodon: graphemes of the countable text ----------------------------------------------

def test_mastodon_counts_characters() -> None:
    assert reply_length("mastodon", "Thanks, we're on it!") == 20
    assert reply_length("mastodon", "x" * 500) == 500


def test_mastodon_any_url_with_a_scheme_counts_23() -> None:
    long_url = "https://acme.com/help/cards/" + "a" * 200
    assert reply_length("mastodon", f"See {long_url} please") == 4 + 23 + 7
    assert reply_length("mastodon", "http://x.co") == 23  # longer than itself, as Mastodon does
    assert reply_length("mastodon", "acme.com") == 8  # no scheme: plain text to Mastodon


def test_mastodon_remote_mentions_count_the_username_only() -> None:
    assert mastodon_countable_text("@ana@mastodon.social hi") == "@ana hi"
    assert reply_length("mastodon", "@ana@mastodon.social hi") == 7
    assert reply_length("mastodon", "@ana hi") == 7
    assert mastodon_countable_text("mail ana@example.com") == "mail ana@example.com"


def test_mastodon_counts_graphemes_not_code_points() -> None:
    assert reply_length("mastodon", FAMILY) == 1
    assert reply_length("mastodon", "cafe\u0301") == 4


# --- Bluesky: graphemes ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "count"), [
    ("hello", 5),
    ("e\u0301", 1),  # combining acute
    ("cafe\u0301 cre\u0300me", 10),
    ("Z\u0335\u0321\u031b", 1),  # a stack of combining marks
    (FAMILY, 1),  # ZWJ sequence
    ("\U0001f3f3\ufe0f\u200d\U0001f308", 1),  # 🏳️‍🌈 variation selector + ZWJ
    ("\U0001f44d\U0001f3fd", 1),  # skin tone modifier
    ("\u2764\ufe0f", 1),  # emoji presentation selector
    ("1\ufe0f\u20e3", 1),  # keycap
    ("\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea", 2),  # 🇫🇷🇩🇪: regional indicators pair up
    ("\U0001f1eb\U0001f1f7\U0001f1e9", 2),  # an odd one out stands alone
    ("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 1),  # tag flag
    ("\u1100\u1161\u11a8", 1),  # Hangul jamo L V T
    ("한국어", 3),
    ("\r\n", 1),
    ("a\u200db", 2),  # ZWJ between letters joins nothing
    ("\u0e25\u0e33", 1),  # Thai SARA AM is a spacing mark
    (TANG, 160),
    ("", 0),
])
def test_bluesky_graphemes(text: str, count: int) -> None:
    assert reply_length("bluesky", text) == count
    assert grapheme_count(text) == count
    assert "".join(graphemes(text)) == text


def test_bluesky_limit_is_graphemes_not_code_points() -> None:
    decomposed = "e\u0301" * 300  # 600 code points, 300 graphemes
    assert len(decomposed) == 600
    assert reply_length("bluesky", decomposed) == 300 <= BLUESKY_MAX
    assert reply_length("bluesky", FAMILY * 300) == 300
    assert utf8_length(FAMILY * 300) == 7500  # over the record's 3,000-byte limit
