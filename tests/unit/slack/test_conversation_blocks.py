"""A card's conversation in Block Kit: the thread post (escaped like the card, the claimer
told, never @channel) and the card's "Customer replied" lines; golden JSON for both."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

from bot.domain.card import Conversation, PostView
from bot.slack import blocks
from bot.slack.blocks.conversation import thread_post
from tests.support.blocks import check_limits
from tests.support.cards import T0, view
from tests.support.golden import assert_golden

FOLLOW = PostView(network="x", role="follow_up", author_handle="dana_k", author_name="Dana <K>",
                  text="@AcmeBank 3 hours & still no card <!channel> <http://evil|refund>",
                  url="https://x.com/dana_k/status/1897000000000000111",
                  created_at=T0 + timedelta(hours=3), notify="U0ANA")
REPLIED = Conversation(follow_ups=2, replied_at=T0 + timedelta(hours=3), waiting_minutes=95,
                       reply_to=FOLLOW, reopens=1)


def test_a_follow_up_in_the_thread_is_inert_and_tells_the_claimer():
    payload = thread_post(FOLLOW)
    shown = json.dumps(payload, ensure_ascii=False)
    assert "<!channel>" not in shown and "&lt;!channel&gt;" in shown
    assert "<http://evil" not in shown and "<@U0ANA>" in shown and "Customer replied" in shown
    assert_golden("thread_follow_up", payload)


def test_an_answer_made_outside_socialbot_says_who():
    payload = thread_post(dataclasses.replace(FOLLOW, role="outside", author_handle="AcmeBank",
                                              author_name="Acme", notify=None))
    assert "Answered outside socialbot* by *Acme* @AcmeBank" in json.dumps(payload, ensure_ascii=False)


def test_the_card_says_customer_replied_with_the_count_and_the_wait():
    payload = blocks.card(view("claimed", conversation=REPLIED,
                               priority_reason="raised from P3 by a follow-up: legal threat"))
    shown = json.dumps(payload, ensure_ascii=False)
    assert "Customer replied* · 2 messages · waiting 1 h 35 min · reopened" in shown
    assert "Replies answer the latest message" in shown and "&lt;!channel&gt;" in shown
    assert "raised from P3 by a follow-up" in shown
    assert_golden("card_customer_replied", payload)


def test_a_draft_overtaken_by_the_customer_is_flagged_for_the_approver():
    stale = dataclasses.replace(REPLIED, draft_stale=True)
    shown = json.dumps(blocks.card(view("pending_approval", conversation=stale)))
    assert "written before the customer's last message" in shown


def test_the_draft_modal_quotes_the_latest_message_not_the_first():
    modal = json.dumps(blocks.draft_modal(view("claimed", conversation=REPLIED), [], None))
    assert "still no card" in modal and "swallowed my card" not in modal


def test_the_approval_dm_asked_again_shows_the_customers_new_message_and_the_warning():
    stale = dataclasses.replace(REPLIED, draft_stale=True)
    payload = blocks.approval_dm(view("pending_approval", conversation=stale), ["U0LEAD"],
                                 "https://acme.slack.com/archives/C0CARE/p1772442900000100")
    shown = json.dumps(payload, ensure_ascii=False)
    assert payload["text"].startswith("The customer wrote again: approval needed")
    assert "still no card &lt;!channel&gt;" in shown and "<!channel>" not in shown
    assert "written before the customer's last message" in shown
    assert "<https://x.com/dana_k/status/1897000000000000111|" in shown
    check_limits(payload)
    assert_golden("approval_dm_customer_wrote", payload)
    request = blocks.approval_request(view("pending_approval", conversation=stale), ["U0LEAD"])
    assert "written before the customer's last message" in json.dumps(request)
    # Not overtaken: the request reads as before.
    fresh = blocks.approval_dm(view("pending_approval", conversation=REPLIED), ["U0LEAD"])
    assert "wrote again" not in json.dumps(fresh)


def _buttons(payload: dict) -> dict[str, dict]:
    return {e["action_id"]: e for b in payload["blocks"] if b["type"] == "actions"
            for e in b["elements"]}


def test_sending_or_approving_a_draft_the_customer_overtook_asks_in_words_that_say_so():
    stale = dataclasses.replace(REPLIED, draft_stale=True)
    send = _buttons(blocks.card(view("approved", conversation=stale)))["send"]["confirm"]
    assert send["title"]["text"] == "Send an outdated reply?" and send["style"] == "danger"
    assert "wrote again after this draft" in send["text"]["text"]
    approve = _buttons(blocks.card(view("pending_approval", conversation=stale)))["approve"]
    assert approve["confirm"]["confirm"]["text"] == "Approve anyway"
    dm = _buttons(blocks.approval_dm(view("pending_approval", conversation=stale), ["U0LEAD"]))
    assert dm["approve"]["confirm"]["style"] == "danger"
    # Not overtaken: the usual Send confirm, and Approve asks nothing more.
    fresh = _buttons(blocks.card(view("approved", conversation=REPLIED)))
    assert fresh["send"]["confirm"]["title"]["text"] == "Send this reply?"
    assert "confirm" not in _buttons(blocks.card(view("pending_approval", conversation=REPLIED)))["approve"]
