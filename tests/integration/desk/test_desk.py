"""The desk's service functions on a real database (SQLite, and PostgreSQL when configured):
every transition through the one compare-and-set path, its audit trail and outbox messages,
the refusals a person sees, the claim race, and the card's plain values."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import func, select

from bot.desk import commands as desk
from bot.desk.directory import Directory, StaticDirectory
from bot.desk.work import Work
from bot.domain.errors import ConcurrentChange, InvalidTransition, NotAllowed, NotFound, StaleCard
from bot.domain.rules.schema import Rules
from bot.domain.workflow import Act
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.outbox import queue
from bot.slack.ids import CardRef

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {
        "support": {"channel": "C0SUPPORT1", "label": "Customer support",
                    "approvers": ["U0LEAD", "S0LEADS"]},
        "pr": {"channel": "C0PRESS01", "approvers": ["S0PRLEADS"]},
        "sales": {"channel": "C0SALES01", "approvers": ["U0SALESLD"]},
    },
    "default_team": "support",
    "outcomes": ["resolved", "lead", "case_opened", "no_action"],
})
# U0GLEAD approves for support only through the S0LEADS user group.
DIRECTORY = StaticDirectory({"S0LEADS": {"U0GLEAD"}, "S0PRLEADS": {"U0PRLEAD"}})
ANA, BEN, LEAD, GLEAD = "U0ANA", "U0BEN", "U0LEAD", "U0GLEAD"
_ts = itertools.count(1)


@pytest.fixture
def card(make_mention):
    """`card(**overrides)`: a mention whose card is posted in its team's channel, repliable."""

    def make(**overrides) -> models.Mention:
        values = {"mentions_brand": True, "team": "support", "slack_channel": "C0SUPPORT1",
                  "slack_ts": f"1700000000.{next(_ts):06d}", "priority": "P2"}
        return make_mention(**(values | overrides))

    return make


def ref(m: models.Mention, **kw) -> CardRef:
    return CardRef(mention_id=m.id, version=m.version, **kw)


def call(fn, session, actor, m, *args, **kw):
    """A click on the card as it stands now."""
    return fn(Work(session, RULES, DIRECTORY, NOW), actor, ref(m), *args, **kw)


def audit(session, m) -> list[tuple[str, str, str | None, str | None]]:
    rows = session.scalars(select(models.AuditEvent).where(models.AuditEvent.mention_id == m.id)
                           .order_by(models.AuditEvent.id))
    return [(e.actor, e.action, e.from_status, e.to_status) for e in rows]


def outbox(session, m, kind: str | None = None) -> list[models.OutboxMessage]:
    q = select(models.OutboxMessage).where(models.OutboxMessage.mention_id == m.id)
    if kind:
        q = q.where(models.OutboxMessage.kind == kind)
    return list(session.scalars(q.order_by(models.OutboxMessage.id)))


def drafted(session, card, actor=ANA, text="Sorry about that — DM us?", **kw):
    m = card(**kw)
    m = call(desk.claim, session, actor, m)
    return call(desk.save_draft, session, actor, m, text)


def pending(session, card, actor=ANA, **kw):
    m = drafted(session, card, actor, approval_required=True, **kw)
    return call(desk.submit, session, actor, m)


# --- claim / unclaim ----------------------------------------------------------------------

def test_claim_records_who_audits_and_refreshes_the_card(session, card):
    m = card()
    got = call(desk.claim, session, ANA, m)
    assert (got.status, got.version, got.claimed_by) == ("claimed", 1, ANA)
    assert got.claimed_at == NOW and got.first_response_at is None
    assert audit(session, m) == [(ANA, "claim", "new", "claimed")]
    [upd] = outbox(session, m)
    assert (upd.kind, upd.channel, upd.priority, upd.payload, upd.dedupe_key, upd.state) == (
        "update", "C0SUPPORT1", "P2", {}, None, "pending")


def test_no_card_update_is_queued_before_the_card_is_posted(session, card):
    m = card(slack_channel=None, slack_ts=None)
    call(desk.claim, session, ANA, m)
    assert outbox(session, m, "update") == []
    assert len(audit(session, m)) == 1


def test_a_card_being_posted_gets_the_update_once_its_ts_is_known(session, card):
    # The sender has the card out to Slack (people may see it and click) but has not recorded
    # its ts yet: the card was drawn before the claim, so the claim must still reach it.
    m = card(slack_channel=None, slack_ts=None)
    session.add(models.OutboxMessage(kind="card", channel="C0SUPPORT1", mention_id=m.id,
                                     priority="P2", payload={}, state="sending",
                                     not_before=NOW, created_at=NOW, dedupe_key=f"card:{m.id}"))
    session.flush()
    call(desk.claim, session, ANA, m)
    [upd] = outbox(session, m, "update")
    assert (upd.channel, upd.state) == ("C0SUPPORT1", "pending")
    assert not session.scalar(select(func.count()).where(queue.eligible(NOW)).select_from(
        models.OutboxMessage).where(models.OutboxMessage.id == upd.id))  # waits for the ts
    m.slack_channel, m.slack_ts = "C0SUPPORT1", "1700000000.999999"
    session.flush()
    assert session.scalar(select(func.count()).where(queue.eligible(NOW)).select_from(
        models.OutboxMessage).where(models.OutboxMessage.id == upd.id)) == 1


def test_claiming_a_claimed_mention_names_the_claimer(session, card):
    m = card()
    stale = ref(m)
    call(desk.claim, session, ANA, m)
    with pytest.raises(ConcurrentChange) as err:
        desk.claim(Work(session, RULES, DIRECTORY, NOW), BEN, stale)
    assert err.value.message == "Already claimed by <@U0ANA>."


def test_unclaim_by_the_claimer_or_an_approver_only(session, card):
    m = call(desk.claim, session, ANA, card())
    with pytest.raises(NotAllowed, match="<@U0ANA>"):
        call(desk.unclaim, session, BEN, m)
    m = call(desk.unclaim, session, ANA, m)
    assert (m.status, m.claimed_by, m.claimed_at, m.version) == ("new", None, None, 2)
    m = call(desk.claim, session, BEN, m)
    m = call(desk.unclaim, session, GLEAD, m)  # a group member approver may free it
    assert m.status == "new"
    assert [a[1] for a in audit(session, m)] == ["claim", "unclaim", "claim", "unclaim"]


def test_claiming_is_not_a_response(session, card):
    m = call(desk.claim, session, ANA, card())
    m = call(desk.unclaim, session, ANA, m)
    m = desk.claim(Work(session, RULES, DIRECTORY, NOW + timedelta(hours=1)), BEN, ref(m))
    assert m.first_response_at is None  # the customer has seen nothing yet


# --- drafts -------------------------------------------------------------------------------

def test_save_draft_from_modal_and_thread(session, card):
    m = call(desk.claim, session, ANA, card())
    m = call(desk.save_draft, session, ANA, m, "  First try  ", source="thread")
    m = call(desk.save_draft, session, ANA, m, "Second try")  # redraft stays drafted
    assert (m.status, m.version) == ("drafted", 3)
    texts = [(d.text, d.author) for d in session.scalars(
        select(models.Draft).where(models.Draft.mention_id == m.id).order_by(models.Draft.id))]
    assert texts == [("First try", ANA), ("Second try", ANA)]
    events = session.scalars(select(models.AuditEvent).where(
        models.AuditEvent.mention_id == m.id, models.AuditEvent.action == "draft")
        .order_by(models.AuditEvent.id)).all()
    assert [e.detail["source"] for e in events] == ["thread", "modal"]
    assert all(isinstance(e.detail["draft_id"], int) for e in events)


def test_drafting_is_for_the_claimer_or_an_approver(session, card):
    m = call(desk.claim, session, ANA, card())
    with pytest.raises(NotAllowed, match="Only <@U0ANA> or an approver"):
        call(desk.save_draft, session, BEN, m, "Mine now")
    with pytest.raises(NotAllowed, match="needs some text"):
        call(desk.save_draft, session, ANA, m, "   ")
    m = call(desk.save_draft, session, LEAD, m, "From the lead")
    assert (m.status, m.claimed_by) == ("drafted", ANA)


def test_a_new_mention_must_be_claimed_before_drafting(session, card):
    with pytest.raises(InvalidTransition, match="this mention is new"):
        call(desk.save_draft, session, ANA, card(), "Hi")


def test_send_without_approval_when_not_required(session, card):
    m = drafted(session, card)
    m = desk.apply(session, mention_id=m.id, version=m.version, act=Act.SEND, actor=ANA,
                   rules=RULES, directory=DIRECTORY, detail={"reply_id": 7}, now=NOW)
    assert m.status == "sent"
    assert audit(session, m)[-1] == (ANA, "send", "drafted", "sent")


def test_send_from_drafted_is_refused_when_approval_is_required(session, card):
    m = drafted(session, card, approval_required=True)
    with pytest.raises(NotAllowed, match="needs approval"):
        desk.apply(session, mention_id=m.id, version=m.version, act=Act.SEND, actor=ANA,
                   rules=RULES, directory=DIRECTORY, now=NOW)
    assert session.get(models.Mention, m.id).status == "drafted"


# --- approval -----------------------------------------------------------------------------

def test_submit_asks_the_approvers_in_the_thread_and_by_dm(session, card):
    m = pending(session, card)
    assert m.status == "pending_approval"
    draft_id = session.scalar(select(func.max(models.Draft.id)))
    [thread] = outbox(session, m, "thread")
    assert (thread.channel, thread.payload) == (
        "C0SUPPORT1", {"type": "approval_request", "draft_id": draft_id})
    dms = {(d.channel, d.payload["user"], d.payload["type"], d.payload["draft_id"])
           for d in outbox(session, m, "dm")}
    assert dms == {(u, u, "approval_request", draft_id) for u in (LEAD, GLEAD)}
    assert audit(session, m)[-1] == (ANA, "submit", "drafted", "pending_approval")


def test_the_drafter_is_not_asked_to_approve_their_own_draft(session, card):
    m = pending(session, card, actor=LEAD)
    assert {d.channel for d in outbox(session, m, "dm")} == {GLEAD}


def test_submit_is_refused_when_nobody_else_can_approve(session, card):
    m = drafted(session, card, actor="U0SALESLD", team="sales", slack_channel="C0SALES01")
    with pytest.raises(NotAllowed, match="Nobody but the drafter"):
        call(desk.submit, session, "U0SALESLD", m)


def test_approval_by_a_user_group_member(session, card):
    m = pending(session, card)
    m = call(desk.approve, session, GLEAD, m)
    assert m.status == "approved"
    draft = session.scalars(select(models.Draft).where(models.Draft.mention_id == m.id)).one()
    assert (draft.decision, draft.decided_by, draft.decided_at) == ("approved", GLEAD, NOW)
    m = desk.apply(session, mention_id=m.id, version=m.version, act=Act.SEND, actor=ANA,
                   rules=RULES, directory=DIRECTORY, now=NOW)
    assert m.status == "sent"


def test_self_approval_is_refused(session, card):
    m = pending(session, card, actor=LEAD)  # an approver drafted it
    with pytest.raises(NotAllowed, match="You wrote this draft"):
        call(desk.approve, session, LEAD, m)
    with pytest.raises(NotAllowed, match="You wrote this draft"):
        call(desk.reject, session, LEAD, m, "no")
    assert session.get(models.Mention, m.id).status == "pending_approval"
    assert call(desk.approve, session, GLEAD, m).status == "approved"


def test_approval_needs_an_approver_of_the_mentions_team(session, card):
    m = pending(session, card)
    for outsider in (BEN, "U0PRLEAD"):  # U0PRLEAD approves for pr, not support
        with pytest.raises(NotAllowed, match="Only an approver"):
            call(desk.approve, session, outsider, m)


def test_an_approver_may_edit_before_approving(session, card):
    m = pending(session, card)
    m = call(desk.approve, session, LEAD, m, edited_text="Sorry! Please DM us.")
    drafts = session.scalars(select(models.Draft).where(models.Draft.mention_id == m.id)
                             .order_by(models.Draft.id)).all()
    assert [(d.text, d.author, d.decision) for d in drafts] == [
        ("Sorry about that — DM us?", ANA, None), ("Sorry! Please DM us.", LEAD, "approved")]
    event = session.scalars(select(models.AuditEvent).where(
        models.AuditEvent.action == "approve")).one()
    assert event.detail == {"draft_id": drafts[1].id, "edited_from": drafts[0].id}


def test_reject_sends_the_draft_back_with_a_reason(session, card):
    m = pending(session, card)
    with pytest.raises(NotAllowed, match="Say why"):
        call(desk.reject, session, LEAD, m, "  ")
    m = call(desk.reject, session, LEAD, m, "Too casual for a legal threat")
    assert m.status == "drafted"
    draft = session.scalars(select(models.Draft).where(models.Draft.mention_id == m.id)).one()
    assert (draft.decision, draft.decided_by, draft.reason) == (
        "rejected", LEAD, "Too casual for a legal threat")
    [_, msg] = outbox(session, m, "thread")  # the approval request, then the rejection
    assert (msg.channel, msg.payload) == ("C0SUPPORT1", {
        "type": "rejected", "draft_id": draft.id, "user": ANA,
        "reason": "Too casual for a legal threat"})
    assert audit(session, m)[-1] == (LEAD, "reject", "pending_approval", "drafted")
    with pytest.raises(NotAllowed, match="rejected"):  # same text again: edit it first
        call(desk.submit, session, ANA, m)
    m = call(desk.save_draft, session, ANA, m, "We're sorry — please DM us.")
    assert call(desk.submit, session, ANA, m).status == "pending_approval"


def test_editing_an_approved_draft_needs_approval_again(session, card):
    m = call(desk.approve, session, LEAD, pending(session, card))
    m = call(desk.save_draft, session, ANA, m, "One more thing…")
    assert m.status == "drafted"
    with pytest.raises(NotAllowed, match="needs approval"):
        desk.apply(session, mention_id=m.id, version=m.version, act=Act.SEND, actor=ANA,
                   rules=RULES, directory=DIRECTORY, now=NOW)


def test_an_approval_dm_stays_valid_while_its_draft_is_pending(session, card):
    m = pending(session, card)
    draft_id = session.scalar(select(func.max(models.Draft.id)))
    dm_ref = CardRef(m.id, m.version, draft_id=draft_id)  # DMs are never re-rendered
    m = call(desk.correct, session, ANA, m, "sentiment", "neutral")  # the card moved on
    m = desk.approve(Work(session, RULES, DIRECTORY, NOW), GLEAD, dm_ref)
    assert m.status == "approved"
    with pytest.raises(StaleCard):  # without the draft id, the card version rules
        desk.reject(Work(session, RULES, DIRECTORY, NOW), LEAD, CardRef(m.id, 1), "late")


def test_an_approval_dm_for_a_replaced_draft_is_stale(session, card):
    m = pending(session, card)
    first = session.scalar(select(func.max(models.Draft.id)))
    m = call(desk.reject, session, LEAD, m, "Rephrase")
    m = call(desk.save_draft, session, ANA, m, "Rephrased")
    m = call(desk.submit, session, ANA, m)
    with pytest.raises(StaleCard, match="replaced"):
        desk.approve(Work(session, RULES, DIRECTORY, NOW), GLEAD, CardRef(m.id, m.version, draft_id=first))


# --- closing ------------------------------------------------------------------------------

def sent(session, card, **kw):
    m = drafted(session, card, **kw)
    return desk.apply(session, mention_id=m.id, version=m.version, act=Act.SEND, actor=ANA,
                      rules=RULES, directory=DIRECTORY, now=NOW)


def test_tag_closes_a_sent_mention(session, card):
    m = sent(session, card)
    with pytest.raises(NotAllowed, match="Pick an outcome"):
        call(desk.tag, session, ANA, m, "delighted")
    with pytest.raises(NotAllowed):
        call(desk.tag, session, BEN, m, "resolved")
    m = call(desk.tag, session, ANA, m, "case_opened")
    assert (m.status, m.outcome, m.closed_at) == ("closed", "case_opened", NOW)
    assert m.author.last_outcome == "case_opened"
    tags = session.scalars(select(models.OutcomeTag.outcome)
                           .where(models.OutcomeTag.mention_id == m.id)).all()
    assert tags == ["case_opened"]
    assert audit(session, m)[-1] == (ANA, "tag", "sent", "closed")


def test_tag_needs_a_sent_reply(session, card):
    m = call(desk.claim, session, ANA, card())
    with pytest.raises(InvalidTransition):
        call(desk.tag, session, ANA, m, "resolved")


def test_dismiss_closes_with_no_action(session, card):
    m = call(desk.dismiss, session, BEN, card())  # unclaimed: anyone may
    assert (m.status, m.outcome, m.closed_at, m.author.last_outcome) == (
        "closed", "no_action", NOW, "no_action")
    assert audit(session, m) == [(BEN, "dismiss", "new", "closed")]
    other = call(desk.claim, session, ANA, card())
    with pytest.raises(NotAllowed, match="<@U0ANA> is working on this mention"):
        call(desk.dismiss, session, BEN, other)
    with pytest.raises(InvalidTransition):
        call(desk.claim, session, ANA, m)


def test_a_sent_mention_cannot_be_dismissed(session, card):
    with pytest.raises(InvalidTransition):
        call(desk.dismiss, session, ANA, sent(session, card))


def test_handled_elsewhere_for_posts_without_a_reply_channel(session, card):
    rss = call(desk.claim, session, ANA, card(network="rss", mentions_brand=False))
    m = call(desk.handled_elsewhere, session, ANA, rss)
    assert (m.status, m.outcome, m.first_response_at) == ("closed", "resolved", NOW)
    x_unmentioned = call(desk.claim, session, ANA, card(mentions_brand=False))
    m = call(desk.handled_elsewhere, session, ANA, x_unmentioned, outcome="lead")
    assert (m.status, m.outcome) == ("closed", "lead")
    repliable = call(desk.claim, session, ANA, card())
    with pytest.raises(NotAllowed, match="answered from here"):
        call(desk.handled_elsewhere, session, ANA, repliable)


# --- reassign and corrections ---------------------------------------------------------------

def test_reassign_hands_the_mention_to_another_team(session, card):
    m = call(desk.claim, session, ANA, card())
    old_ts = m.slack_ts
    with pytest.raises(NotAllowed, match="already with that team"):
        call(desk.reassign, session, ANA, m, "support")
    with pytest.raises(NotAllowed, match="Unknown team"):
        call(desk.reassign, session, ANA, m, "legal")
    m = call(desk.reassign, session, ANA, m, "pr")
    assert (m.status, m.team, m.claimed_by, m.claimed_at) == ("new", "pr", None, None)
    [fix] = session.scalars(select(models.Correction).where(
        models.Correction.mention_id == m.id)).all()
    assert (fix.field, fix.old_value, fix.new_value, fix.by) == ("team", "support", "pr", ANA)
    updates = [(o.channel, o.payload) for o in outbox(session, m, "update")]
    assert updates[-1] == ("C0SUPPORT1", {})  # the old card shows the reassignment
    [new_card] = outbox(session, m, "card")
    assert new_card.channel == "C0PRESS01"
    assert new_card.payload == {"reassigned_from": "C0SUPPORT1", "previous_ts": old_ts}
    assert audit(session, m)[-1] == (ANA, "reassign", "claimed", "new")


def test_reassign_before_the_card_is_posted_moves_the_queued_card(session, card):
    m = card(slack_channel=None, slack_ts=None)
    session.add(models.OutboxMessage(kind="card", channel="C0SUPPORT1", mention_id=m.id,
                                     priority="P2", payload={}, dedupe_key=f"card:{m.id}"))
    session.flush()
    m = call(desk.correct, session, ANA, m, "team", "sales")  # a team correction reassigns
    assert m.team == "sales"
    assert [(o.channel, o.dedupe_key) for o in outbox(session, m)] == [
        ("C0SALES01", f"card:{m.id}")]


def test_corrections_are_stored_and_audited(session, card):
    m = card(sentiment="negative", priority="P3", author_type="customer")
    m = call(desk.correct, session, ANA, m, "sentiment", "positive")
    m = call(desk.correct, session, ANA, m, "priority", "P1")
    m = call(desk.correct, session, BEN, m, "author_type", "press")
    assert (m.sentiment, m.priority, m.author_type, m.version) == ("positive", "P1", "press", 3)
    assert m.author.type_override == "press"
    fixes = [(c.field, c.old_value, c.new_value, c.by) for c in session.scalars(
        select(models.Correction).where(models.Correction.mention_id == m.id)
        .order_by(models.Correction.id))]
    assert fixes == [("sentiment", "negative", "positive", ANA), ("priority", "P3", "P1", ANA),
                     ("author_type", "customer", "press", BEN)]
    assert [a[1:] for a in audit(session, m)] == [("correct", "new", "new")] * 3
    assert [o.priority for o in outbox(session, m, "update")] == ["P3", "P1", "P1"]


def test_the_complaint_flag_is_corrected_beside_a_field_or_alone(session, card):
    m = card(sentiment="neutral", priority="P4", complaint=False)
    # The modal's first select left as it was (P4): only the flag changes.
    m = call(desk.correct, session, ANA, m, "priority", "P4", complaint="complaint")
    assert (m.complaint, m.priority, m.version) == (True, "P4", 1)
    # Both at once: one version, two corrections.
    m = call(desk.correct, session, BEN, m, "sentiment", "negative", complaint="not_complaint")
    assert (m.complaint, m.sentiment, m.version) == (False, "negative", 2)
    fixes = [(c.field, c.old_value, c.new_value, c.by) for c in session.scalars(
        select(models.Correction).where(models.Correction.mention_id == m.id)
        .order_by(models.Correction.id))]
    assert fixes == [("complaint", "not_complaint", "complaint", ANA),
                     ("sentiment", "neutral", "negative", BEN),
                     ("complaint", "complaint", "not_complaint", BEN)]
    assert [a[1:] for a in audit(session, m)] == [("correct", "new", "new")] * 3
    with pytest.raises(NotAllowed, match="already P4 and the complaint is already not complaint"):
        call(desk.correct, session, ANA, m, "priority", "P4", complaint="not_complaint")


def test_no_correction_rescores_the_priority_staff_set_it_in_the_same_modal(session, card):
    """A sentiment correction and a complaint correction are handled alike: stored and audited
    for tuning, shown on the card, and neither re-scores the mention. The score and its named
    parts stay what scoring said (the card explains them); the priority moves only when staff
    choose it, in the modal's first select, with its own SLA (as in the test above)."""
    parts = {"negativity": 0.0, "likely_complaint": 0.0, "reach": 3.0}
    m = card(sentiment="neutral", priority="P4", score=12.0, score_parts=parts, complaint=False)
    m = call(desk.correct, session, ANA, m, "sentiment", "negative")
    m = call(desk.correct, session, ANA, m, "priority", "P4", complaint="complaint")
    assert (m.sentiment, m.complaint, m.version) == ("negative", True, 2)
    assert (m.priority, m.score, m.score_parts) == ("P4", 12.0, parts)
    assert [o.priority for o in outbox(session, m, "update")] == ["P4", "P4"]
    m = call(desk.correct, session, BEN, m, "priority", "P2")  # staff raise it themselves
    assert (m.priority, m.score, m.complaint) == ("P2", 12.0, True)


def test_forged_complaint_values_are_refused(session, card):
    m = card(complaint=False)
    for forged in ("unchanged", "yes", "true", "complaint'; --"):
        with pytest.raises(NotAllowed, match="is not a complaint"):
            call(desk.correct, session, ANA, m, "priority", "P1", complaint=forged)
    assert session.scalar(select(func.count()).select_from(models.Correction)) == 0
    assert session.get(models.Mention, m.id).priority == "P2"


def test_bad_corrections_are_refused(session, card):
    m = card(sentiment="negative")
    with pytest.raises(NotAllowed, match="not a sentiment"):
        call(desk.correct, session, ANA, m, "sentiment", "furious")
    with pytest.raises(NotAllowed, match="already negative"):
        call(desk.correct, session, ANA, m, "sentiment", "negative")
    with pytest.raises(InvalidTransition):
        call(desk.correct, session, ANA, m, "score", "99")
    stale = ref(m)
    call(desk.claim, session, ANA, m)
    with pytest.raises(StaleCard, match="<@U0ANA> claimed it"):
        desk.correct(Work(session, RULES, DIRECTORY, NOW), BEN, stale, "sentiment", "neutral")
    assert session.scalar(select(func.count()).select_from(models.Correction)) == 0


# --- stale cards and missing mentions -----------------------------------------------------

def test_a_stale_card_is_refused_not_applied(session, card):
    m = card()
    stale = ref(m)
    m = call(desk.claim, session, ANA, m)
    m = call(desk.save_draft, session, ANA, m, "Hello")
    with pytest.raises(StaleCard) as err:
        desk.unclaim(Work(session, RULES, DIRECTORY, NOW), ANA, CardRef(m.id, 1))
    assert "<@U0ANA> drafted a reply" in err.value.message and "refreshed" in err.value.message
    with pytest.raises(ConcurrentChange, match="Already claimed by you"):
        desk.claim(Work(session, RULES, DIRECTORY, NOW), ANA, stale)
    got = session.get(models.Mention, m.id)
    assert (got.status, got.version) == ("drafted", 2)
    assert len(audit(session, m)) == 2


def test_unknown_mention(session):
    with pytest.raises(NotFound):
        desk.claim(Work(session, RULES, DIRECTORY, NOW), ANA, CardRef(999_999, 0))


# --- the claim race -----------------------------------------------------------------------

CLICKS = 20


def test_claim_race_has_exactly_one_winner(migrated_url, session, card):
    m = card()
    session.commit()
    engine = make_engine(migrated_url, pool_size=CLICKS, max_overflow=0)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(CLICKS, timeout=30)

    def click(i: int) -> str | ConcurrentChange:
        user = f"U0AGENT{i:02d}"
        try:
            with session_scope(factory) as s:
                s.connection()  # everyone holds a connection before the clicks start
                barrier.wait()
                desk.claim(Work(s, RULES, DIRECTORY, NOW), user, CardRef(m.id, 0))
            return user
        except ConcurrentChange as exc:
            return exc

    try:
        with ThreadPoolExecutor(CLICKS) as pool:
            results = list(pool.map(click, range(CLICKS)))
    finally:
        engine.dispose()

    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, ConcurrentChange)]
    assert len(winners) == 1 and len(losers) == CLICKS - 1
    assert {e.message for e in losers} == {f"Already claimed by <@{winners[0]}>."}
    session.expire_all()
    got = session.get(models.Mention, m.id)
    assert (got.status, got.version, got.claimed_by) == ("claimed", 1, winners[0])
    assert audit(session, m) == [(winners[0], "claim", "new", "claimed")]
    assert len(outbox(session, m, "update")) == 1


# --- the card's plain values ----------------------------------------------------------------

def test_card_view_assembles_what_the_card_shows(session, card, make_author):
    author = make_author(handle="hanna", name="Hanna", followers=12_000)
    older = card(author=author)
    older.outcome, older.status, older.closed_at = "lead", "closed", NOW - timedelta(days=2)
    card(author=author)  # a second earlier mention, still open
    m = card(author=author, approval_required=True, risk=["legal"], matched_rules=["legal threat"],
             score_parts={"sentiment": 20, "reach": 30.4}, sla_due_at=NOW - timedelta(minutes=5))
    card(author=author)  # a later one doesn't count
    m = pending(session, lambda **kw: m)
    view = desk.card_view(session, RULES, m.id, now=NOW)
    assert (view.mention_id, view.version, view.status) == (m.id, m.version, "pending_approval")
    assert (view.author_handle, view.author_name, view.followers) == ("hanna", "Hanna", 12_000)
    assert (view.earlier_mentions, view.last_outcome) == (2, "lead")
    assert (view.team, view.team_label, view.approvers) == (
        "support", "Customer support", ("U0LEAD", "S0LEADS"))
    assert view.outcomes == ("resolved", "lead", "case_opened", "no_action")
    assert view.claimed_by == ANA and view.approval_required
    assert (view.sla_due_at, view.overdue) == (NOW - timedelta(minutes=5), True)
    assert view.draft is not None and (view.draft.text, view.draft.author) == (
        "Sorry about that — DM us?", ANA)
    assert view.reply is None and view.outcome_tags == ()
    assert view.score_parts == {"sentiment": 20, "reach": 30}
    assert (view.risk, view.matched_rules) == (("legal",), ("legal threat",))
    assert view.can_reply and view.reply_blocked is None


def test_card_view_of_a_sent_and_tagged_mention(session, card):
    m = sent(session, card)
    draft = session.scalars(select(models.Draft).where(models.Draft.mention_id == m.id)).one()
    session.add(models.Reply(mention_id=m.id, draft_id=draft.id, network="x",
                             idempotency_key=f"draft:{draft.id}", state="sent", sent_by=ANA,
                             url="https://x.com/AcmeBank/status/1", sent_at=NOW))
    m = call(desk.tag, session, ANA, m, "resolved")
    view = desk.card_view(session, RULES, m.id, now=NOW + timedelta(days=3))
    assert view.reply is not None and (view.reply.state, view.reply.url, view.reply.sent_by) == (
        "sent", "https://x.com/AcmeBank/status/1", ANA)
    assert view.outcome_tags == ("resolved",) and view.status == "closed"
    assert not view.overdue


def test_card_view_says_when_a_reply_is_impossible(session, card):
    rss = desk.card_view(session, RULES, card(network="rss").id, now=NOW)
    assert not rss.can_reply and rss.reply_blocked is None
    x = desk.card_view(session, RULES, card(mentions_brand=False).id, now=NOW)
    assert x.can_reply and x.reply_blocked == (
        "X only allows replies to posts that mention @AcmeBank")
    gone = desk.card_view(session, RULES, card(team="legacy").id, now=NOW)
    assert (gone.team_label, gone.approvers) == ("legacy", ())


# --- approvers from Slack user groups -------------------------------------------------------

class FakeSlack:
    """`usergroups_users_list` answering from a script: a list of users, or an error code."""

    def __init__(self, answers: dict[str, object]):
        self.answers = answers
        self.calls: list[str] = []

    def usergroups_users_list(self, *, usergroup: str):
        self.calls.append(usergroup)
        answer = self.answers[usergroup]
        if isinstance(answer, str):
            raise SlackApiError(answer, SlackResponse(
                client=None, http_verb="GET", api_url="usergroups.users.list", req_args={},
                data={"ok": False, "error": answer}, headers={}, status_code=200))
        if isinstance(answer, Exception):
            raise answer
        return {"ok": True, "users": answer}


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


SUPPORT = RULES.teams["support"]  # approvers: U0LEAD, S0LEADS


def test_group_members_are_approvers_and_cached_for_ten_minutes():
    slack, clock = FakeSlack({"S0LEADS": ["U0GLEAD", "U0OTHER"]}), FakeClock()
    directory = Directory(slack, clock)
    assert directory.is_approver(SUPPORT, LEAD) and slack.calls == []  # listed: no call
    assert directory.is_approver(SUPPORT, GLEAD) and not directory.is_approver(SUPPORT, ANA)
    assert directory.approvers(SUPPORT) == {LEAD, GLEAD, "U0OTHER"}
    assert slack.calls == ["S0LEADS"]
    slack.answers["S0LEADS"] = ["U0OTHER"]
    clock.t += 599
    assert directory.is_approver(SUPPORT, GLEAD) and len(slack.calls) == 1
    clock.t += 2
    assert not directory.is_approver(SUPPORT, GLEAD) and len(slack.calls) == 2


def test_free_plans_fall_back_to_user_ids_and_log_once(caplog):
    slack, clock = FakeSlack({"S0LEADS": "plan_upgrade_required",
                              "S0PRLEADS": "plan_upgrade_required"}), FakeClock()
    directory = Directory(slack, clock)
    with caplog.at_level("WARNING", logger="bot.desk.directory"):
        assert directory.approvers(SUPPORT) == {LEAD}
        assert directory.approvers(RULES.teams["pr"]) == frozenset()
        clock.t += 601
        assert not directory.is_approver(SUPPORT, GLEAD)
    assert len(slack.calls) == 3  # no more than one call per group per TTL
    assert len(caplog.records) == 1 and "plan_upgrade_required" in caplog.records[0].getMessage()


def test_a_failing_lookup_keeps_the_last_members_seen(caplog):
    slack, clock = FakeSlack({"S0LEADS": ["U0GLEAD"]}), FakeClock()
    directory = Directory(slack, clock)
    assert directory.is_approver(SUPPORT, GLEAD)
    slack.answers["S0LEADS"] = "ratelimited"
    clock.t += 601
    with caplog.at_level("WARNING", logger="bot.desk.directory"):
        assert directory.is_approver(SUPPORT, GLEAD)
        clock.t += 30  # failures are not retried at once (Tier 2)
        assert directory.is_approver(SUPPORT, GLEAD) and len(slack.calls) == 2
        slack.answers["S0LEADS"] = ConnectionError("reset")
        clock.t += 31
        assert directory.is_approver(SUPPORT, GLEAD) and len(slack.calls) == 3
    assert len(caplog.records) == 2 and "ratelimited" in caplog.records[0].getMessage()


def test_the_desk_asks_the_slack_directory(session, card):
    slack = FakeSlack({"S0LEADS": ["U0GLEAD"]})
    directory = Directory(slack, FakeClock())
    m = pending(session, card)
    m = desk.approve(Work(session, RULES, directory, NOW), GLEAD, ref(m))
    assert m.status == "approved" and slack.calls == ["S0LEADS"]
