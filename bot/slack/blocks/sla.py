"""SLA messages in a card's thread: the 75 % reminder and the escalation at breach. PURE.

Who is pinged follows who can move the mention: its holder while it is being worked on, the
team's approvers while it awaits approval, and nobody by name while it is unclaimed: then the
reminder is also shown in the channel (`reply_broadcast`), so the team sees it without an
`@channel`. The escalation always names the team's approvers.
"""

from __future__ import annotations

from bot.domain.card import CardView
from bot.slack.blocks.card import PRIORITY_EMOJI, button, handle, network_label, ref
from bot.slack.blocks.text import context, esc, mention, mentions, section, slack_date
from bot.slack.ids import Action

WAITING_ON_APPROVAL = "pending_approval"


def _what(view: CardView) -> str:
    return (f"{PRIORITY_EMOJI.get(view.priority, '')} *{esc(view.priority, 8)}* mention from "
            f"{handle(view)} on {network_label(view)}")


def _due(view: CardView) -> str:
    return slack_date(view.sla_due_at) if view.sla_due_at else "soon"


def sla_reminder(view: CardView) -> dict:
    """`text`, `blocks` (and `reply_broadcast` when nobody holds the mention)."""
    if view.status == WAITING_ON_APPROVAL:
        who = mentions(list(view.approvers), empty="Approvers")
        head = (f":hourglass_flowing_sand: {who}: the reply to this {_what(view)} is waiting "
                f"for approval and is due {_due(view)}.")
        extra: dict = {}
        actions: list[dict] = []
    elif view.claimed_by:
        head = (f":hourglass_flowing_sand: {mention(view.claimed_by)}, a reminder: the reply "
                f"to this {_what(view)} is due {_due(view)}.")
        extra, actions = {}, []
    else:
        head = (f":hourglass_flowing_sand: Nobody has claimed this {_what(view)} yet; the "
                f"reply is due {_due(view)}.")
        extra = {"reply_broadcast": True}
        actions = [{"type": "actions",
                    "elements": [button("Claim", Action.CLAIM, ref(view), "primary")]}]
    blocks = [section(head), context(f"75% of the {esc(view.team_label, 100)} SLA has run"),
              *actions]
    return {"text": f"SLA reminder: the reply is due {_due(view)}", "blocks": blocks, **extra}


def sla_breach(view: CardView) -> dict:
    """The escalation: the approvers are named, with who holds the mention (if anyone)."""
    who = mentions(list(view.approvers), empty="No approver is set for this team")
    holder = (f"Claimed by {mention(view.claimed_by)}." if view.claimed_by
              else "Nobody has claimed it.")
    head = (f":rotating_light: {who}: *overdue* — the reply to this {_what(view)} was due "
            f"{_due(view)}. {holder}")
    blocks = [section(head), context(f"{esc(view.team_label, 100)} SLA breached · escalated "
                                     "to the team's approvers")]
    return {"text": f"Overdue: the reply was due {_due(view)}", "blocks": blocks}
