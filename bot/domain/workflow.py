"""The state machine of a mention (ARCHITECTURE.md, "The state machine"). PURE: no I/O.

`decide(status, act, facts, actor)` says where an action takes a mention, or raises the
domain error a user sees. `bot.desk.commands` asks it first, then writes the answer with one
compare-and-set UPDATE; this module never sees the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import InvalidTransition, NotAllowed, user_ref

MENTION_STATUSES = ("new", "claimed", "drafted", "pending_approval", "approved", "sent",
                    "closed")
# Work not yet sent: may be dismissed or reassigned. A sent mention only waits for its tag.
OPEN_STATUSES = ("new", "claimed", "drafted", "pending_approval", "approved")
LABELS = {"new": "new", "claimed": "claimed", "drafted": "drafted",
          "pending_approval": "awaiting approval", "approved": "approved", "sent": "sent",
          "closed": "closed"}


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


TRANSITIONS: dict[tuple[str, Act], str] = {
    ("new", Act.CLAIM): "claimed",
    ("claimed", Act.UNCLAIM): "new",
    ("claimed", Act.DRAFT): "drafted",
    ("drafted", Act.DRAFT): "drafted",  # redraft
    ("approved", Act.DRAFT): "drafted",  # an edited approved draft needs approval again
    ("drafted", Act.SUBMIT): "pending_approval",
    ("pending_approval", Act.APPROVE): "approved",
    ("pending_approval", Act.REJECT): "drafted",
    ("approved", Act.SEND): "sent",
    ("drafted", Act.SEND): "sent",  # only when approval is not required (guard)
    ("sent", Act.TAG): "closed",
    ("claimed", Act.HANDLED_ELSEWHERE): "closed",
    ("drafted", Act.HANDLED_ELSEWHERE): "closed",
    **{(s, Act.DISMISS): "closed" for s in OPEN_STATUSES},
    **{(s, Act.REASSIGN): "new" for s in OPEN_STATUSES},
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


def transition(status: str, act: Act) -> str | None:
    """The table alone, no guards: where `act` takes `status`, or None."""
    return TRANSITIONS.get((status, act))


def decide(status: str, act: Act, facts: Facts, actor: Actor) -> str:
    """The new status, or InvalidTransition (not from this status) / NotAllowed (not you)."""
    if status not in MENTION_STATUSES:
        raise InvalidTransition(f"Unknown status {status!r}.")
    new = transition(status, act)
    if new is None:
        raise InvalidTransition(f"Can't {VERBS[act]} now: this mention is {LABELS[status]}.")
    _guard(status, act, facts, actor)
    return new


def _guard(status: str, act: Act, facts: Facts, actor: Actor) -> None:
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
        if status == "drafted" and facts.approval_required:
            raise NotAllowed("This reply needs approval: submit it for approval first.")
    if act is Act.HANDLED_ELSEWHERE and facts.reply_channel:
        raise NotAllowed("This post can be answered from here: send a reply, or dismiss it.")


def _holder(claimed_by: str | None) -> str:
    return user_ref(claimed_by) if claimed_by else "the person who claimed it"
