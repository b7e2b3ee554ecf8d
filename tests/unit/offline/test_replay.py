"""`socialbot replay`: input detection and parsing, the --json contract, the table, bad lines,
unreadable files, the progress bar, and that a large file is streamed, not collected."""

from __future__ import annotations

import io
import json
import re
import shutil
import time
import tracemalloc
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.mention import NETWORKS, Author, Mention
from bot.domain.rules.load import load_rules, parse_rules
from bot.domain.rules.schema import AUTHOR_TYPES, PRIORITIES, RISKS, SENTIMENTS
from bot.domain.scoring.enrich import Enrichment
from bot.domain.scoring.routing import RouteDecision
from bot.offline.replay import input as replay_input
from bot.offline.replay import run as replay
from bot.offline.replay.input import Skipped, parse_time, read_mentions
from bot.offline.replay.run import run
from tests.support.paths import ROOT

DATA = ROOT / "tests" / "data"
PAGES = DATA / "northwind_x_pages.jsonl"
CSV = DATA / "northwind_mentions.csv"
X = DATA / "x"
NOW = datetime(2024, 11, 5, 9, 0, tzinfo=UTC)

# The contract in ARCHITECTURE.md, spelled out here on purpose (not imported from the module).
CONTRACT = ["id", "team", "priority", "score", "sentiment", "compound", "author_type", "risk",
            "approval_required", "outcome_hint", "matched_rules", "complaint", "complaint_probability", "lang",
            "conversation_id", "follow_up"]

PAGE_IDS = ["1853701144208867328", "1853699873001377843", "1853695120577122304",
            "1853688790103711744", "1853671024417525933", "1853669212875882497",
            "113432947129385012"]


@pytest.fixture(scope="module")
def rules():
    return load_rules(ROOT / "routing_rules.yaml")


def replay_file(path, rules, *, as_json=True, progress=False):
    out, err = io.StringIO(), io.StringIO()
    code = run(str(path), rules, as_json=as_json, out=out, err=err, now=NOW, progress=progress)
    return code, out.getvalue(), err.getvalue()


def decisions(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def mentions(path, rules):
    items = list(read_mentions(path, rules))
    assert not [i for i in items if isinstance(i, Skipped)], items
    return [m for _, m in items]


def recorded_ids(name: str) -> list[str]:
    """The tweet ids in a tweepy recording, read straight from the file."""
    body = json.loads((X / name).read_text())[0]["response"]["json"]
    data = body["data"] if isinstance(body["data"], list) else [body["data"]]
    return [t["id"] for t in data]


# --------------------------------------------------------------------------- parsing


def test_x_pages_join_includes_users(rules):
    ms = {m.external_id: m for m in mentions(PAGES, rules)}
    assert list(ms) == PAGE_IDS
    legal = ms["1853701144208867328"]
    assert legal.network == "x"
    assert (legal.author.handle, legal.author.name, legal.author.followers) == (
        "dana_okafor", "Dana Okafor", 312)
    assert legal.author.external_id == "2911000001"
    assert legal.url == "https://x.com/dana_okafor/status/1853701144208867328"
    assert legal.created_at == datetime(2024, 11, 5, 7, 41, 12, tzinfo=UTC)
    assert legal.lang == "en"
    assert legal.mentions_brand is True
    press = ms["1853695120577122304"]
    assert (press.author.handle, press.author.followers, press.author.verified) == (
        "travelwirenews", 182400, True)
    # a reply to the brand that does not name it in its text still mentions the brand
    reply = ms["1853669212875882497"]
    assert "@" not in reply.text and reply.mentions_brand is True
    assert reply.in_reply_to_id == "1853652210512388096"
    assert reply.conversation_id == "1853652210512388096"
    toot = ms["113432947129385012"]
    assert (toot.network, toot.author.handle, toot.author.followers) == (
        "mastodon", "oskar@fosstodon.org", 640)
    assert toot.url == "https://fosstodon.org/@oskar/113432947129385012"
    assert toot.mentions_brand is True  # "@northwind", the local part of mastodon_acct


def test_mentions_brand_from_entities_text_or_reply_only(tmp_path, rules):
    page = {
        "data": [
            {"id": "1", "author_id": "9", "text": "loving the new lounge"},
            {"id": "2", "author_id": "9", "text": "hi @northwindair!"},  # any case
            {"id": "3", "author_id": "9", "text": "hi there",
             "entities": {"mentions": [{"start": 0, "end": 13, "username": "NorthwindAir"}]}},
            {"id": "4", "author_id": "9", "text": "ok thanks", "in_reply_to_user_id": "77"},
            {"id": "5", "author_id": "9", "text": "ok thanks", "in_reply_to_user_id": "78"},
            {"id": "6", "author_id": "9", "text": "hi @NorthwindAirFan and me@NorthwindAir"},
        ],
        "includes": {"users": [{"id": "9", "name": "N", "username": "nn"},
                               {"id": "77", "name": "Northwind Air", "username": "NorthwindAir"}]},
    }
    p = tmp_path / "page.jsonl"
    p.write_text("\n\n" + json.dumps(page) + "\n")  # on line 3
    items = list(read_mentions(p, rules))
    got = {m.external_id: m.mentions_brand for _, m in items}
    assert got == {"1": False, "2": True, "3": True, "4": True, "5": False, "6": False}
    assert all(line == 3 for line, _ in items)


@pytest.mark.parametrize("network, text, expected", [
    ("mastodon", "@northwind hello", True),
    ("mastodon", "hello @northwind@mastodon.social.", True),
    ("mastodon", "hello @northwind@other.example", False),
    ("mastodon", "hello @northwindair", False),
    ("bluesky", "hi @NorthwindAir.bsky.social!", True),
    ("bluesky", "hi @northwindair.bsky.social.evil.com", False),
    ("x", "cc @NorthwindAir_ops", False),
    ("rss", "@NorthwindAir", False),
])
def test_brand_handles_per_network(tmp_path, rules, network, text, expected):
    p = tmp_path / "one.jsonl"
    p.write_text(json.dumps({"id": "1", "network": network, "text": text,
                             "author": {"username": "someone"}}) + "\n")
    [(_, mention)] = read_mentions(p, rules)
    assert mention.mentions_brand is expected


def test_csv_rows_with_extra_columns(rules):
    ms = mentions(CSV, rules)
    assert [m.external_id for m in ms] == ["1853720001000000001", "1853720001000000002",
                                           "1853720001000000003", "1853720001000000004",
                                           "7"]  # no id: the row's line (the 4th row has 2)
    kit = ms[0]
    assert (kit.author.handle, kit.author.name, kit.author.followers) == ("kit_m", "Kit Morgan", 95)
    assert kit.created_at == datetime(2024, 11, 5, 8, 2, 44, tzinfo=UTC)  # Twitter v1.1 format
    assert kit.url == "https://x.com/kit_m/status/1853720001000000001"
    assert kit.mentions_brand
    assert ms[1].created_at == datetime(2024, 11, 5, 8, 10, tzinfo=UTC)
    assert ms[3].text.startswith("Charged twice") and "\n@NorthwindAir" in ms[3].text
    assert ms[4].created_at is None and ms[4].url is None and ms[4].author.handle == "avgeekdan"


def test_csv_minimal_text_column_only(tmp_path, rules):
    p = tmp_path / "export.csv"
    p.write_text("\ufefftext\nhello @NorthwindAir\n\n\"two\nlines\"\nbye\n", encoding="utf-8")
    items = list(read_mentions(p, rules))
    assert [(line, m.external_id, m.text) for line, m in items] == [
        (2, "2", "hello @NorthwindAir"), (4, "4", "two\nlines"), (6, "6", "bye")]
    assert items[0][1].network == "x" and items[0][1].author.handle == ""


def test_csv_unterminated_quote_is_reported_not_merged_silently(tmp_path, rules):
    p = tmp_path / "export.csv"
    p.write_text('text\nfine\n"broken, never closed\nsecond\nthird\n', encoding="utf-8")
    [(line, mention), skipped] = read_mentions(p, rules)
    assert (line, mention.text) == (2, "fine")
    assert isinstance(skipped, Skipped)
    assert f"{skipped.line}: {skipped.problem}" == (
        "3: a quote opened on this line is never closed, so lines 3–5 read as one field; "
        "close the quote")


def test_tab_separated_with_other_aliases(tmp_path, rules):
    p = tmp_path / "export.tsv"
    p.write_text("id\tscreen_name\tfollowers_count\tcreated_at\ttext\n"
                 "42\t@sam\t1,200\t1730793600\tflight was fine\n")
    (m,) = mentions(p, rules)
    assert (m.external_id, m.author.handle, m.author.followers) == ("42", "sam", 1200)
    assert m.created_at == datetime(2024, 11, 5, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2024-11-05T07:41:12.000Z", datetime(2024, 11, 5, 7, 41, 12, tzinfo=UTC)),
    ("2024-11-05T09:41:12+02:00", datetime(2024, 11, 5, 7, 41, 12, tzinfo=UTC)),
    ("2024-11-05 07:41:12", datetime(2024, 11, 5, 7, 41, 12, tzinfo=UTC)),
    ("Wed Oct 11 06:55:44 +0000 2017", datetime(2017, 10, 11, 6, 55, 44, tzinfo=UTC)),
    ("Tue Nov 05 10:02:44 +0200 2024", datetime(2024, 11, 5, 8, 2, 44, tzinfo=UTC)),
    ("2/24/2015 11:35", datetime(2015, 2, 24, 11, 35, tzinfo=UTC)),
    ("12/1/2015", datetime(2015, 12, 1, tzinfo=UTC)),
    (1730793600, datetime(2024, 11, 5, 8, 0, tzinfo=UTC)),
    ("", None),
    (None, None),
])
def test_parse_time(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "2/30/2015 10:00", "Wed Foo 11 06:55:44 +0000 2017",
                                   "2024-13-01", True, [2024]])
def test_parse_time_refuses(value):
    with pytest.raises(ValueError, match=r"created_at: .* is not a date"):
        parse_time(value)


@pytest.mark.parametrize("name", ["test_client_get_users_mentions.json",
                                  "test_asyncclient_get_users_mentions.json",
                                  "test_client_get_tweet.json"])
def test_tweepy_recordings_whole_file(name, rules):
    code, out, err = replay_file(X / name, rules)
    assert code == 0, err
    assert err == ""
    got = decisions(out)
    assert [d["id"] for d in got] == recorded_ids(name)
    # the recordings ask for no expansions: no author, but a working link
    m = mentions(X / name, rules)[0]
    assert m.author.handle == "" and m.url == f"https://x.com/i/status/{m.external_id}"


def test_tweepy_page_as_jsonl_lines(tmp_path, rules):
    lines = []
    for name in ("test_client_get_users_mentions.json", "test_asyncclient_get_users_mentions.json"):
        exchange = json.loads((X / name).read_text())
        lines.append(json.dumps(exchange[0]["response"]["json"]))  # the bare page
    lines.append(json.dumps(json.loads((X / "test_client_get_tweet.json").read_text())))  # wrapped
    p = tmp_path / "pages.jsonl"
    p.write_text("\n".join(lines) + "\n")
    code, out, err = replay_file(p, rules)
    assert code == 0, err
    assert [d["id"] for d in decisions(out)] == (
        recorded_ids("test_client_get_users_mentions.json")
        + recorded_ids("test_asyncclient_get_users_mentions.json")
        + recorded_ids("test_client_get_tweet.json"))


def test_a_file_of_users_has_no_tweets(rules):
    code, out, err = replay_file(X / "test_client_get_users.json", rules)
    assert code == 2 and out == ""
    assert err.startswith(f"{X / 'test_client_get_users.json'}:1: no tweets found")


def test_read_mentions_is_lazy(rules):
    assert isinstance(read_mentions(PAGES, rules), types.GeneratorType)
    assert isinstance(read_mentions(CSV, rules), types.GeneratorType)


# --------------------------------------------------------------------------- --json contract


def check_contract(d: dict, rules) -> None:
    assert list(d)[: len(CONTRACT)] == CONTRACT
    assert set(d) - set(CONTRACT) <= {"network", "author", "score_parts"}  # documented extras
    assert isinstance(d["complaint"], bool)
    assert 0 <= d["complaint_probability"] <= 1
    assert isinstance(d["id"], str) and d["id"]
    assert d["team"] in rules.teams
    assert d["priority"] in PRIORITIES
    assert isinstance(d["score"], int) and 0 <= d["score"] <= 100
    assert d["sentiment"] in SENTIMENTS
    assert isinstance(d["compound"], float | int) and -1 <= d["compound"] <= 1
    assert round(d["compound"], 4) == d["compound"]
    assert d["author_type"] in AUTHOR_TYPES
    assert isinstance(d["risk"], list) and set(d["risk"]) <= set(RISKS)
    assert isinstance(d["approval_required"], bool)
    assert d["outcome_hint"] is None or d["outcome_hint"] in rules.outcomes
    assert isinstance(d["matched_rules"], list)
    assert set(d["matched_rules"]) <= {r.name for r in rules.rules}


@pytest.mark.parametrize("path, n", [(PAGES, 7), (CSV, 5),
                                     (X / "test_client_get_users_mentions.json", 10)])
def test_json_lines_follow_the_contract(path, n, rules):
    code, out, err = replay_file(path, rules)
    assert code == 0, err
    assert out.endswith("\n") and len(out.splitlines()) == n
    for line in out.splitlines():
        check_contract(json.loads(line), rules)


_ODD_TEXT = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["care", "P1", "", 'say "hi"', "back\\slash", "tab\t", "del\x7f", "é", "😡", "\u2028"])
_NUMBER = st.integers(-5, 120) | st.booleans() | st.floats(allow_nan=True)


@settings(max_examples=300, deadline=None)
@given(external_id=_ODD_TEXT | st.integers(), handle=_ODD_TEXT, team=_ODD_TEXT,
       hint=st.none() | _ODD_TEXT, network=_ODD_TEXT,
       risk=st.lists(_ODD_TEXT, max_size=3), matched=st.lists(_ODD_TEXT, max_size=3),
       compound=st.floats(allow_nan=True) | st.integers(-1, 1),
       score=st.integers(0, 100) | st.booleans(),
       parts=st.dictionaries(_ODD_TEXT | st.none() | st.integers(), _NUMBER, max_size=4))
def test_json_lines_are_what_json_dumps_writes(external_id, handle, team, hint, network, risk,
                                               matched, compound, score, parts):
    """JsonOut builds each line itself; the bytes are json.dumps(decision_record(...))'s."""
    m = Mention(network=network, external_id=external_id, text="t", author=Author(handle=handle))
    e = Enrichment(compound=compound, sentiment="neutral", author_type="customer", risk=(),
                   score=score, priority="P4", score_parts=parts)
    d = RouteDecision(team=team, priority="P2", approval_required=bool(score), risk=tuple(risk),
                      outcome_hint=hint, matched_rules=tuple(matched))
    out = io.StringIO()
    sink = replay.JsonOut(out)
    sink.add(m, e, d)
    sink.add(m, e, d)  # the second time from the values it has kept
    expected = json.dumps(replay.decision_record(m, e, d)) + "\n"
    assert out.getvalue() == expected * 2


def test_json_decisions_for_the_northwind_pages(rules):
    code, out, err = replay_file(PAGES, rules)
    assert (code, err) == (0, "")
    got = {d["id"]: d for d in decisions(out)}
    assert list(got) == PAGE_IDS
    legal = got["1853701144208867328"]
    assert (legal["team"], legal["priority"], legal["approval_required"]) == ("pr", "P1", True)
    assert "legal" in legal["risk"] and legal["matched_rules"][0] == "legal threat"
    assert legal["sentiment"] == "negative"
    bag = got["1853699873001377843"]
    assert (bag["team"], bag["outcome_hint"]) == ("baggage", "case_opened")
    press = got["1853695120577122304"]
    assert (press["author_type"], press["team"], press["priority"]) == ("press", "pr", "P1")
    assert press["approval_required"] is True
    lead = got["1853688790103711744"]
    assert (lead["team"], lead["outcome_hint"]) == ("sales", "lead")
    praise = got["1853671024417525933"]
    assert (praise["sentiment"], praise["author_type"], praise["team"]) == (
        "positive", "advocate", "care")
    assert got["113432947129385012"]["network"] == "mastodon"


# --------------------------------------------------------------------------- scoring time


LOST_BAG = {"id": "bag1", "network": "x",
            "text": "@NorthwindAir lost my bag on NW12, baggage claim has no idea",
            "author": {"username": "u", "name": "", "followers": 800}}


def no_clock() -> datetime:
    raise AssertionError("the wall clock was read for a mention that has a time")


def replay_as_of(tmp_path, rules, records, now, clock=no_clock) -> list[dict]:
    p = tmp_path / "timed.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in records))
    out, err = io.StringIO(), io.StringIO()
    assert run(str(p), rules, as_json=True, out=out, err=err, now=now, clock=clock) == 0, err
    return decisions(out.getvalue())


def test_without_now_each_mention_is_scored_as_it_arrived(tmp_path, rules):
    """An old file scores as a fresh one: no age penalty for having been replayed late."""
    old = {**LOST_BAG, "created_at": "2015-02-24T11:35:00Z"}
    recent = {**LOST_BAG, "created_at": "2024-11-05T08:00:00Z"}
    (d_old,) = replay_as_of(tmp_path, rules, [old], now=None)
    (d_recent,) = replay_as_of(tmp_path, rules, [recent], now=None)
    assert d_old == d_recent
    assert "age" not in d_old["score_parts"]
    # the same as asking for the instant it arrived
    arrived = datetime(2015, 2, 24, 11, 35, tzinfo=UTC)
    assert replay_as_of(tmp_path, rules, [old], now=arrived) == [d_old]


def test_a_given_now_scores_everything_as_of_that_instant(tmp_path, rules):
    record = {**LOST_BAG, "created_at": "2024-11-05T08:00:00Z"}
    (on_arrival,) = replay_as_of(tmp_path, rules, [record], now=None)
    (later,) = replay_as_of(tmp_path, rules, [record], now=datetime(2030, 1, 1, tzinfo=UTC))
    assert later["score_parts"]["age"] == -20  # older than 72 h
    assert later["score"] == on_arrival["score"] - 20
    (next_day,) = replay_as_of(tmp_path, rules, [record], now=datetime(2024, 11, 6, 9, 0,
                                                                         tzinfo=UTC))
    assert next_day["score_parts"]["age"] == -10  # older than 24 h


def test_mentions_without_a_time_fall_back_to_the_clock(tmp_path, rules):
    reads = []

    def clock() -> datetime:
        reads.append(1)
        return datetime(2024, 11, 5, 9, 0, tzinfo=UTC)

    timed = {**LOST_BAG, "id": "t", "created_at": "2015-02-24T11:35:00Z"}
    got = replay_as_of(tmp_path, rules, [LOST_BAG, timed, {**LOST_BAG, "id": "b2"}],
                       now=None, clock=clock)
    assert [d["id"] for d in got] == ["bag1", "t", "b2"]
    assert len(reads) == 1  # read once, when the first mention without a time came
    assert len({d["score"] for d in got}) == 1
    reads.clear()
    replay_as_of(tmp_path, rules, [LOST_BAG], now=NOW, clock=clock)
    assert reads == []  # a given `now` is used for those too


# --------------------------------------------------------------------------- the table

ROW = re.compile(r"^(P[1-4])\s+(\d+)\s+(\S+)\s+(negative|neutral|positive)\s+(@\S* \(\w+\))\s+"
                 r"(yes|-)\s+(.*)$")


def table_rows(out: str) -> list[tuple[str, int, str]]:
    rows = []
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m.group(1), int(m.group(2)), m.group(3)))
    return rows


def summary(out: str) -> dict[str, list[str]]:
    part = out.split("\nBy team\n", 1)[1]
    lines = part.splitlines()
    assert lines[0].split() == ["TEAM", "MENTIONS", "P1", "P2", "P3", "P4", "APPROVALS",
                                "NEGATIVE", "COMPLAINTS"]
    result = {}
    for line in lines[1:]:
        if not line.strip():
            break
        cells = line.split()
        result[cells[0]] = cells[1:]
    return result


def urgency(row: tuple[str, int, str]) -> tuple[int, int]:
    return (PRIORITIES.index(row[0]), -row[1])


def test_table_sorted_by_urgency_with_team_summary(rules):
    code, out, err = replay_file(PAGES, rules, as_json=False)
    assert code == 0, err
    rows = table_rows(out)
    assert len(rows) == 7
    assert rows == sorted(rows, key=urgency)
    expected = {d["id"]: d for d in decisions(replay_file(PAGES, rules)[1])}
    assert sorted(rows) == sorted((d["priority"], d["score"], d["team"])
                                  for d in expected.values())
    assert "@dana_okafor (customer)" in out and "legal threat" in out
    teams = summary(out)
    assert list(teams) == [*rules.teams, "total"]
    for team in rules.teams:
        mine = [d for d in expected.values() if d["team"] == team]
        n = len(mine)
        assert teams[team][0] == str(n)
        assert teams[team][1:5] == [str(sum(d["priority"] == p for d in mine)) for p in PRIORITIES]
        assert teams[team][5] == str(sum(d["approval_required"] for d in mine))
        neg = sum(d["sentiment"] == "negative" for d in mine)
        assert teams[team][6] == (f"{round(100 * neg / n)}%" if n else "-")
        flagged = sum(d["complaint"] for d in mine)
        assert teams[team][7] == (f"{round(100 * flagged / n)}%" if n else "-")
    assert teams["total"][0] == "7"
    assert out.rstrip().endswith("7 mentions replayed, 0 skipped")


def test_table_rows_explain_why(rules):
    code, out, _ = replay_file(CSV, rules, as_json=False)
    assert code == 0
    rows = {line.split("@", 1)[1].split()[0]: line for line in out.splitlines()
            if ROW.match(line)}
    assert rows["skylark_airways"].rstrip().endswith("competitor talk, angry influencer")
    # no rule matched: the largest score parts say why
    assert re.search(r"question \+\d+", rows["ana_dias"])


def test_table_keeps_only_the_most_urgent_rows(rules, monkeypatch):
    monkeypatch.setattr(replay, "TABLE_ROWS", 3)
    code, out, err = replay_file(PAGES, rules, as_json=False)
    assert code == 0, err
    all_rows = sorted(table_rows(_full_table(PAGES, rules)), key=urgency)
    assert table_rows(out) == all_rows[:3]
    assert "… 4 more" in out
    assert summary(out)["total"][0] == "7"  # the counters see everything


def _full_table(path, rules) -> str:
    out = io.StringIO()
    run(str(path), rules, as_json=False, out=out, err=io.StringIO(), now=NOW, progress=False)
    return out.getvalue()


def test_untrusted_text_stays_on_one_line(tmp_path, rules):
    p = tmp_path / "evil.jsonl"
    text = "line one\nline two\r\n\x1b[31mred\x1b[0m \u202eevil\u202c\ttab \x00nul " + "x" * 100
    p.write_text(json.dumps({"id": "e1", "network": "x", "text": text,
                             "author": {"username": "bad\nguy\x1b", "name": "", "followers": 0}})
                 + "\n")
    code, out, err = replay_file(p, rules, as_json=False)
    assert code == 0, err
    row = next(line for line in out.splitlines() if ROW.match(line))
    assert "line one line two [31mred[0m evil tab nul" in row
    assert "@badguy (customer)" in row
    assert not any(ord(c) < 32 or c in "\u202e\u202c\x7f" for c in out.replace("\n", ""))
    shown = re.search(r"line one.*?…", row).group()
    assert len(shown) == replay.TEXT_WIDTH


# --------------------------------------------------------------------------- bad input


def test_broken_json_line_is_reported_and_skipped(tmp_path, rules):
    lines = PAGES.read_text().splitlines()
    lines.insert(1, '{"data": [{"id": "1", "text": "cut off')
    p = tmp_path / "broken.jsonl"
    p.write_text("\n".join(lines) + "\n")
    code, out, err = replay_file(p, rules)
    assert code == 0
    assert err.splitlines()[0].startswith(f"{p}:2: invalid JSON")
    assert "Traceback" not in err
    assert [d["id"] for d in decisions(out)] == PAGE_IDS  # everything else processed
    code, out, err = replay_file(p, rules, as_json=False)
    assert code == 0
    assert out.rstrip().endswith("7 mentions replayed, 1 skipped")


def test_bad_records_are_reported_with_their_line(tmp_path, rules):
    good = {"id": "ok", "network": "x", "text": "fine",
            "author": {"username": "a", "name": "A", "followers": 1}}
    lines = [
        json.dumps(good),
        json.dumps({**good, "id": None}),
        json.dumps({**good, "author": {"name": "no handle"}}),
        json.dumps({**good, "network": "myspace"}),
        json.dumps({**good, "created_at": "yesterday"}),
        json.dumps({**good, "author": {"username": "a", "followers": "many"}}),
        json.dumps({"data": [{"id": "7", "text": "fine"}, {"id": "8"}, "junk"]}),
        json.dumps([1, 2, 3]),
        json.dumps({"text": "no author at all"}),
        json.dumps({"errors": [{"title": "Not Found Error", "detail": "Could not find user"}]}),
        json.dumps({"meta": {"result_count": 0}}),  # an empty page: nothing to say
    ]
    p = tmp_path / "bad.jsonl"
    p.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "\xff"}\n')
    code, out, err = replay_file(p, rules)
    assert code == 0
    assert [d["id"] for d in decisions(out)] == ["ok", "7"]
    problems = err.splitlines()
    assert problems[:-1] == [
        f"{p}:2: id: required",
        f"{p}:3: author.username: required",
        f"{p}:4: network: 'myspace' is not one of {', '.join(NETWORKS)}",
        f"{p}:5: created_at: 'yesterday' is not a date (use ISO 8601, "
        "'Wed Oct 11 06:55:44 +0000 2017' or M/D/YYYY H:MM)",
        f"{p}:6: author.followers: 'many' is not a whole number",
        f"{p}:7: data[1]: text: required",
        f"{p}:7: data[2]: expected a tweet object, got a string",
        f"{p}:8: not an X API v2 page {{\"data\": [...], \"includes\": {{...}}}} nor a "
        "normalised mention {\"id\", \"network\", \"author\", \"text\", ...}",
        f"{p}:9: author: expected an object {{username, name, followers}}",
        f"{p}:10: X API error page without data: Could not find user",
        f"{p}:12: not UTF-8 text: invalid start byte",
    ]
    assert problems[-1] == f"{p}: 2 mentions replayed, 11 skipped"


def test_bad_csv_rows(tmp_path, rules):
    p = tmp_path / "m.csv"
    p.write_text("id,followers,text,created_at\n1,5,hello,\n2,lots,hi,\n3,1,,\n4\n5,1,ok,nope\n"
                 "6,2,fine,2024-11-05\n")
    code, out, err = replay_file(p, rules)
    assert code == 0
    assert [d["id"] for d in decisions(out)] == ["1", "6"]
    assert err.splitlines()[:4] == [
        f"{p}:3: followers: 'lots' is not a whole number",
        f"{p}:4: text: empty",
        f"{p}:5: 1 fields, the header has 4: no text",
        f"{p}:6: created_at: 'nope' is not a date (use ISO 8601, "
        "'Wed Oct 11 06:55:44 +0000 2017' or M/D/YYYY H:MM)",
    ]


@pytest.mark.parametrize("content, suffix, message", [
    (b"", ".jsonl", ":1: the file is empty: no mentions to replay"),
    (b"  \n\n \t\n", ".csv", ":1: the file is empty: no mentions to replay"),
    (b"\xef\xbb\xbf\n", ".json", ":1: the file is empty: no mentions to replay"),
    (b"id,body\n1,hello\n", ".csv", ":1: not JSON Lines, JSON, or CSV with a `text` column "
                                    "(first line has: id, body)"),
    (b"hello world\nthis is prose\n", ".txt", ":1: not JSON Lines, JSON, or CSV with a `text` "
                                              "column (first line has: hello world)"),
    (b'[{"a": 1},\n {"b": ', ".json", ":2: invalid JSON: Expecting value (column 8)"),
    (b'{\n  "users": []\n}\n', ".json", ":1: no tweets found"),
    (b"not json\n{also not\n", ".jsonl", ":0: no mention could be read (2 problems)"),
])
def test_unreadable_file_exits_2_with_a_message(tmp_path, rules, content, suffix, message):
    p = tmp_path / f"input{suffix}"
    p.write_bytes(content)
    code, out, err = replay_file(p, rules)
    assert code == 2
    assert out == ""
    assert f"{p}{message}" in err
    assert "Traceback" not in err


def test_missing_file_and_directory(tmp_path, rules):
    code, out, err = replay_file(tmp_path / "nope.jsonl", rules, as_json=False)
    assert (code, out, err) == (2, "", f"{tmp_path / 'nope.jsonl'}:0: no such file\n")
    code, out, err = replay_file(tmp_path, rules, as_json=False)
    assert (code, out, err) == (2, "", f"{tmp_path}:0: is a directory, not a file\n")


class ClosedPipe(io.StringIO):
    def write(self, s: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


class DiskFull(io.StringIO):
    def write(self, s: str) -> int:
        raise OSError(28, "No space left on device")


def test_output_errors(rules):
    err = io.StringIO()
    assert run(str(PAGES), rules, as_json=True, out=ClosedPipe(), err=err, now=NOW) == 0
    assert err.getvalue() == ""  # `| head`: stop quietly
    assert run(str(PAGES), rules, as_json=True, out=DiskFull(), err=err, now=NOW) == 2
    assert err.getvalue() == f"{PAGES}: cannot write the output: No space left on device\n"


def test_read_error_mid_file(rules, monkeypatch):
    def failing(*args, **kwargs):
        yield from read_mentions(PAGES, rules)
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(replay, "read_mentions", failing)
    code, out, err = replay_file(PAGES, rules)
    assert code == 2 and len(out.splitlines()) == 7
    assert err == f"{PAGES}:0: cannot read: Input/output error\n"


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_batches_do_not_change_what_is_written(batch, tmp_path, rules, monkeypatch):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(PAGES.read_text() + "not json\n{}\n" + PAGES.read_text())
    paths = [PAGES, CSV, bad]
    expected = [replay_file(p, rules) for p in paths] + [replay_file(CSV, rules, as_json=False)]
    monkeypatch.setattr(replay, "BATCH", batch)
    assert [replay_file(p, rules) for p in paths] + [replay_file(CSV, rules, as_json=False)] \
        == expected
    test_read_error_mid_file(rules, monkeypatch)  # what was read before the error is replayed


def test_many_problems_are_counted_not_all_printed(tmp_path, rules, monkeypatch):
    monkeypatch.setattr(replay, "MAX_REPORTED_PROBLEMS", 3)
    p = tmp_path / "noisy.jsonl"
    p.write_text("{oops\n" * 10 + PAGES.read_text())
    code, out, err = replay_file(p, rules)
    assert code == 0 and len(out.splitlines()) == 7
    lines = err.splitlines()
    assert [ln.split(":")[1] for ln in lines[:3]] == ["1", "2", "3"]
    assert lines[3] == f"{p}: … 7 more problems not shown (10 skipped in all)"


def test_format_detection(tmp_path):
    cases = {
        "a.jsonl": b'{"x": 1}\n', "a.ndjson": b"garbage\n", "a.csv": b'{"x": 1}\n',
        "one.json": b'{"data": [{"id": "1", "text": "t"}]}',  # one compact line = one record
        "pretty.json": b'{\n  "data": []\n}\n', "list.json": b"[\n {}\n]\n",
        "lines.json": b'{"a": 1}\n{"b": 2}\n', "noext": b"text\nhi\n",
    }
    got = {}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        got[name] = replay_input.detect_format(tmp_path / name)
    assert got == {"a.jsonl": "jsonl", "a.ndjson": "jsonl", "a.csv": "csv", "one.json": "jsonl",
                   "pretty.json": "json", "list.json": "json", "lines.json": "jsonl",
                   "noext": "csv"}


def test_normalised_mentions_in_a_json_list(tmp_path, rules):
    p = tmp_path / "mentions.json"
    p.write_text(json.dumps([
        {"id": 1, "network": "bluesky", "text": "hey @northwindair.bsky.social",
         "author": {"username": "@kim.bsky.social", "name": "Kim", "followers": 3}},
        {"id": 2, "network": "rss", "text": "Northwind Air expands to Porto",
         "author": {"username": "travelwirenews", "name": "TravelWire", "followers": 0},
         "url": "https://news.example.org/porto"},
    ], indent=2))
    ms = mentions(p, rules)
    assert [(m.external_id, m.network, m.author.handle, m.mentions_brand) for m in ms] == [
        ("1", "bluesky", "kim.bsky.social", True), ("2", "rss", "travelwirenews", False)]
    code, out, err = replay_file(p, rules)
    assert code == 0, err
    assert decisions(out)[1]["team"] == "pr"  # "news and blogs" and "press"


# --------------------------------------------------------------------------- progress


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_err(rules):
    out, err = io.StringIO(), io.StringIO()
    assert run(str(PAGES), rules, as_json=True, out=out, err=err, now=NOW, progress=True) == 0
    assert "\r" not in out.getvalue()
    assert "\r[" in err.getvalue() and "7 mentions" in err.getvalue()
    assert err.getvalue().endswith("\n")


def test_progress_bar_auto_only_for_a_tty_and_a_big_file(tmp_path, rules, monkeypatch):
    monkeypatch.setattr(replay, "PROGRESS_MIN_LINES", 50)
    line = json.dumps({"id": "1", "network": "x", "text": "where is my bag?",
                       "author": {"username": "u", "name": "", "followers": 0}})
    big = tmp_path / "big.jsonl"
    big.write_text((line + "\n") * 60)
    for path, err, expect in [(big, FakeTTY(), True), (big, io.StringIO(), False),
                              (PAGES, FakeTTY(), False)]:
        out = io.StringIO()
        assert run(str(path), rules, as_json=True, out=out, err=err, now=NOW) == 0
        assert ("\r[" in err.getvalue()) is expect, (path, type(err))
        assert "\r" not in out.getvalue()


# --------------------------------------------------------------------------- streaming


class CountingSink(io.TextIOBase):
    """Counts lines written and keeps nothing."""

    def __init__(self) -> None:
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.lines += s.count("\n")
        return len(s)


# Enough lines that keeping anything per mention would show (a list of the JSON lines alone
# would pass 1 MB) and few enough to stay fast under tracemalloc, which slows the scoring a few
# times over; `python bench/replay.py` streams 100,000 lines and prints the peak RSS.
STREAM_LINES = 2_500
TEXTS = [
    "@NorthwindAir flight {n} delayed again, still waiting at the gate",
    "thanks @NorthwindAir, crew on NW{n} were lovely",
    "@NorthwindAir lost my bag on NW{n}, baggage claim has no idea",
    "is the NW{n} lounge open early? @NorthwindAir",
]


def write_stream(path: Path, n: int) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({
                "id": str(10**15 + i), "network": "x", "text": TEXTS[i % 4].format(n=i),
                "author": {"username": f"user{i}", "name": "", "followers": i % 50_000},
                "created_at": "2024-11-05T08:00:00Z", "lang": "en"}) + "\n")


def test_large_file_is_streamed_not_collected(tmp_path, rules):
    p = tmp_path / "stream.jsonl"
    write_stream(p, STREAM_LINES)
    # warm-up outside the measurement: VADER's analyzer and the rules' patterns are built once
    small = tmp_path / "small.jsonl"
    write_stream(small, 10)
    assert run(str(small), rules, as_json=True, out=CountingSink(), err=io.StringIO(), now=NOW,
               progress=False) == 0
    sink, err = CountingSink(), io.StringIO()
    started = time.perf_counter()
    tracemalloc.start()
    try:
        code = run(str(p), rules, as_json=True, out=sink, err=err, now=NOW, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    assert code == 0, err.getvalue()
    assert sink.lines == STREAM_LINES
    # streaming needs well under 100 KB whatever the length; 2,500 decisions kept as dicts
    # would take several MB, and even the output lines kept as strings over 1 MB
    assert peak < 512 * 1024, f"peak {peak / 1e3:.0f} KB"
    assert elapsed < 30, elapsed


def test_large_file_table_mode_is_bounded(tmp_path, rules, monkeypatch):
    monkeypatch.setattr(replay, "TABLE_ROWS", 50)
    p = tmp_path / "stream.jsonl"
    write_stream(p, 2_000)
    code, out, err = replay_file(p, rules, as_json=False)
    assert code == 0, err
    rows = table_rows(out)
    assert len(rows) == 50 and rows == sorted(rows, key=urgency)
    assert "… 1,950 more" in out
    assert summary(out)["total"][0] == "2,000"


def test_rules_without_brand_handles(tmp_path):
    rules = parse_rules("version: 1\nbrand: {name: Plain}\nteams:\n  desk: {channel: C0DESK}\n"
                        "default_team: desk\n")
    p = tmp_path / "copy.jsonl"
    shutil.copy(PAGES, p)
    code, out, err = replay_file(p, rules)
    assert code == 0, err
    assert {d["team"] for d in decisions(out)} == {"desk"}
    assert not any(m.mentions_brand for m in mentions(p, rules))


def test_json_carries_each_posts_conversation_and_whether_it_is_a_follow_up(tmp_path, rules):
    """A policy change can be dry-run on threads: the customer's second post is a follow-up
    in the first one's conversation; a stranger in it is not; a new post starts its own."""
    lines = [
        {"id": "1", "network": "mastodon", "author": {"username": "bagless"},
         "text": "@northwind my bag is lost"},
        {"id": "2", "network": "mastodon", "author": {"username": "Bagless"},
         "text": "@northwind still nothing", "in_reply_to_id": "1"},
        {"id": "3", "network": "mastodon", "author": {"username": "other"},
         "text": "@northwind same", "in_reply_to_id": "2"},
        {"id": "4", "network": "mastodon", "author": {"username": "newbie"},
         "text": "@northwind hello"},
    ]
    path = tmp_path / "thread.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    code, out, err = replay_file(path, rules)
    assert code == 0, err
    got = [(d["id"], d["conversation_id"], d["follow_up"])
           for d in map(json.loads, out.splitlines())]
    assert got == [("1", "1", False), ("2", "1", True), ("3", "1", False), ("4", "4", False)]
