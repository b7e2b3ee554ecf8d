"""The state machine of a mention (ARCHITECTURE.md, "The state machine"). PURE: no I/O.

`decide(status, act, facts, actor)` says where an action takes a mention, or raises the
domain error a user sees. `bot.desk.commands` asks it first, then writes the answer with one
compare-and-set UPDATE; this module never sees the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import InvalidTransition, NotAllowed, user_ref


class MentionStatus(StrEnum):
    """Where a mention is on the desk. Stored as its value (`mention.status`, a string the
    database's CHECK constraint lists): a member equals its string, so either may be used."""

    NEW = "new"
    CLAIMED = "claimed"
    DRAFTED = "drafted"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SENT = "sent"
    CLOSED = "closed"


# The values as plain strings, in order: the CHECK constraint in bot.kit.models lists them.
MENTION_STATUSES: tuple[str, ...] = tuple(s.value for s in MentionStatus)
# Work not yet sent: may be dismissed or reassigned. A sent mention only waits for its tag.
OPEN_STATUSES = (MentionStatus.NEW, MentionStatus.CLAIMED, MentionStatus.DRAFTED,
                 MentionStatus.PENDING_APPROVAL, MentionStatus.APPROVED)
# How a status reads in a sentence ("this mention is awaiting approval").
LABELS = {**{s: s.value for s in MentionStatus},
          MentionStatus.PENDING_APPROVAL: "awaiting approval"}


class Act(StrEnum):
    CLAIM = "claim"
    UNCLAIM = "unclaim"
    DRAFT = "draft"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    SEND = "send"
    TAG = "tag"
    DISMISS = "dismiss"
    REASSIGN = "reassign"
    HANDLED_ELSEWHERE = "handled_elsewhere"


TRANSITIONS: dict[tuple[MentionStatus, Act], MentionStatus] = {
    (MentionStatus.NEW, Act.CLAIM): MentionStatus.CLAIMED,
    (MentionStatus.CLAIMED, Act.UNCLAIM): MentionStatus.NEW,
    (MentionStatus.CLAIMED, Act.DRAFT): MentionStatus.DRAFTED,
    (MentionStatus.DRAFTED, Act.DRAFT): MentionStatus.DRAFTED,  # redraft
    # An edited approved draft needs approval again.
    (MentionStatus.APPROVED, Act.DRAFT): MentionStatus.DRAFTED,
    (MentionStatus.DRAFTED, Act.SUBMIT): MentionStatus.PENDING_APPROVAL,
    (MentionStatus.PENDING_APPROVAL, Act.APPROVE): MentionStatus.APPROVED,
    (MentionStatus.PENDING_APPROVAL, Act.REJECT): MentionStatus.DRAFTED,
    (MentionStatus.APPROVED, Act.SEND): MentionStatus.SENT,
    # Only when approval is not required (guard).
    (MentionStatus.DRAFTED, Act.SEND): MentionStatus.SENT,
    (MentionStatus.SENT, Act.TAG): MentionStatus.CLOSED,
    (MentionStatus.CLAIMED, Act.HANDLED_ELSEWHERE): MentionStatus.CLOSED,
    (MentionStatus.DRAFTED, Act.HANDLED_ELSEWHERE): MentionStatus.CLOSED,
    **{(s, Act.DISMISS): MentionStatus.CLOSED for s in OPEN_STATUSES},
    **{(s, Act.REASSIGN): MentionStatus.NEW for s in OPEN_STATUSES},
}

# What `decide` says when a pair is not in the table, phrased for the person who clicked.
VERBS = {Act.CLAIM: "claim it", Act.UNCLAIM: "unclaim it", Act.DRAFT: "draft a reply",
         Act.SUBMIT: "submit a draft", Act.APPROVE: "approve the draft",
         Act.REJECT: "reject the draft", Act.SEND: "send the reply", Act.TAG: "tag an outcome",
         Act.DISMISS: "dismiss it", Act.REASSIGN: "reassign it",
         Act.HANDLED_ELSEWHERE: "mark it as handled elsewhere"}


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: str
    is_approver: bool = False  # of the mention's team, resolved by bot.desk.directory


@dataclass(frozen=True, slots=True)
class Facts:
    """What the guards need to know about the mention besides its status."""

    claimed_by: str | None = None
    approval_required: bool = False
    drafter: str | None = None  # author of the latest draft (the one submitted/approved)
    draft_rejected: bool = False  # the latest draft was rejected and not edited since
    reply_channel: bool = True  # False: RSS, or an X post that doesn't mention the brand


def transition(status: str, act: Act) -> MentionStatus | None:
    """The table alone, no guards: where `act` takes `status`, or None."""
    if status not in MENTION_STATUSES:
        return None
    return TRANSITIONS.get((MentionStatus(status), act))


def decide(status: str, act: Act, facts: Facts, actor: Actor) -> MentionStatus:
    """The new status, or InvalidTransition (not from this status) / NotAllowed (not you).
    `status` may be a `MentionStatus` or its string."""
    if status not in MENTION_STATUSES:
        raise InvalidTransition(f"Unknown status {status!r}.")
    current = MentionStatus(status)
    new = transition(current, act)
    if new is None:
        raise InvalidTransition(f"Can't {VERBS[act]} now: this mention is {LABELS[current]}.")
    _guard(current, act, facts, actor)
    return new


def _guard(status: MentionStatus, act: Act, facts: Facts, actor: Actor) -> None:
    holder = facts.claimed_by
    mine = holder is not None and holder == actor.user_id
    holder_only = (Act.UNCLAIM, Act.DRAFT, Act.SUBMIT, Act.SEND, Act.TAG, Act.HANDLED_ELSEWHERE)
    if act in holder_only and not (mine or actor.is_approver):
        raise NotAllowed(f"Only {_holder(holder)} or an approver of this team may "
                         f"{VERBS[act]}.")
    if act in (Act.DISMISS, Act.REASSIGN) and holder and not (mine or actor.is_approver):
        raise NotAllowed(f"{user_ref(holder)} is working on this mention: only they or an "
                         f"approver of this team may {VERBS[act]}.")
    if act in (Act.APPROVE, Act.REJECT):
        if not actor.is_approver:
            raise NotAllowed(f"Only an approver of this team may {VERBS[act]}.")
        if facts.drafter is not None and facts.drafter == actor.user_id:
            raise NotAllowed(f"You wrote this draft, so you can't {act.value} it: "
                             "another approver has to.")
    if act in (Act.SUBMIT, Act.SEND) and facts.draft_rejected:
        raise NotAllowed("This draft was rejected: edit it before you submit or send it.")
    if act is Act.SEND:
        if not facts.reply_channel:
            raise NotAllowed("There is no way to reply to this post from here: mark it as "
                             "handled elsewhere instead.")
        if status is MentionStatus.DRAFTED and facts.approval_required:
            raise NotAllowed("This reply needs approval: submit it for approval first.")
    if act is Act.HANDLED_ELSEWHERE and facts.reply_channel:
        raise NotAllowed("This post can be answered from here: send a reply, or dismiss it.")


def _holder(claimed_by: str | None) -> str:
    return user_ref(claimed_by) if claimed_by else "the person who claimed it"
