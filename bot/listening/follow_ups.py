"""Posts that join a card's conversation: stored in its thread, never as a card of their own.

In the fetch's transaction (`bot.listening.ingest`): each post becomes a `thread_post` row and
one `thread` outbox row (`post:<id>`, so it is posted once whatever replays the fetch), and
the card's mention changes once per fetch with one compare-and-set UPDATE:

- a follow-up counts, becomes the post a reply answers by default, restarts the SLA clock
  (counted from now, as for a new mention), reopens a sent or closed card (its outcome kept
  in the audit log, claimer and team kept) and raises the priority when it scores more
  urgent (never lowers it, and says why);
- the brand answering outside socialbot after the customer's last message stops the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.domain import sla
from bot.domain.conversation import (
    FOLDED_KIND,
    POST_KIND,
    Placed,
    Role,
    raises,
    reopen_status,
    reopened,
)
from bot.domain.mention import Mention
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules
from bot.domain.scoring.enrich import enrich
from bot.domain.scoring.routing import route
from bot.domain.workflow import MentionStatus
from bot.kit import bulk, models
from bot.kit.db import rowcount
from bot.listening.keys import normalise_handle
from bot.listening.placing import card_of

_POSTS = models.table_of(models.ThreadPost)
# Thread messages one fetch may post per card; the rest are folded into one (Slack's ~1
# message per second per channel is shared with every other card of the channel).
THREAD_POSTS_MAX = 20
CAS_TRIES = 5
# session.info key of the App Homes a transaction concerns: `bot.desk.commands.HOME`, spelled
# out here because listening may not import the desk (tests check the two agree).
HOME_NOTE = "desk.home"  # a click committing between our read and write moves the version: read again


@dataclass(frozen=True, slots=True)
class ThreadItem:
    """A post just stored in a card's thread, as what it does to the card needs it."""

    id: int
    role: Role
    at: datetime  # when it was posted (or fetched, when the network doesn't say)
    priority: str
    why: str  # what made it that urgent, for the card's "priority raised" line
    replyable: bool  # the network lets the brand reply to it programmatically
    risk: tuple[str, ...] = ()  # the risks routing found in it (legal, regulatory…)
    approval: bool = False  # routing would require approval of a reply to it


def store(session: Session, posts: list[tuple[Mention, Placed]], cards: Mapping[int, int],
          rules: Rules, *, now: datetime) -> None:
    """Store `posts` in their cards' threads; `cards`: fetch index → id of a card this fetch
    created (a post may answer a card of the same fetch)."""
    if not posts:
        return
    rows: list[dict[str, Any]] = []
    scored: list[tuple[str, str, bool, tuple[str, ...], bool]] = []
    for m, p in posts:
        e = enrich(m, rules, now=now)
        decision = route(m, e, rules)
        scored.append((decision.priority, ", ".join(decision.matched_rules or decision.risk)
                       or e.sentiment, m.network != "x" or m.mentions_brand,
                       tuple(decision.risk), decision.approval_required))
        rows.append({
            "mention_id": card_of(p, cards), "network": m.network,
            "external_id": m.external_id, "role": p.role.value,
            "author_handle": normalise_handle(m.author.handle), "author_name": m.author.name,
            "text": m.text, "url": m.url, "created_at": m.created_at, "ingested_at": now,
            "in_reply_to_id": m.in_reply_to_id, "priority": decision.priority,
            "sentiment": e.sentiment, "extra": dict(m.extra)})
    ids = bulk.insert_ids(session, _POSTS, rows, key=("network", "external_id"))
    by_card: dict[int, list[ThreadItem]] = {}
    for post_id, row, (priority, why, replyable, risk, approval) in zip(ids, rows, scored,
                                                                       strict=True):
        by_card.setdefault(row["mention_id"], []).append(ThreadItem(
            post_id, Role(row["role"]), row["created_at"] or now, priority, why, replyable,
            risk, approval))
    for card_id, card_posts in by_card.items():
        _update_card(session, card_id, card_posts, rules, now)


def _update_card(session: Session, card_id: int, posts: list[ThreadItem], rules: Rules,
                 now: datetime) -> None:
    M = models.Mention
    for _ in range(CAS_TRIES):
        m = session.scalars(select(M).where(M.id == card_id)
                            .execution_options(populate_existing=True)).one()
        values, events = _changes(m, posts, rules, now)
        won = rowcount(session.execute(
            update(M).where(M.id == card_id, M.version == m.version)
            .values(version=M.version + 1, **values)
            .execution_options(synchronize_session=False)))
        if won:
            break
    else:  # unreachable unless clicks land faster than we can read: let the poll retry
        raise RuntimeError(f"mention {card_id} kept changing while its follow-ups were stored")
    if values.get("status") is not None and m.outcome_tags:
        # Removed so the reopened case can be tagged again; the audit event keeps them.
        session.execute(delete(models.OutcomeTag).where(models.OutcomeTag.mention_id == m.id))
    if events or values.get("follow_ups"):
        # The claimer's App Home lists the card again (reopened, waiting): note it for the
        # refresher as the desk's commands do (bot.home.refresh reads it after the commit).
        note = session.info.setdefault(HOME_NOTE, {"users": set(), "teams": set()})
        note["users"].update(u for u in (m.claimed_by,) if u)
        note["teams"].add(m.team)
    for action, before, after, detail in events:
        session.add(models.AuditEvent(mention_id=m.id, at=now, actor="system", action=action,
                                      from_status=before, to_status=after, detail=detail))
    # The sender posts a thread row into the card's own channel; this is only its label.
    team = rules.teams.get(m.team)
    channel = m.slack_channel or (team.channel if team else "")
    priority = values.get("priority", m.priority)
    shown, folded = fold(posts)
    if folded:
        session.add(models.OutboxMessage(
            kind=OutboxKind.THREAD, channel=channel, mention_id=m.id, priority=priority,
            payload={"type": FOLDED_KIND, "post_ids": [p.id for p in folded]},
            not_before=now, created_at=now, dedupe_key=f"posts:{folded[0].id}:{len(folded)}"))
    notify = m.claimed_by
    for post in shown:
        # The claimer is told once per fetch, at the customer's latest message.
        tell = notify if post.role is Role.FOLLOW_UP and post is _last_follow_up(shown) else None
        session.add(models.OutboxMessage(
            kind=OutboxKind.THREAD, channel=channel, mention_id=m.id, priority=priority,
            payload={"type": POST_KIND, "post_id": post.id, "notify": tell},
            not_before=now, created_at=now, dedupe_key=f"post:{post.id}"))
    _queue_card_update(session, m, priority, now)
    _tell_approvers(session, m, posts, priority, now)
    session.flush()


def fold(posts: list[ThreadItem]) -> tuple[list[ThreadItem], list[ThreadItem]]:
    """(posted one by one, folded into one message), both oldest first. A busy thread (a
    viral post's 500 replies) must not flood the channel: at most THREAD_POSTS_MAX messages
    per card per fetch, the customer's and the brand's own messages kept before context."""
    ordered = sorted(posts, key=lambda p: (p.at, p.id))
    if len(ordered) <= THREAD_POSTS_MAX:
        return ordered, []
    room = THREAD_POSTS_MAX - 1  # one message says what was folded
    key = [p for p in ordered if p.role is not Role.CONTEXT][-room:]
    rest = [p for p in ordered if p.role is Role.CONTEXT][-(room - len(key)):] \
        if room > len(key) else []
    kept = {p.id for p in key} | {p.id for p in rest}
    return ([p for p in ordered if p.id in kept], [p for p in ordered if p.id not in kept])


def _last_follow_up(posts: list[ThreadItem]) -> ThreadItem | None:
    follow = [p for p in posts if p.role is Role.FOLLOW_UP]
    return follow[-1] if follow else None


def _changes(m: models.Mention, posts: list[ThreadItem], rules: Rules, now: datetime
             ) -> tuple[dict[str, Any], list[tuple[str, str, str, dict[str, Any]]]]:
    """The card's new column values, and the audit events (action, from, to, detail)."""
    values: dict[str, Any] = {}
    events: list[tuple[str, str, str, dict[str, Any]]] = []
    follow = [p for p in posts if p.role is Role.FOLLOW_UP]
    outside = [p for p in posts if p.role is Role.OUTSIDE]
    last_follow = max(follow, key=lambda p: (p.at, p.id)) if follow else None
    last_outside = max(outside, key=lambda p: (p.at, p.id)) if outside else None
    known = m.customer_replied_at or datetime.min.replace(tzinfo=UTC)
    if last_follow is not None:
        values["follow_ups"] = m.follow_ups + len(follow)
        if last_follow.at >= known:  # an older follow-up, fetched late, is not the latest
            values["customer_replied_at"] = last_follow.at
            # The post a reply answers: the newest the network lets us answer (X refuses a
            # programmatic reply to a post that doesn't mention the brand: then the one before).
            target = max((p for p in follow if p.replyable), key=lambda p: (p.at, p.id),
                         default=None)
            if target is not None and target.at >= known:
                values["reply_to_post_id"] = target.id
        values.update(_riskier(m, follow))
        best = min(follow, key=lambda p: p.priority)
        if raises(m.priority, best.priority):
            values["priority"] = best.priority
            values["priority_reason"] = f"raised from {m.priority} by a follow-up: {best.why}"
            events.append(("raise_priority", m.status, m.status,
                           {"from": m.priority, "to": best.priority, "why": best.why,
                            "post_id": best.id}))
    answered = last_outside is not None and (last_follow is None
                                             or last_outside.at >= last_follow.at)
    if last_follow is not None and not answered:
        values["awaiting_since"] = m.awaiting_since or min(p.at for p in follow)
        values.update(sla.timer_columns(rules, m.team, values.get("priority", m.priority), now))
        if reopened(m.status):
            after = reopen_status(m.claimed_by)
            values.update(status=after, outcome=None, closed_at=None, reopens=m.reopens + 1)
            events.append(("reopen", m.status, after, {
                "outcome": m.outcome, "tags": [t.outcome for t in m.outcome_tags],
                "post_id": last_follow.id}))
    elif answered and last_outside is not None:
        values.update(awaiting_since=None, sla_due_at=None, sla_next_at=None,
                      first_response_at=m.first_response_at or last_outside.at)
        events.append(("answered_outside", m.status, m.status, {"post_id": last_outside.id}))
    return values, events


def _riskier(m: models.Mention, follow: list[ThreadItem]) -> dict[str, Any]:
    """A follow-up's risks join the card's (a legal threat in the second message is one all
    the same), and so does its need for approval; neither is ever taken away."""
    risk = list(m.risk or [])
    for r in (r for p in follow for r in p.risk):
        if r not in risk:
            risk.append(r)
    values: dict[str, Any] = {}
    if risk != list(m.risk or []):
        values["risk"] = risk
    if not m.approval_required and any(p.approval for p in follow):
        values["approval_required"] = True
    return values


def _tell_approvers(session: Session, m: models.Mention, posts: list[ThreadItem],
                    priority: str, now: datetime) -> None:
    """A follow-up while a draft awaits approval: the approvers the request went to get the
    request again by DM, drawn when sent with the customer's latest message and "written
    before the customer's last message" (their first DM is never redrawn, and an edit would
    not notify them). Once per approver per fetch (`approval:<draft>:<user>:post:<id>`)."""
    last = _last_follow_up(sorted(posts, key=lambda p: (p.at, p.id)))
    if last is None or m.status != MentionStatus.PENDING_APPROVAL:
        return
    Msg = models.OutboxMessage
    draft_id = session.scalar(select(models.Draft.id).where(models.Draft.mention_id == m.id)
                              .order_by(models.Draft.id.desc()).limit(1))
    prefix = f"approval:{draft_id}:"
    # The submit's DM rows say who was asked (kept 30 days: bot.kit.housekeeping).
    asked = session.scalars(select(Msg.channel).where(
        Msg.mention_id == m.id, Msg.kind == OutboxKind.DM,
        Msg.dedupe_key.startswith(prefix, autoescape=True))).all()
    for user in sorted(set(asked)):
        session.add(Msg(kind=OutboxKind.DM, channel=user, mention_id=m.id, priority=priority,
                        payload={"type": "approval_request", "draft_id": draft_id,
                                 "user": user, "post_id": last.id},
                        not_before=now, created_at=now,
                        dedupe_key=f"{prefix}{user}:post:{last.id}"))


def _queue_card_update(session: Session, m: models.Mention, priority: str,
                       now: datetime) -> None:
    """Redraw the card once it is posted. A card still queued shows the change when it is
    posted; one being posted (its ts not yet recorded) gets an update, which waits for it."""
    Msg = models.OutboxMessage
    channel = m.slack_channel if m.slack_ts else session.scalar(
        select(Msg.channel).where(Msg.mention_id == m.id, Msg.kind == OutboxKind.CARD,
                                  Msg.state == "sending").limit(1))
    if channel:
        session.add(Msg(kind=OutboxKind.UPDATE, channel=channel, mention_id=m.id,
                      priority=priority, payload={}, not_before=now, created_at=now))
