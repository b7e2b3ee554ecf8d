"""Block Kit builders: untrusted text is inert, every builder stays within Slack's limits, the
buttons follow the state, and the payloads match their golden JSON (tests/golden/)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.card import CardView, ReplyView
from bot.domain.rules.schema import AUTHOR_TYPES, PRIORITIES, SENTIMENTS, Template
from bot.slack import blocks
from bot.slack.blocks import escape_mrkdwn, help_blocks, slack_len, truncate_escaped
from bot.slack.blocks.text import inline, link, safe_url
from bot.slack.ids import Action, Block, CardRef, ComplaintChoice, Overflow, View
from tests.support.blocks import assert_inert, check_limits, strings, untrusted
from tests.support.cards import DRAFT, OUTCOMES, T0, view
from tests.support.golden import assert_golden

HOSTILE = "<!channel> <!here> <@U123> <#C123> <http://evil.example|your bank> & &amp;"


# --- Escaping and truncation ----------------------------------------------------------------
def test_hostile_sequences_are_inert():
    out = escape_mrkdwn(HOSTILE)
    assert "<" not in out and ">" not in out
    assert out.startswith("&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;")
    assert out.endswith("&amp; &amp;amp;")  # an existing entity is shown, not interpreted


@given(st.text())
def test_escaped_text_has_no_control_brackets_and_unescapes_back(text):
    out = escape_mrkdwn(text)
    assert "<" not in out and ">" not in out
    assert out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@given(st.text(alphabet=st.sampled_from("a<>&! 😀"), max_size=300), st.integers(5, 200))
def test_truncation_respects_limit_and_entities(text, limit):
    out = truncate_escaped(text, limit)
    assert slack_len(out) <= limit
    body = out.removesuffix("…")
    # every & starts a complete entity
    assert all(re.match(r"&(amp|lt|gt);", body[i:]) for i, ch in enumerate(body) if ch == "&")


def test_slack_length_counts_utf16_units():
    assert slack_len("abc") == 3
    assert slack_len("😀") == 2  # outside the BMP: a surrogate pair in JavaScript
    assert slack_len(truncate_escaped("😀" * 3000, 2900)) <= 2900


def test_inline_values_lose_line_breaks_and_bidi_overrides():
    assert inline("Dana\u202e evil\nname\u2066") == "Dana evil name"
    assert inline("👩\u200d💻 dev") == "👩\u200d💻 dev"  # ZWJ sequences survive


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "http://evil.example|your bank", "<http://evil.example|bank>",
    "http://a b.example/", "ftp://files.example/x", "https://", "//x.example/a", None, "",
    "https://x.example/\u202e", "https://x.example/\u200b", "https://x.example/" + "a" * 2000,
    "https://x.example/>", 'https://x.example/"',
])
def test_unsafe_urls_are_refused(url):
    assert safe_url(url) is None
    assert "<" not in link(url, "open")


def test_safe_url_is_linked_with_ampersands_escaped():
    assert link("https://x.com/a?b=1&c=2", "View <post>") == \
        "<https://x.com/a?b=1&amp;c=2|View &lt;post&gt;>"


def test_help_blocks_are_within_block_kit_limits():
    out = help_blocks((("/social report", "figures"),))
    check_limits({"text": "help", "blocks": out})
    assert out[0]["text"]["type"] == "plain_text"


# --- Fixtures: fixed values, no clock -------------------------------------------------------
LIMIT = (280, "weighted characters")
TEMPLATES = [
    Template(name="Card swallowed", text="Sorry! We've blocked the card; a new one is on its way.",
             teams=["support"]),
    Template(name="PR holding line", text="We're looking into this.", teams=["pr"]),
    Template(name="Thanks", text="Thank you, that means a lot!"),
]
TEAMS = [("support", "Customer care"), ("pr", "PR & comms"), ("sales", "Sales")]


STATUSES = ("new", "claimed", "drafted", "pending_approval", "approved", "sent", "closed")


def every_payload(v: CardView, *, approvers=("U0LEAD", "S0LEADS"), reason="Too casual",
                  templates=TEMPLATES, teams=TEAMS, outcomes_choices=None) -> dict[str, dict]:
    """Every builder's output for one card (the draft-only ones when it has a draft)."""
    out = {"card": blocks.card(v),
           "draft_modal": blocks.draft_modal(v, templates, LIMIT),
           "reassign_modal": blocks.reassign_modal(v, teams)}
    for field, choices in ((Overflow.PRIORITY, PRIORITIES), (Overflow.SENTIMENT, SENTIMENTS),
                           (Overflow.AUTHOR_TYPE, AUTHOR_TYPES)):
        out[f"correct_{field}"] = blocks.correct_modal(v, field, outcomes_choices or choices)
    if v.draft is not None:
        out |= {"approve_edit_modal": blocks.approve_edit_modal(v, LIMIT),
                "reject_modal": blocks.reject_modal(v),
                "approval_request": blocks.approval_request(v, approvers),
                "approval_dm": blocks.approval_dm(
                    v, approvers, "https://acme.slack.com/archives/C0CARE/p1772442900000100"),
                "rejected_notice": blocks.rejected_notice(v, reason),
                "draft_preview": blocks.draft_preview(v, 118, LIMIT),
                "draft_preview_over": blocks.draft_preview(v, 301, LIMIT)}
    return out


# --- Nothing untrusted becomes a control sequence -------------------------------------------
def _urls(*urls: str | None) -> set[str]:
    return {escape_mrkdwn(u) for u in urls if safe_url(u)}


urls = st.one_of(st.none(), st.sampled_from([
    "https://x.com/u/status/1", "http://evil.example|bank", "<http://evil.example|bank>",
    "javascript:alert(1)", "https://x.com/a?b=1&c=2", "https://ex.example/\u202e"]), untrusted)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(status=st.sampled_from(STATUSES), text=untrusted, name=st.one_of(st.none(), untrusted),
       handle=untrusted, url=urls, reply_url=urls, draft_text=untrusted, reason=untrusted,
       error=untrusted, blocked=st.one_of(st.none(), untrusted), network=st.sampled_from(
           ["x", "mastodon", "bluesky", "rss"]), rule=untrusted, lang=untrusted,
       claimer=st.one_of(st.just("U0ANA"), untrusted), can_reply=st.booleans(),
       author_type=st.sampled_from(AUTHOR_TYPES), sentiment=st.sampled_from(SENTIMENTS))
def test_untrusted_text_is_inert_everywhere(status, text, name, handle, url, reply_url,
                                            draft_text, reason, error, blocked, network, rule,
                                            lang, claimer, can_reply, author_type, sentiment):
    v = view(status)
    v = dataclasses.replace(
        v, text=text, author_name=name, author_handle=handle, url=url, network=network,
        matched_rules=(rule,), score_parts={rule: 7, "reach": 3}, risk=(rule,), lang=lang,
        claimed_by=claimer, can_reply=can_reply, reply_blocked=blocked, last_outcome=rule,
        team_label=rule, author_type=author_type, sentiment=sentiment,
        draft=dataclasses.replace(DRAFT, text=draft_text, author=claimer, decided_by=claimer,
                                  reason=reason, decision="rejected")
        if status == "drafted" else v.draft and dataclasses.replace(v.draft, text=draft_text),
        reply=v.reply and ReplyView(state="failed" if reply_url is None else "sent",
                                    sent_by=claimer, url=reply_url, error=error))
    allowed = _urls(url, reply_url, "https://acme.slack.com/archives/C0CARE/p1772442900000100")
    for name_, payload in every_payload(v, reason=reason).items():
        check_limits(payload)
        assert_inert(payload, allowed)
        assert name_ and payload
    items = [blocks.DigestItem(i, "P4", network, url, text, handle) for i in range(3)]
    dig = blocks.digest(items, 3)
    check_limits(dig)
    assert_inert(dig, allowed)
    err = blocks.error_message(error)
    check_limits(err)
    assert_inert(err, set())


def test_hostile_post_renders_inert_on_the_card():
    out = blocks.card(view("new"))
    dumped = json.dumps(out)
    assert "<!channel>" not in dumped and "<http://evil.example" not in dumped
    assert "&lt;!channel&gt;" in dumped and "&lt;http://evil.example|Acme refunds&gt;" in dumped
    assert "Dana &lt;K&gt;" in dumped
    assert "<!channel" not in out["text"] and out["text"].startswith("P1 · X · @dana_k: ")
    # every mrkdwn text object is verbatim: Slack does not auto-parse names in it
    for key, _ in strings(out):
        assert key != "link_names"
    assert all(t.get("verbatim") for t in _text_objects(out) if t["type"] == "mrkdwn")


def _text_objects(obj):
    if isinstance(obj, dict):
        if obj.get("type") in ("mrkdwn", "plain_text"):
            yield obj
        for v in obj.values():
            yield from _text_objects(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _text_objects(v)


def test_a_disguised_link_in_the_post_url_never_becomes_a_link():
    out = blocks.card(view("new", url="<http://evil.example|x.com/dana_k>"))
    assert "<http" not in json.dumps(out) and "_no link_" not in json.dumps(out)
    assert "Open on X" in json.dumps(out)  # shown as plain words, not linked


# --- Extreme inputs stay within limits ------------------------------------------------------
HUGE = "Ω<&>😀 " * 2000  # 10,000 characters, 12,000 UTF-16 units, entities everywhere


def extreme(status: str) -> CardView:
    long_name = ("N<&>" * 64)[:255]
    v = view(status)
    return dataclasses.replace(
        v, text=HUGE, author_name=long_name, author_handle=long_name, url="https://x.com/" +
        "a&" * 700, team_label=long_name, matched_rules=tuple(long_name for _ in range(40)),
        score_parts={f"{long_name}{i}": i - 20 for i in range(40)},
        risk=tuple(long_name for _ in range(20)), last_outcome=long_name, lang=long_name,
        approvers=tuple(f"U{i:08d}" for i in range(60)) + tuple(f"S{i:08d}" for i in range(60)),
        outcomes=tuple(f"outcome_{i:03d}_" + "x" * 60 for i in range(100)),
        outcome_tags=tuple(long_name for _ in range(30)), reply_blocked=HUGE,
        author_type="advocate", sentiment="positive", followers=10**9,
        earlier_mentions=10**6,
        draft=v.draft and dataclasses.replace(v.draft, text=HUGE, reason=HUGE),
        reply=v.reply and dataclasses.replace(v.reply, url="https://x.com/" + "b" * 1400,
                                              error=HUGE))


@pytest.mark.parametrize("status", STATUSES)
def test_every_builder_stays_within_limits_with_extreme_inputs(status):
    v = extreme(status)
    templates = [Template(name=f"Template {i:02d} " + "t" * 128, text=HUGE) for i in range(30)]
    teams = [(f"team{i}", "Team " + "L" * 300) for i in range(150)]
    payloads = every_payload(v, approvers=v.approvers, reason=HUGE, templates=templates,
                             teams=teams)
    for name, payload in payloads.items():
        try:
            check_limits(payload)
        except AssertionError as exc:
            raise AssertionError(f"{name} ({status}): {exc}") from exc
        assert_inert(payload, _urls(v.url, v.reply and v.reply.url,
                                    "https://acme.slack.com/archives/C0CARE/p1772442900000100"))
    assert len(_input(payloads["draft_modal"], Block.TEMPLATE)["element"]["options"]) == 30


def test_outcome_values_that_cannot_fit_are_left_out_not_cut():
    long_outcome = "o" * 140  # CardRef JSON + this > 150
    out = blocks.card(view("sent", outcomes=("resolved", long_outcome, "lead")))
    select = _element_of(out, Action.OUTCOME)
    assert [CardRef.decode(o["value"]).option for o in select["options"]] == ["resolved", "lead"]
    assert all(len(o["value"]) <= 150 for o in select["options"])


def test_templates_whose_name_cannot_be_a_value_are_left_out():
    templates = [Template(name="n" * 151, text="too long a name"), Template(name="ok", text="t")]
    m = blocks.draft_modal(view("claimed"), templates, LIMIT)
    assert [o["value"] for o in _input(m, Block.TEMPLATE)["element"]["options"]] == ["ok"]


def test_at_most_100_outcomes_are_offered():
    out = blocks.card(view("sent", outcomes=tuple(f"o{i}" for i in range(150))))
    assert len(_element_of(out, Action.OUTCOME)["options"]) == 100


def test_digest_of_a_flood_fits_one_message():
    items = [blocks.DigestItem(i, PRIORITIES[i % 4], "x", f"https://x.com/u/status/{i}",
                               HUGE, "h" * 255) for i in range(500)]
    out = blocks.digest(items, 1200)
    check_limits(out)
    lines = [b for b in out["blocks"] if b["type"] == "section"]
    assert len(lines) == 20
    assert all(":red_circle: *P1*" in b["text"]["text"] for b in lines[:20])  # urgent first
    assert out["blocks"][-1]["elements"][0]["text"] == "…and 1,180 more"


# --- Buttons by state -----------------------------------------------------------------------
def _actions(payload: dict) -> list[dict]:
    found = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert len(found) <= 1
    return found[0]["elements"] if found else []


def _action_ids(payload: dict) -> list[str]:
    return [e["action_id"] for e in _actions(payload)]


def _element_of(payload: dict, action: Action) -> dict:
    return next(e for e in _actions(payload) if e["action_id"] == action)


MORE = str(Action.MORE)


@pytest.mark.parametrize(("status", "changes", "expected"), [
    ("new", {}, ["claim", MORE]),
    ("claimed", {}, ["draft", "unclaim", MORE]),
    ("claimed", {"can_reply": False}, ["draft", "handled_elsewhere", "unclaim", MORE]),
    ("claimed", {"reply_blocked": "The post doesn't mention @AcmeBank"},
     ["draft", "handled_elsewhere", "unclaim", MORE]),
    ("drafted", {}, ["draft", "submit", "unclaim", MORE]),
    ("drafted", {"approval_required": False}, ["draft", "send", "unclaim", MORE]),
    ("drafted", {"can_reply": False}, ["draft", "handled_elsewhere", "unclaim", MORE]),
    ("drafted", {"draft": dataclasses.replace(DRAFT, decision="rejected", decided_by="U0LEAD",
                                              reason="tone")}, ["draft", "unclaim", MORE]),
    ("pending_approval", {}, ["approve", "approve_edit", "reject", MORE]),
    ("approved", {}, ["send", "draft", MORE]),
    ("approved", {"can_reply": False}, ["draft", MORE]),
    ("sent", {}, ["outcome", MORE]),
    ("closed", {}, []),
    ("new", {"author_type": "advocate", "sentiment": "positive"}, ["claim", "like", "repost", MORE]),
    ("new", {"author_type": "advocate", "sentiment": "positive", "can_reply": False},
     ["claim", MORE]),
    ("closed", {"author_type": "advocate", "sentiment": "positive"}, []),
])
def test_buttons_follow_the_state(status, changes, expected):
    assert _action_ids(blocks.card(view(status, **changes))) == expected


@pytest.mark.parametrize("status", STATUSES)
def test_every_value_is_a_card_ref_of_this_version(status):
    v = view(status)
    for el in _actions(blocks.card(v)):
        assert el["action_id"] in set(Action)
        values = [o["value"] for o in el.get("options", [])] or [el["value"]]
        for raw in values:
            r = CardRef.decode(raw)
            assert (r.mention_id, r.version) == (42, 3)
            assert r.draft_id == (7 if v.draft else None)


def test_overflow_has_exactly_the_five_choices():
    more = _element_of(blocks.card(view("claimed")), Action.MORE)
    # Hide/Unhide are offered on Facebook and Instagram comments only (test_meta_cards.py).
    assert [CardRef.decode(o["value"]).option for o in more["options"]] == [
        o for o in Overflow if o not in (Overflow.HIDE, Overflow.UNHIDE)]
    assert [o["text"]["text"] for o in more["options"]] == [
        "Reassign team", "Change priority", "Correct sentiment", "Mark author as…", "Dismiss"]


def test_outcome_select_offers_the_rules_outcomes():
    select = _element_of(blocks.card(view("sent")), Action.OUTCOME)
    assert select["type"] == "static_select"
    assert [CardRef.decode(o["value"]).option for o in select["options"]] == list(OUTCOMES)
    assert select["options"][2]["text"]["text"] == "Case opened"


def test_send_asks_for_confirmation():
    send = _element_of(blocks.card(view("approved")), Action.SEND)
    assert send["style"] == "primary" and send["confirm"]["confirm"]["text"] == "Send"


# --- What the card says ---------------------------------------------------------------------
def _all_text(payload: dict) -> str:
    return "\n".join(s for _, s in strings(payload))


def test_card_explains_priority_risk_history_and_sla():
    text = _all_text(blocks.card(view("new")))
    assert ":red_circle: *P1 · X* · Customer care · *New*" in text
    assert "*Why P1:* score 82/100 · legal threat · risk +25 · negativity +24 · complaint +15 · " \
           "reach +12" in text
    assert "age" not in text.split("*Why P1:*")[1].split("\n")[0]  # only the top parts
    assert ":warning: *Legal*" in text and ":lock: *Approval required*" in text
    assert "3 earlier mentions, last: resolved" in text
    assert "Customer · 12,840 followers" in text
    assert ":slightly_frowning_face: Negative (-0.73)" in text
    due = int((T0 + timedelta(minutes=15)).timestamp())
    assert f"Reply due <!date^{due}^{{date_short_pretty}} {{time}}|2026-03-02 09:30 UTC>" in text
    assert "<https://x.com/dana_k/status/1897000000000000001|Open on X>" in text


def test_card_shows_state_draft_approval_and_reply():
    assert ":rotating_light: *Overdue*" in _all_text(blocks.card(view("drafted")))
    pending = _all_text(blocks.card(view("pending_approval")))
    assert "Awaiting approval from <@U0LEAD>, <!subteam^S0LEADS>" in pending
    assert "we've blocked it &amp; a new one" in pending and "&lt;3" in pending
    sent = _all_text(blocks.card(view("sent")))
    assert ("Sent by <@U0ANA> <!date^" in sent
            and "<https://x.com/AcmeBank/status/1897000000000000099|View reply>" in sent)
    assert "Tag the outcome" in sent and "Reply due" not in sent
    closed = _all_text(blocks.card(view("closed")))
    assert ":label: Outcome: Resolved" in closed


def test_rejected_draft_shows_reason_and_blocks_resubmission():
    v = view("drafted", draft=dataclasses.replace(DRAFT, decision="rejected",
                                                 decided_by="U0LEAD", reason="Say <sorry> first"))
    text = _all_text(blocks.card(v))
    assert "Rejected by <@U0LEAD>: Say &lt;sorry&gt; first" in text


def test_reply_states_other_than_sent():
    for state, words in (("sending", "Sending"), ("unknown", "unknown outcome"),
                         ("failed", "failed: rate <limited>".replace("<", "&lt;")
                          .replace(">", "&gt;"))):
        v = view("sent", reply=ReplyView(state=state, sent_by="U0ANA", error="rate <limited>"))
        assert words in _all_text(blocks.card(v))


def test_read_only_and_blocked_notes():
    text = _all_text(blocks.card(view("claimed", network="rss", can_reply=False,
                                      reply_blocked="X only allows replies to posts that "
                                                    "mention <us>")))
    assert "Read-only source" in text and "mention &lt;us&gt;" in text
    assert "@dana_k" not in text  # RSS authors are names, not handles


def test_unknown_ids_are_not_turned_into_mentions():
    text = _all_text(blocks.card(view("claimed", claimed_by="<!channel>")))
    assert "Claimed by &lt;!channel&gt;" in text


def test_naive_datetimes_are_taken_as_utc():
    v = view("new", sla_due_at=(T0 + timedelta(minutes=15)).replace(tzinfo=None))
    assert _all_text(blocks.card(v)) == _all_text(blocks.card(view("new")))


# --- Modals ---------------------------------------------------------------------------------
def _input(modal: dict, block: Block) -> dict:
    return next(b for b in modal["blocks"] if b.get("block_id", "").startswith(str(block)))


def test_draft_modal_prefills_the_handle_on_x_and_mastodon_only():
    m = blocks.draft_modal(view("claimed"), TEMPLATES, LIMIT)
    assert m["callback_id"] == View.DRAFT and m["title"]["text"] == "Reply on X"
    assert _input(m, Block.DRAFT_TEXT)["element"]["initial_value"] == "@dana_k "
    masto = blocks.draft_modal(view("claimed", network="mastodon",
                                    author_handle="@dana@social.example"), TEMPLATES, LIMIT)
    assert _input(masto, Block.DRAFT_TEXT)["element"]["initial_value"] == "@dana@social.example "
    sky = blocks.draft_modal(view("claimed", network="bluesky"), TEMPLATES, LIMIT)
    assert "initial_value" not in _input(sky, Block.DRAFT_TEXT)["element"]
    assert "X: 280 weighted characters" in _all_text(m)
    ref = CardRef.decode(m["private_metadata"])
    assert (ref.mention_id, ref.version, ref.draft_id) == (42, 3, None)


def test_draft_modal_edits_the_existing_draft_and_offers_team_templates():
    m = blocks.draft_modal(view("drafted"), TEMPLATES, LIMIT)
    assert _input(m, Block.DRAFT_TEXT)["element"]["initial_value"] == DRAFT.text  # raw
    assert CardRef.decode(m["private_metadata"]).draft_id == 7
    tpl = _input(m, Block.TEMPLATE)
    assert tpl["dispatch_action"] and tpl["optional"]
    assert [o["value"] for o in tpl["element"]["options"]] == ["Card swallowed", "Thanks"]
    again = blocks.draft_modal(view("drafted"), TEMPLATES, LIMIT, text="Thanks!", revision=2)
    box = _input(again, Block.DRAFT_TEXT)
    assert box["block_id"] == "draft_text-2" and box["element"]["action_id"] == Block.DRAFT_TEXT
    assert box["element"]["initial_value"] == "Thanks!"
    none = blocks.draft_modal(view("claimed"), [], LIMIT)
    assert all(b.get("block_id") != Block.TEMPLATE for b in none["blocks"])


@pytest.mark.parametrize(("network", "line"), [
    ("x", "X: 280 weighted characters"), ("mastodon", "Mastodon: 500 characters"),
    ("bluesky", "Bluesky: 300 graphemes")])
def test_draft_modal_shows_the_networks_limit(network, line):
    from bot.domain.limits import reply_limit

    m = blocks.draft_modal(view("claimed", network=network), [], reply_limit(network))
    assert line in _all_text(m)
    rss = blocks.draft_modal(view("claimed", network="rss", can_reply=False), [], None)
    check_limits(rss)
    assert rss["title"]["text"] == "Draft a reply" and "characters" not in _all_text(rss)


def test_blank_values_never_make_blank_text_objects():
    v = view("drafted", text="   ", author_name="  ", draft=dataclasses.replace(DRAFT, text=" "))
    for payload in every_payload(v, reason=" ", outcomes_choices=["P1", " "]).values():
        check_limits(payload)


def test_reject_and_approve_edit_modals_carry_the_draft():
    r = blocks.reject_modal(view("pending_approval"))
    assert r["callback_id"] == View.REJECT and CardRef.decode(r["private_metadata"]).draft_id == 7
    assert _input(r, Block.REASON)["optional"] is False
    a = blocks.approve_edit_modal(view("pending_approval"), LIMIT)
    assert _input(a, Block.DRAFT_TEXT)["element"]["initial_value"] == DRAFT.text
    with pytest.raises(ValueError):
        blocks.reject_modal(view("claimed"))


def test_reassign_modal_offers_the_other_teams():
    m = blocks.reassign_modal(view("claimed"), TEAMS)
    assert [o["value"] for o in _input(m, Block.TEAM)["element"]["options"]] == ["pr", "sales"]
    alone = blocks.reassign_modal(view("claimed"), [("support", "Customer care")])
    assert "submit" not in alone and all(b["type"] != "input" for b in alone["blocks"])
    check_limits(alone)


def test_correct_modal_preselects_the_current_value():
    m = blocks.correct_modal(view("new"), Overflow.SENTIMENT, SENTIMENTS)
    el = _input(m, Block.VALUE)["element"]
    assert el["initial_option"]["value"] == "negative"
    assert CardRef.decode(m["private_metadata"]).option == "sentiment"
    author = blocks.correct_modal(view("new"), "author_type", [("press", "Press"), ("vip", "VIP")])
    assert author["title"]["text"] == "Mark author as" and "initial_option" not in \
        _input(author, Block.VALUE)["element"]
    with pytest.raises(ValueError):
        blocks.correct_modal(view("new"), Overflow.DISMISS, ["x"])


@pytest.mark.parametrize("field", [Overflow.PRIORITY, Overflow.SENTIMENT, Overflow.AUTHOR_TYPE])
def test_every_correct_modal_offers_the_complaint_flag_unchanged_first(field):
    m = blocks.correct_modal(view("new", complaint=True, complaint_probability=0.82), field,
                             AUTHOR_TYPES if field == Overflow.AUTHOR_TYPE else SENTIMENTS)
    el = _input(m, Block.COMPLAINT)["element"]
    assert (el["type"], el["action_id"]) == ("static_select", Block.COMPLAINT.value)
    assert [o["value"] for o in el["options"]] == ["unchanged", "complaint", "not_complaint"]
    assert el["initial_option"]["value"] == ComplaintChoice.UNCHANGED
    assert "a complaint (82%)" in json.dumps(m["blocks"][0])
    check_limits(m)


# --- Messages -------------------------------------------------------------------------------
def test_approval_request_mentions_approvers_and_carries_the_draft():
    out = blocks.approval_request(view("pending_approval"), ["U0LEAD", "S0LEADS"])
    assert out["text"].startswith("Approval needed: <@U0LEAD>, <!subteam^S0LEADS>")
    assert [e["action_id"] for e in _actions(out)] == ["approve", "approve_edit", "reject"]
    assert all(CardRef.decode(e["value"]).draft_id == 7 for e in _actions(out))
    dm = blocks.approval_dm(view("pending_approval"), ["U0LEAD"],
                            "https://acme.slack.com/archives/C0CARE/p1772442900000100")
    assert "<https://acme.slack.com/archives/C0CARE/p1772442900000100|Open the card>" in \
        _all_text(dm)


def test_rejected_notice_pings_the_drafter():
    v = view("drafted", draft=dataclasses.replace(DRAFT, decision="rejected", decided_by="U0LEAD"))
    out = blocks.rejected_notice(v, "Mention the <!channel> branch")
    assert out["text"].startswith("<@U0ANA>, your draft was rejected: Mention the &lt;!channel")
    assert "rejected by <@U0LEAD>" in _all_text(out)


def test_draft_preview_counts_and_withholds_send_when_too_long():
    ok = blocks.draft_preview(view("drafted", approval_required=False), 118, LIMIT)
    assert "118/280 weighted characters" in _all_text(ok)
    assert [e["action_id"] for e in _actions(ok)] == ["draft", "send"]
    over = blocks.draft_preview(view("drafted"), 301, LIMIT)
    assert "21 over" in _all_text(over) and _action_ids(over) == ["draft"]


def test_error_keeps_user_mentions_only():
    out = blocks.error_message("Already claimed by <@U0ANA>. <!channel> <http://x|y> & co")
    assert out["text"] == ("Already claimed by <@U0ANA>. &lt;!channel&gt; "
                           "&lt;http://x|y&gt; &amp; co")
    assert blocks.error_blocks("x")[0]["text"]["text"] == ":warning: x"


# --- Golden JSON ----------------------------------------------------------------------------
@pytest.mark.parametrize("status", STATUSES)
def test_golden_card(status):
    payload = blocks.card(view(status))
    check_limits(payload)
    assert_golden(f"card_{status}", payload)


def _golden_messages() -> dict[str, dict]:
    items = [blocks.DigestItem(100 + i, p, n, f"https://x.com/u{i}/status/{i}",
                               f"Post {i} <!here> with a few words & more than sixteen of them "
                               "so the line is cut after the first ones", f"user{i}")
             for i, (p, n) in enumerate([("P4", "x"), ("P3", "mastodon"), ("P4", "bluesky"),
                                         ("P3", "rss"), ("P4", "x")])]
    pending = view("pending_approval")
    rejected = view("drafted", draft=dataclasses.replace(DRAFT, decision="rejected",
                                                        decided_by="U0LEAD", reason="Too casual"))
    return {
        "modal_draft": blocks.draft_modal(view("claimed"), TEMPLATES, LIMIT),
        "modal_draft_edit": blocks.draft_modal(view("drafted"), TEMPLATES, LIMIT),
        "modal_approve_edit": blocks.approve_edit_modal(pending, LIMIT),
        "modal_reject": blocks.reject_modal(pending),
        "modal_reassign": blocks.reassign_modal(view("claimed"), TEAMS),
        "modal_correct_priority": blocks.correct_modal(view("new"), Overflow.PRIORITY, PRIORITIES),
        "modal_correct_sentiment_complaint": blocks.correct_modal(
            view("new", complaint=True, complaint_probability=0.82), Overflow.SENTIMENT,
            SENTIMENTS),
        "approval_request": blocks.approval_request(pending, ["U0LEAD", "S0LEADS"]),
        "approval_dm": blocks.approval_dm(
            pending, ["U0LEAD", "S0LEADS"],
            "https://acme.slack.com/archives/C0CARE/p1772442900000100"),
        "rejected_notice": blocks.rejected_notice(rejected, "Too casual"),
        "draft_preview": blocks.draft_preview(view("drafted"), 118, LIMIT),
        "digest": blocks.digest(items, 31),
        "error": blocks.error_message("Already claimed by <@U0ANA>."),
    }


@pytest.mark.parametrize("name", list(_golden_messages()))
def test_golden_modals_and_messages(name):
    payload = _golden_messages()[name]
    check_limits(payload)
    assert_golden(name, payload)


def test_an_rss_card_shows_no_follower_count():
    facts = json.dumps(blocks.card(view(network="rss", followers=0, can_reply=False)))
    assert "0 followers" not in facts and "follower" not in facts
    assert "12,840 followers" in json.dumps(blocks.card(view()))
