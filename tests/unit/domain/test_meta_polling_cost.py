"""The polling cost `check --live` prints for the Meta sources."""

from __future__ import annotations

from bot.domain.limits import reply_length, reply_limit
from bot.domain.polling_cost import polling_cost
from bot.domain.rules.schema import SourceSpec


def test_facebook_instagram_and_threads_search_against_their_allowances():
    fb = polling_cost(SourceSpec(id="fb", type="facebook_page", page_id="104123456789012"))
    assert (fb.requests_per_hour, round(fb.share or 0, 2)) == (24, 0.12)
    ig = polling_cost(SourceSpec(id="ig", type="instagram", ig_user_id="17841400000000001"))
    assert ig.requests_per_hour == 24
    search = polling_cost(SourceSpec(id="ts", type="threads_search", query="acme",
                                     every="30m"))
    assert "2,200 keyword searches/day" in search.line() and search.within
    fast = polling_cost(SourceSpec(id="ts", type="threads_search", query="acme", every="30s"))
    assert not fast.within and "OVER" in fast.line()


def test_meta_reply_limits():
    assert reply_limit("facebook") == (8000, "characters")
    assert reply_limit("instagram") == (2200, "characters")
    assert reply_limit("threads") == (500, "characters")
    assert reply_length("threads", "🙏" * 3) == 3
