"""The pure state machine: every (status, action) pair, then every guard."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.errors import (
    ConcurrentChange,
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    PolicyViolation,
    StaleCard,
    user_ref,
)
from bot.domain.workflow import MENTION_STATUSES, Act, Actor, Facts, decide
from bot.kit import models

# Written out by hand from ARCHITECTURE.md, not derived from bot.domain.workflow.TRANSITIONS: a
# pair added to or dropped from the table by mistake fails here.
EXPECTED: dict[str, dict[str, str]] = {
    "new": {"claim": "claimed", "dismiss": "closed", "reassign": "new"},
    "claimed": {"unclaim": "new", "draft": "drafted", "dismiss": "closed", "reassign": "new",
                "handled_elsewhere": "closed"},
    "drafted": {"draft": "drafted", "submit": "pending_approval", "send": "sent",
                "dismiss": "closed", "reassign": "new", "handled_elsewhere": "closed"},
    "pending_approval": {"approve": "approved", "reject": "drafted", "dismiss": "closed",
                         "reassign": "new"},
    "approved": {"send": "sent", "draft": "drafted", "dismiss": "closed", "reassign": "new"},
    "sent": {"tag": "closed"},
    "closed": {},
}

ANA, BEN, CY = "U0ANA", "U0BEN", "U0CY"  # ANA claimed and approves; BEN drafted; CY is anyone
PAIRS = list(itertools.product(MENTION_STATUSES, Act))


def permissive(act: Act) -> Facts:
    """Facts under which every guard passes for ANA, so only the table can refuse."""
    return Facts(claimed_by=ANA, approval_required=False, drafter=BEN,
                 reply_channel=act is not Act.HANDLED_ELSEWHERE)


def test_the_expected_table_covers_every_status():
    assert set(EXPECTED) == set(MENTION_STATUSES)
    assert MENTION_STATUSES == ("new", "claimed", "drafted", "pending_approval", "approved",
                                "sent", "closed")


def test_models_enforce_the_workflow_statuses():
    assert models.MENTION_STATUSES is MENTION_STATUSES


@pytest.mark.parametrize(("status", "act"), PAIRS, ids=[f"{s}-{a.value}" for s, a in PAIRS])
def test_every_status_action_pair(status: str, act: Act):
    expected = EXPECTED[status].get(act.value)
    actor = Actor(ANA, is_approver=True)
    if expected is None:
        with pytest.raises(InvalidTransition) as err:
            decide(status, act, permissive(act), actor)
        assert "Can't" in err.value.message
    else:
        assert decide(status, act, permissive(act), actor) == expected


def test_an_unknown_status_is_refused():
    with pytest.raises(InvalidTransition):
        decide("archived", Act.CLAIM, Facts(), Actor(CY))


# --- guards ------------------------------------------------------------------------------

def test_anyone_may_claim_a_new_mention():
    assert decide("new", Act.CLAIM, Facts(), Actor(CY)) == "claimed"


HOLDER_ONLY = [("claimed", Act.UNCLAIM), ("claimed", Act.DRAFT), ("drafted", Act.DRAFT),
               ("approved", Act.DRAFT), ("drafted", Act.SUBMIT), ("drafted", Act.SEND),
               ("approved", Act.SEND), ("sent", Act.TAG), ("claimed", Act.HANDLED_ELSEWHERE),
               ("drafted", Act.HANDLED_ELSEWHERE)]


@pytest.mark.parametrize(("status", "act"), HOLDER_ONLY)
def test_only_the_claimer_or_an_approver(status: str, act: Act):
    facts = Facts(claimed_by=BEN, drafter=BEN, reply_channel=act is not Act.HANDLED_ELSEWHERE)
    with pytest.raises(NotAllowed) as err:
        decide(status, act, facts, Actor(CY))
    assert "<@U0BEN>" in err.value.message  # names who holds it
    assert decide(status, act, facts, Actor(BEN)) == EXPECTED[status][act.value]
    assert decide(status, act, facts, Actor(ANA, is_approver=True)) == EXPECTED[status][act.value]


@pytest.mark.parametrize("act", [Act.APPROVE, Act.REJECT])
def test_approve_and_reject_need_an_approver_who_is_not_the_drafter(act: Act):
    facts = Facts(claimed_by=BEN, drafter=BEN, approval_required=True)
    expected = EXPECTED["pending_approval"][act.value]
    with pytest.raises(NotAllowed, match="approver"):
        decide("pending_approval", act, facts, Actor(CY))
    with pytest.raises(NotAllowed, match="approver"):  # claiming it doesn't make you one
        decide("pending_approval", act, facts, Actor(BEN))
    with pytest.raises(NotAllowed, match="You wrote this draft"):
        decide("pending_approval", act, facts, Actor(BEN, is_approver=True))
    assert decide("pending_approval", act, facts, Actor(ANA, is_approver=True)) == expected


def test_an_approver_who_claimed_but_did_not_draft_may_approve():
    facts = Facts(claimed_by=ANA, drafter=BEN, approval_required=True)
    assert decide("pending_approval", Act.APPROVE, facts, Actor(ANA, True)) == "approved"


def test_send_from_drafted_only_when_approval_is_not_required():
    required = Facts(claimed_by=ANA, drafter=ANA, approval_required=True)
    with pytest.raises(NotAllowed, match="needs approval"):
        decide("drafted", Act.SEND, required, Actor(ANA))
    with pytest.raises(NotAllowed, match="needs approval"):  # not even an approver skips it
        decide("drafted", Act.SEND, required, Actor(ANA, is_approver=True))
    assert decide("approved", Act.SEND, required, Actor(ANA)) == "sent"
    assert decide("drafted", Act.SEND, Facts(claimed_by=ANA, drafter=ANA), Actor(ANA)) == "sent"


@pytest.mark.parametrize("act", [Act.SUBMIT, Act.SEND])
def test_a_rejected_draft_must_be_edited_first(act: Act):
    facts = Facts(claimed_by=ANA, drafter=ANA, draft_rejected=True)
    with pytest.raises(NotAllowed, match="rejected"):
        decide("drafted", act, facts, Actor(ANA))


def test_send_needs_a_reply_channel_and_handled_elsewhere_needs_its_absence():
    none = Facts(claimed_by=ANA, drafter=ANA, reply_channel=False)
    with pytest.raises(NotAllowed, match="handled elsewhere"):
        decide("drafted", Act.SEND, none, Actor(ANA))
    assert decide("drafted", Act.HANDLED_ELSEWHERE, none, Actor(ANA)) == "closed"
    some = Facts(claimed_by=ANA, drafter=ANA, reply_channel=True)
    with pytest.raises(NotAllowed, match="answered from here"):
        decide("claimed", Act.HANDLED_ELSEWHERE, some, Actor(ANA))


@pytest.mark.parametrize("act", [Act.DISMISS, Act.REASSIGN])
def test_dismiss_and_reassign_respect_the_claimer(act: Act):
    expected = EXPECTED["new"][act.value]
    assert decide("new", act, Facts(), Actor(CY)) == expected  # unclaimed: anyone
    held = Facts(claimed_by=BEN)
    with pytest.raises(NotAllowed, match="<@U0BEN> is working on this mention"):
        decide("claimed", act, held, Actor(CY))
    assert decide("claimed", act, held, Actor(BEN)) == EXPECTED["claimed"][act.value]
    assert decide("claimed", act, held, Actor(ANA, True)) == EXPECTED["claimed"][act.value]


def test_tag_by_claimer_or_approver():
    facts = Facts(claimed_by=BEN, drafter=BEN)
    with pytest.raises(NotAllowed):
        decide("sent", Act.TAG, facts, Actor(CY))
    assert decide("sent", Act.TAG, facts, Actor(BEN)) == "closed"
    assert decide("sent", Act.TAG, facts, Actor(ANA, is_approver=True)) == "closed"


def test_guard_messages_never_link_anything_but_user_ids():
    facts = Facts(claimed_by="<!channel>")  # cannot happen; must still stay inert
    with pytest.raises(NotAllowed) as err:
        decide("claimed", Act.UNCLAIM, facts, Actor(CY))
    assert "<" not in err.value.message


# --- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    ("U0ANA", "<@U0ANA>"), ("W0ENTERPRISE", "<@W0ENTERPRISE>"), ("system", "the bot"),
    (None, "someone"), ("<!channel>", "someone"), ("U0ANA> <!here", "someone"),
    ("S0GROUP", "someone"), ("u0lower", "someone")])
def test_user_ref_links_only_well_formed_user_ids(value, shown):
    assert user_ref(value) == shown


@pytest.mark.parametrize("cls", [ConcurrentChange, NotAllowed, InvalidTransition, StaleCard,
                                 NotFound, PolicyViolation])
def test_every_domain_error_has_a_message(cls):
    err = cls()
    assert isinstance(err, DomainError) and err.message and str(err) == err.message
    assert cls("Already claimed by <@U0ANA>.").message == "Already claimed by <@U0ANA>."


def test_stale_card_says_it_was_refreshed():
    assert "refreshed" in StaleCard().message
