"""Ids shared by the Block Kit builders (bot.slack.blocks) and the listeners (handlers/), and the
typed value every card button carries.

One enum per Slack id space, so a typo is an AttributeError, not a button that does nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum


class Command(StrEnum):
    SOCIAL = "/social"


class SocialSubcommand(StrEnum):
    HELP = "help"
    REPORT = "report"
    STATUS = "status"
    EXPORT = "export"


class Action(StrEnum):
    """`action_id`s of the interactive elements on cards and in threads."""

    CLAIM = "claim"
    UNCLAIM = "unclaim"
    DRAFT = "draft"  # opens the reply modal
    SUBMIT = "submit"  # submit the current draft for approval
    APPROVE = "approve"
    APPROVE_EDIT = "approve_edit"  # approver edits, then approves (modal)
    REJECT = "reject"  # opens the reason modal
    SEND = "send"
    OUTCOME = "outcome"  # static_select of the rules file's outcomes
    HANDLED_ELSEWHERE = "handled_elsewhere"  # no reply channel (RSS)
    LIKE = "like"
    REPOST = "repost"
    MORE = "more"  # the overflow menu; its option values are `Overflow`
    OPEN_CRISIS = "open_crisis"  # on a spike alert: start the crisis thread (`AlertRef`)


class Overflow(StrEnum):
    REASSIGN = "reassign"
    PRIORITY = "priority"
    SENTIMENT = "sentiment"
    AUTHOR_TYPE = "author_type"
    DISMISS = "dismiss"
    HIDE = "hide"  # a comment on the brand's Facebook Page or Instagram media
    UNHIDE = "unhide"


class View(StrEnum):
    """`callback_id`s of modals."""

    DRAFT = "draft_modal"
    REJECT = "reject_modal"
    APPROVE_EDIT = "approve_edit_modal"
    REASSIGN = "reassign_modal"
    CORRECT = "correct_modal"


class Block(StrEnum):
    """`block_id`s of modal inputs (the `action_id` inside is the same string)."""

    DRAFT_TEXT = "draft_text"
    TEMPLATE = "template"
    REASON = "reason"
    TEAM = "team"
    VALUE = "value"  # the corrected value in the correction modal
    COMPLAINT = "complaint"  # the correction modal's second select (`ComplaintChoice`)


class ComplaintChoice(StrEnum):
    """The correction modal's complaint select. The overflow menu is at Slack's 5-option limit,
    so the complaint flag is corrected beside whatever the modal corrects; `unchanged` (the
    initial option) leaves it as it is."""

    COMPLAINT = "complaint"
    NOT_COMPLAINT = "not_complaint"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class CardRef:
    """What a button or a modal's `private_metadata` carries: which mention, as of which
    version of the card the user saw (a stale click is refused, not applied to a newer state),
    and for option-carrying elements the chosen value."""

    mention_id: int
    version: int
    draft_id: int | None = None
    option: str | None = None  # overflow choice, correction field, …

    def encode(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> CardRef:
        """Parse a value from Slack; anything malformed raises ValueError (never KeyError)."""
        try:
            data = json.loads(raw)
            ref = cls(mention_id=int(data["mention_id"]), version=int(data["version"]),
                      draft_id=int(data["draft_id"]) if data.get("draft_id") is not None else None,
                      option=str(data["option"]) if data.get("option") is not None else None)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed card reference {raw[:80]!r}") from exc
        return ref


@dataclass(frozen=True, slots=True)
class AlertRef:
    """What a button on a crisis alert carries: the alert's id."""

    alert_id: int

    def encode(self) -> str:
        return json.dumps({"alert_id": self.alert_id}, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str) -> AlertRef:
        try:
            return cls(alert_id=int(json.loads(raw)["alert_id"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"malformed alert reference {raw[:80]!r}") from exc
