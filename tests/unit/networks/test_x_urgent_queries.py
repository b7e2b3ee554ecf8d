"""The urgent search's queries (bot.networks.x.urgent): the rules' P1 cues in X's syntax,
within X's 512 characters, split over several queries when they don't fit in one."""

from __future__ import annotations

from bot.domain.rules.urgent import Cue, urgent_cues
from bot.networks.x.urgent import MAX_QUERY, queries, term
from tests.support.fault_scenarios import RULES
from tests.support.x_query import compile_query


def test_the_shipped_rules_make_one_query_of_words_phrases_and_authors():
    [query] = queries("@NorthwindAir", urgent_cues(RULES, network="x"))
    assert query == (
        '@NorthwindAir (sue OR lawsuit OR lawyer OR attorney OR "small claims" OR faa OR caa'
        ' OR "dot complaint" OR ombudsman OR "eu 261" OR eu261 OR "emergency landing" OR smoke'
        ' OR "turbulence injury" OR "turbulence injuries" OR "turbulence injure"'
        ' OR "turbulence injured" OR "turbulence injures" OR "turbulence injuring" OR unsafe'
        ' OR from:travelwirenews OR from:thepointsguy OR from:skiftnews) -is:retweet')
    compile_query(query)  # the fake X reads it (an X query: no operator it would refuse)


def test_terms():
    assert term(Cue("words", "sue")) == "sue"
    assert term(Cue("words", "eu 261")) == '"eu 261"'
    assert term(Cue("words", "o'brien")) == '"o\'brien"'
    assert term(Cue("words", 'say "hi"')) == '"say hi"'
    assert term(Cue("author", "skiftnews")) == "from:skiftnews"
    assert term(Cue("author", "not a handle")) is None


def test_cues_past_512_characters_are_split_over_queries_each_within_the_limit():
    cues = tuple(Cue("words", f"legal threat number {i}") for i in range(60))
    out = queries("@NorthwindAir", cues)
    assert len(out) > 1 and all(len(q) <= MAX_QUERY for q in out)
    asked = " ".join(out)
    assert all(f'"legal threat number {i}"' in asked for i in range(60))
    assert all(q.startswith("@NorthwindAir (") and q.endswith(") -is:retweet") for q in out)


def test_a_cue_too_long_for_any_query_is_left_out_and_one_cue_needs_no_parentheses():
    long = Cue("words", "word " * 120)
    assert queries("@NorthwindAir", (long,)) == []
    assert queries("@NorthwindAir", (long, Cue("words", "sue"))) == [
        "@NorthwindAir sue -is:retweet"]


def test_a_search_scope_too_long_leaves_no_room_for_cues():
    assert queries("(" + "x" * 505 + ")", (Cue("words", "sue"),)) == []
