"""The plain values a card shows: built from the database by `bot.desk.commands.card_view`, rendered by
the pure builders in `bot.slack.blocks`. Builders never query; this is everything they may know."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.workflow import MentionStatus


@dataclass(frozen=True, slots=True)
class DraftView:
    id: int
    text: str
    author: str  # Slack user id
    created_at: datetime
    decision: str | None = None  # None (pending or not submitted) | approved | rejected
    decided_by: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyView:
    state: str  # sending | sent | unknown | failed
    sent_by: str
    url: str | None = None
    sent_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PostView:
    """A post in a card's thread (bot.domain.conversation): a follow-up, context, or the
    brand answering outside socialbot."""

    network: str
    role: str  # follow_up | context | outside
    author_handle: str  # untrusted
    author_name: str | None  # untrusted
    text: str  # untrusted
    url: str | None
    created_at: datetime | None
    notify: str | None = None  # the claimer to tell (a follow-up to a held card)


@dataclass(frozen=True, slots=True)
class Conversation:
    """What a card shows of its conversation once the customer has written again."""

    follow_ups: int  # the customer's messages after the first
    replied_at: datetime  # the latest of them
    waiting_minutes: int | None  # how long they have waited for us; None: answered
    reply_to: PostView | None  # the post a reply answers (None: the mention itself)
    reopens: int = 0
    draft_stale: bool = False  # the draft was written before the customer's last message


@dataclass(frozen=True, slots=True)
class CardView:
    mention_id: int
    version: int
    status: MentionStatus
    network: str  # x | mastodon | bluesky | rss
    url: str | None
    text: str  # untrusted: builders escape it
    created_at: datetime | None
    ingested_at: datetime
    author_handle: str  # untrusted
    author_name: str | None  # untrusted
    author_type: str
    followers: int
    earlier_mentions: int  # by this author, before this one
    last_outcome: str | None  # of this author's previous handled mention
    sentiment: str
    compound: float
    priority: str
    score: int
    score_parts: dict[str, int]
    matched_rules: tuple[str, ...]
    risk: tuple[str, ...]
    approval_required: bool
    team: str
    team_label: str
    approvers: tuple[str, ...]  # user (U…) and user-group (S…) ids of the team
    outcomes: tuple[str, ...]  # the rules file's outcomes, for the select
    claimed_by: str | None = None
    sla_due_at: datetime | None = None
    overdue: bool = False
    draft: DraftView | None = None  # the latest draft
    reply: ReplyView | None = None
    outcome_tags: tuple[str, ...] = ()
    can_reply: bool = True  # False for RSS (no reply channel)
    reply_blocked: str | None = None  # why sending will be refused (X: post doesn't mention us)
    lang: str | None = None
    complaint: bool = False  # bot.domain.scoring.complaint's flag, and its probability
    complaint_probability: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)
    conversation: Conversation | None = None  # None: the customer has not written again
    priority_reason: str | None = None  # a follow-up raised the priority: why
