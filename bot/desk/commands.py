"""The desk's service functions: what a click on a card does to the database.

Every status change goes through `apply`: `bot.domain.workflow.decide` says whether it may happen,
then one compare-and-set UPDATE (`WHERE id AND status AND version`, `version + 1`) writes it,
so of two concurrent clicks exactly one wins and the other gets a `ConcurrentChange` naming
who won. Each transition writes an `AuditEvent` and queues a card update in the outbox, in
the caller's transaction (functions flush, never commit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.desk import threads
from bot.desk.directory import Approvers
from bot.desk.work import Work
from bot.domain import sla
from bot.domain.card import CardView, DraftView, ReplyView
from bot.domain.errors import (
    ConcurrentChange,
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    StaleCard,
    user_ref,
)
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import AUTHOR_TYPES, PRIORITIES, SENTIMENTS, Rules
from bot.domain.workflow import LABELS, Act, Actor, Facts, MentionStatus, decide
from bot.kit import models
from bot.kit.db import rowcount, utcnow
from bot.slack.ids import CardRef, ComplaintChoice

NO_ACTION = "no_action"  # the outcome of a dismissed mention
DRAFT_SOURCES = ("modal", "thread")
# What the correction modal offers, and so all a correction may set: `brand` is never offered
# (a forged `author_type=brand` would hide the author's later posts as the brand's own).
# The complaint flag is corrected in the same modal (its second select), as these two words.
COMPLAINT_VALUES = (str(ComplaintChoice.COMPLAINT), str(ComplaintChoice.NOT_COMPLAINT))
CORRECTABLE: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS, "priority": PRIORITIES,
    "author_type": tuple(t for t in AUTHOR_TYPES if t != "brand"),
    "complaint": COMPLAINT_VALUES}

# What someone did, for "<@U…> claimed it" in conflict messages (audit `action` → phrase).
DONE = {"claim": "claimed it", "unclaim": "unclaimed it", "draft": "drafted a reply",
        "submit": "submitted a draft", "approve": "approved the draft",
        "reject": "rejected the draft", "send": "sent the reply", "tag": "tagged it",
        "dismiss": "dismissed it", "reassign": "reassigned it",
        "handled_elsewhere": "marked it as handled elsewhere", "correct": "corrected it"}


REFUSED = "desk.refused"  # session.info key: a refused action, to audit after the rollback
# session.info key: whose App Home the transaction's changes concern, `{"users": set,
# "teams": set}` (a team: its approvers, expanded later). `bot.home.refresh.refresh_after_commit`
# takes it once the transaction commits; a rollback drops it.
HOME = "desk.home"


def audit_refusal(session: Session, refused: dict[str, Any], now: datetime) -> None:
    """Record that someone tried what the guards refused (not their role, their own draft…):
    who, what, on which mention. Status unchanged; `desk._conflict` ignores these rows."""
    session.add(models.AuditEvent(
        mention_id=refused["mention_id"], at=now, actor=refused["actor"], action="refused",
        from_status=refused["status"], to_status=refused["status"],
        detail={"attempted": refused["action"], "reason": refused["reason"]}))


# --- the one compare-and-set path ---------------------------------------------------------

def apply(session: Session, *, mention_id: int, version: int, act: Act, actor: str,
          rules: Rules, directory: Approvers, detail: dict[str, Any] | None = None,
          now: datetime | None = None) -> models.Mention:
    """Move a mention by `act`, as `actor` who saw it at `version`. Raises a DomainError.

    `detail` goes to the audit event; `team` (reassign) and `outcome` (tag,
    handled_elsewhere) in it are also what the transition writes.
    """
    return _apply(session, mention_id=mention_id, version=version, act=act, actor=actor,
                  rules=rules, directory=directory, detail=detail, now=now or utcnow())[0]


def _apply(session: Session, *, mention_id: int, version: int, act: Act, actor: str,
           rules: Rules, directory: Approvers, detail: dict[str, Any] | None,
           now: datetime) -> tuple[models.Mention, models.AuditEvent]:
    detail = dict(detail or {})
    m = _load(session, mention_id)
    new_status = _check(session, m, version, act, actor, rules, directory)
    before = m.status
    values = _values(m, act, actor, rules, detail, now)
    m = _compare_and_set(session, m, version, act, actor, now=now, status=new_status, **values)
    event = models.AuditEvent(mention_id=m.id, at=now, actor=actor, action=act.value,
                              from_status=before, to_status=new_status, detail=detail)
    session.add(event)
    _queue_update(session, m, now)
    session.flush()
    return m, event


def _check(session: Session, m: models.Mention, version: int, act: Act, actor: str,
           rules: Rules, directory: Approvers) -> str:
    """The status `act` leads to, or the DomainError saying why not (nothing written)."""
    if m.version != version:
        raise _conflict(session, m, act, actor, raced=False)
    team = rules.teams.get(m.team)
    is_approver = team is not None and directory.is_approver(team, actor)
    try:
        return decide(m.status, act, _facts(session, m), Actor(actor, is_approver))
    except NotAllowed as exc:
        # The caller rolls back; `Services.work` then records the refusal (`audit_refusal`).
        session.info[REFUSED] = {"mention_id": m.id, "actor": actor, "action": act.value,
                                 "status": m.status, "reason": exc.message}
        raise


def _compare_and_set(session: Session, m: models.Mention, version: int, act: Act | None,
                     actor: str, *, now: datetime | None = None,
                     **values: Any) -> models.Mention:
    """UPDATE … WHERE id, status and version are what the caller read; 0 rows → conflict."""
    before = (m.status, m.claimed_by, m.team, m.sla_due_at)  # `m` is refreshed below
    result = session.execute(
        update(models.Mention)
        .where(models.Mention.id == m.id, models.Mention.status == m.status,
               models.Mention.version == version)
        .values(version=models.Mention.version + 1, **values)
        .execution_options(synchronize_session=False))
    fresh = _load(session, m.id)
    if rowcount(result) != 1:
        raise _conflict(session, fresh, act, actor, raced=True)
    _concerns_homes(session, actor, before, fresh, now)
    return fresh


def _concerns_homes(session: Session, actor: str,
                    before: tuple[str, str | None, str, datetime | None],
                    after: models.Mention, now: datetime | None) -> None:
    """Note whose App Home this change alters: the actor, the claimer before and after, and
    the approvers of the team(s) when the mention enters or leaves approval or is overdue
    (their "awaiting my approval" and "overdue" lists)."""
    status, claimed_by, team, due = before
    teams: set[str] = set()
    overdue = now is not None and any(sla.is_overdue(d, now) for d in (due, after.sla_due_at))
    if overdue or MentionStatus.PENDING_APPROVAL in (status, after.status):
        teams = {team, after.team}
    concerns_homes(session, users=(actor, claimed_by, after.claimed_by), teams=teams)


def concerns_homes(session: Session, *, users: Any = (), teams: Any = ()) -> None:
    """Note that this transaction changes the App Homes of `users` and of `teams`' approvers."""
    concern = session.info.setdefault(HOME, {"users": set(), "teams": set()})
    concern["users"].update(u for u in users if u)
    concern["teams"].update(t for t in teams if t)


def _values(m: models.Mention, act: Act, actor: str, rules: Rules, detail: dict[str, Any],
            now: datetime) -> dict[str, Any]:
    """The columns an action writes besides status and version."""
    # The first response is what the customer sees: the first reply sent, or an answer given
    # elsewhere. Claiming or drafting is not one (else an SLA is met by clicking Claim).
    first = {"first_response_at": m.first_response_at or now}
    if act is Act.CLAIM:
        return {"claimed_by": actor, "claimed_at": now}
    if act is Act.SEND:
        return {**first, "awaiting_since": None}  # answered: the customer waits no more
    if act in (Act.UNCLAIM, Act.REASSIGN):
        values: dict[str, Any] = {"claimed_by": None, "claimed_at": None}
        if act is Act.REASSIGN:
            team = detail.get("team")
            if team not in rules.teams:
                raise NotAllowed(f"Unknown team. Teams: {', '.join(sorted(rules.teams))}.")
            if team == m.team:
                raise NotAllowed("This mention is already with that team.")
            values["team"] = team
            # The new team's SLA, counted from arrival: the customer has waited since then.
            values.update(sla.timer_columns(rules, team, m.priority, m.ingested_at))
        return values
    if act is Act.DISMISS:
        detail["outcome"] = NO_ACTION
        return {"outcome": NO_ACTION, "closed_at": now}
    if act in (Act.TAG, Act.HANDLED_ELSEWHERE):
        outcome = detail.get("outcome")
        if outcome not in rules.outcomes:
            # Closing needs an outcome, and only the rules file's outcomes feed the reports.
            raise NotAllowed(f"Pick an outcome: {', '.join(rules.outcomes)}.")
        return {"outcome": outcome, "closed_at": now,
                **(first if act is Act.HANDLED_ELSEWHERE else {})}
    return {}


def _conflict(session: Session, m: models.Mention, act: Act | None, actor: str, *,
              raced: bool) -> DomainError:
    """Say who changed the mention and what it is now; `raced`: between our read and write."""
    if act is Act.CLAIM and m.claimed_by and m.status != MentionStatus.CLOSED:
        who = "you" if m.claimed_by == actor else user_ref(m.claimed_by)
        return ConcurrentChange(f"Already claimed by {who}.")
    last = session.scalars(select(models.AuditEvent)
                           .where(models.AuditEvent.mention_id == m.id,
                                  models.AuditEvent.action != "refused")
                           .order_by(models.AuditEvent.id.desc()).limit(1)).first()
    what = (f"{user_ref(last.actor)} {DONE.get(last.action, 'changed it')}" if last
            else "it changed")
    state = LABELS.get(m.status, m.status)
    if raced:
        return ConcurrentChange(f"Too late: {what} just before you, and it is now {state}. "
                                "The card has been refreshed.")
    return StaleCard(f"This card changed since you looked at it ({what}; it is now {state}) "
                     "— refreshed. Check it and try again.")


# --- reads --------------------------------------------------------------------------------

def _load(session: Session, mention_id: int) -> models.Mention:
    # populate_existing: the row as the database has it now, not as this session last saw it.
    m = session.scalars(select(models.Mention).where(models.Mention.id == mention_id)
                        .execution_options(populate_existing=True)).first()
    if m is None:
        raise NotFound()
    return m


def _latest_draft(session: Session, mention_id: int) -> models.Draft | None:
    return session.scalars(select(models.Draft).where(models.Draft.mention_id == mention_id)
                           .order_by(models.Draft.id.desc()).limit(1)).first()


def _x_blocked(m: models.Mention) -> bool:
    # Since 2026-02 X refuses programmatic replies to posts that don't mention or quote us.
    return m.network == "x" and not m.mentions_brand


def _reply_blocked(m: models.Mention, rules: Rules) -> str | None:
    """Why a reply can't be sent from here although the network has replies (RSS has none)."""
    if _x_blocked(m):
        brand = rules.brand.x_username or rules.brand.name
        return f"X only allows replies to posts that mention @{brand}"
    return _source_says_no(m)


def _source_says_no(m: models.Mention) -> str | None:
    """A network rule the source knew when it read the post (`extra["no_reply"]`: Instagram
    lets a business answer comments only, not someone else's post)."""
    reason = (m.extra or {}).get("no_reply")
    return str(reason) if reason else None


def _facts(session: Session, m: models.Mention) -> Facts:
    draft = _latest_draft(session, m.id)
    return Facts(claimed_by=m.claimed_by, approval_required=m.approval_required,
                 drafter=draft.author if draft else None,
                 draft_rejected=draft is not None and draft.decision == "rejected",
                 reply_channel=m.network != "rss" and not _x_blocked(m)
                 and not _source_says_no(m))


# --- the outbox ---------------------------------------------------------------------------

def _queue(session: Session, m: models.Mention, kind: str, channel: str, now: datetime,
           payload: dict[str, Any], dedupe_key: str | None = None) -> None:
    session.add(models.OutboxMessage(kind=kind, channel=channel, mention_id=m.id,
                                     priority=m.priority, payload=payload, not_before=now,
                                     created_at=now, dedupe_key=dedupe_key))


def _queue_update(session: Session, m: models.Mention, now: datetime) -> None:
    """Queue a refresh of the mention's card. A card still pending will show the change when
    it is posted; one being posted (`sending`: Slack may have it, its ts not recorded yet) was
    drawn before the change, so it gets the update too, which waits for its ts."""
    if m.slack_ts and m.slack_channel:
        _queue(session, m, OutboxKind.UPDATE, m.slack_channel, now, {})
        return
    posting = session.scalar(select(models.OutboxMessage.channel).where(
        models.OutboxMessage.mention_id == m.id, models.OutboxMessage.kind == OutboxKind.CARD,
        models.OutboxMessage.state == "sending").limit(1))
    if posting is not None:
        _queue(session, m, OutboxKind.UPDATE, posting, now, {})


def refresh_card(session: Session, m: models.Mention, now: datetime) -> None:
    """Queue a refresh of the card after a change made outside the state machine (a comment
    hidden on the network: `bot.desk.moderate`)."""
    _queue_update(session, m, now)


def _card_channel(m: models.Mention, rules: Rules) -> str:
    return m.slack_channel or rules.teams[m.team].channel


# --- service functions --------------------------------------------------------------------

def claim(work: Work, actor: str, ref: CardRef) -> models.Mention:
    return _simple(work, actor, ref, Act.CLAIM)


def unclaim(work: Work, actor: str, ref: CardRef) -> models.Mention:
    return _simple(work, actor, ref, Act.UNCLAIM)


def _simple(work: Work, actor: str, ref: CardRef, act: Act) -> models.Mention:
    return apply(work.session, mention_id=ref.mention_id, version=ref.version, act=act,
                 actor=actor, rules=work.rules, directory=work.directory, now=work.now)


def save_draft(work: Work, actor: str, ref: CardRef, text: str, *,
               source: str = "modal") -> models.Mention:
    """A new draft (from the modal or a thread reply); editing an approved one resets approval."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    if source not in DRAFT_SOURCES:
        raise ValueError(f"source must be one of {DRAFT_SOURCES}, not {source!r}")
    text = text.strip()
    if not text:
        raise NotAllowed("A draft needs some text.")
    m, event = _apply(session, mention_id=ref.mention_id, version=ref.version, act=Act.DRAFT,
                      actor=actor, rules=rules, directory=directory,
                      detail={"source": source}, now=now)
    draft = models.Draft(mention_id=m.id, text=text, author=actor, created_at=now)
    session.add(draft)
    session.flush()
    event.detail = {**event.detail, "draft_id": draft.id}
    return m


def submit(work: Work, actor: str, ref: CardRef) -> models.Mention:
    """Ask for approval: a request in the card's thread and a DM to every approver."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    m = _load(session, ref.mention_id)
    _check(session, m, ref.version, Act.SUBMIT, actor, rules, directory)
    draft = _latest_draft(session, m.id)
    assert draft is not None  # `drafted` always has one
    team = rules.teams.get(m.team)
    others = sorted(directory.approvers(team) - {draft.author}) if team else []
    if not others:
        # Nobody could ever approve it: refuse rather than park it forever.
        raise NotAllowed(f"Nobody but the drafter can approve for team {m.team}: add "
                         "approvers to it in the rules file, or reassign the mention.")
    m, event = _apply(session, mention_id=ref.mention_id, version=ref.version, act=Act.SUBMIT,
                      actor=actor, rules=rules, directory=directory, detail=None, now=now)
    event.detail = {"draft_id": draft.id}
    request = {"type": "approval_request", "draft_id": draft.id}
    _queue(session, m, OutboxKind.THREAD, _card_channel(m, rules), now, request,
           dedupe_key=f"approval:{draft.id}")
    for user in others:
        _queue(session, m, OutboxKind.DM, user, now, {"user": user, **request},
               dedupe_key=f"approval:{draft.id}:{user}")
    session.flush()
    return m


def _pending_version(session: Session, ref: CardRef) -> int:
    """Approval buttons also live in DMs, which are never re-rendered: a click judging the
    draft that is still pending is current whatever else changed on the card since."""
    if ref.draft_id is None:
        return ref.version
    m = _load(session, ref.mention_id)
    draft = _latest_draft(session, m.id)
    if draft is not None and draft.id != ref.draft_id:
        raise StaleCard("That draft has been replaced by a newer one — check the card.")
    return m.version if m.status == MentionStatus.PENDING_APPROVAL else ref.version


def approve(work: Work, actor: str, ref: CardRef, *,
            edited_text: str | None = None) -> models.Mention:
    """Approve the pending draft; an approver's edit becomes a new draft, approved by them."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    if edited_text is not None and not edited_text.strip():
        raise NotAllowed("The edited reply is empty.")
    m, event = _apply(session, mention_id=ref.mention_id, version=_pending_version(session, ref),
                      act=Act.APPROVE, actor=actor, rules=rules, directory=directory,
                      detail=None, now=now)
    draft = _latest_draft(session, m.id)
    assert draft is not None
    if edited_text is not None and edited_text.strip() != draft.text:
        # The original stays as written (undecided) so the audit shows what was changed.
        approved = models.Draft(mention_id=m.id, text=edited_text.strip(), author=actor,
                                created_at=now)
        session.add(approved)
    else:
        approved = draft
    approved.decision, approved.decided_by, approved.decided_at = "approved", actor, now
    concerns_homes(session, users=(draft.author,))  # "my draft was approved"
    session.flush()
    event.detail = {"draft_id": approved.id,
                    **({"edited_from": draft.id} if approved is not draft else {})}
    return m


def reject(work: Work, actor: str, ref: CardRef, reason: str) -> models.Mention:
    """Send the draft back to its author with a reason, in the card's thread."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    reason = reason.strip()
    if not reason:
        raise NotAllowed("Say why the draft is rejected: its author needs to know.")
    m, event = _apply(session, mention_id=ref.mention_id, version=_pending_version(session, ref),
                      act=Act.REJECT, actor=actor, rules=rules, directory=directory,
                      detail={"reason": reason}, now=now)
    draft = _latest_draft(session, m.id)
    assert draft is not None
    draft.decision, draft.decided_by, draft.decided_at = "rejected", actor, now
    draft.reason = reason
    concerns_homes(session, users=(draft.author,))  # "my draft was rejected"
    event.detail = {**event.detail, "draft_id": draft.id}
    _queue(session, m, OutboxKind.THREAD, _card_channel(m, rules), now,
           {"type": "rejected", "draft_id": draft.id, "user": draft.author, "reason": reason})
    session.flush()
    return m


def _close(session: Session, m: models.Mention, outcome: str, actor: str,
           now: datetime) -> None:
    session.add(models.OutcomeTag(mention_id=m.id, outcome=outcome, tagged_by=actor,
                                  tagged_at=now))
    m.author.last_outcome = outcome
    session.flush()


def tag(work: Work, actor: str, ref: CardRef, outcome: str) -> models.Mention:
    """Record what came of a sent reply; closes the mention."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    m = apply(session, mention_id=ref.mention_id, version=ref.version, act=Act.TAG, actor=actor,
              rules=rules, directory=directory, detail={"outcome": outcome}, now=now)
    _close(session, m, outcome, actor, now)
    return m


def dismiss(work: Work, actor: str, ref: CardRef) -> models.Mention:
    """Close without a reply: the outcome is `no_action`."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    m = apply(session, mention_id=ref.mention_id, version=ref.version, act=Act.DISMISS,
              actor=actor, rules=rules, directory=directory, now=now)
    _close(session, m, NO_ACTION, actor, now)
    return m


def handled_elsewhere(work: Work, actor: str, ref: CardRef, *,
                      outcome: str = "resolved") -> models.Mention:
    """Close a mention that can't be answered from here (RSS, X posts not mentioning us)."""
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    m = apply(session, mention_id=ref.mention_id, version=ref.version,
              act=Act.HANDLED_ELSEWHERE, actor=actor, rules=rules, directory=directory,
              detail={"outcome": outcome}, now=now)
    _close(session, m, outcome, actor, now)
    return m


def reassign(work: Work, actor: str, ref: CardRef, team: str) -> models.Mention:
    """Hand the mention to another team: back to `new`, claim cleared, card in their channel.

    Also stored as a `team` correction: a reassignment says routing got it wrong.
    """
    session, rules, directory, now = work.session, work.rules, work.directory, work.now
    old = _load(session, ref.mention_id)
    old_team, old_channel, old_ts = old.team, old.slack_channel, old.slack_ts
    m, _ = _apply(session, mention_id=ref.mention_id, version=ref.version,
                  act=Act.REASSIGN, actor=actor, rules=rules, directory=directory,
                      detail={"team": team, "from_team": old_team}, now=now)
    session.add(models.Correction(mention_id=m.id, field="team", old_value=old_team,
                                  new_value=team, by=actor, at=now))
    channel = rules.teams[team].channel
    if old_ts:
        # The old card was just queued for an update (it shows the reassignment); the new
        # team gets a card of its own, posted by the outbox like any new mention's.
        _queue(session, m, OutboxKind.CARD, channel, now, {"reassigned_from": old_channel,
                                                  "previous_ts": old_ts},
               dedupe_key=f"card:{m.id}:v{m.version}")
    else:
        # Card not posted yet: post it in the right channel in the first place.
        session.execute(update(models.OutboxMessage)
                        .where(models.OutboxMessage.mention_id == m.id,
                               models.OutboxMessage.kind == OutboxKind.CARD,
                               models.OutboxMessage.state == "pending")
                        .values(channel=channel)
                        .execution_options(synchronize_session=False))
    session.flush()
    return m


def correct(work: Work, actor: str, ref: CardRef, field: str, value: str,
            complaint: str | None = None) -> models.Mention:
    """Staff fix what scoring got wrong; stored as `Correction` rows to tune the rules later.
    `complaint` (`complaint` | `not_complaint`, None: unchanged) is the modal's second select:
    the flag corrected beside `field`. Only what differs from the card is stored.

    Not a transition (the status stays), but the same compare-and-set on the version, so a
    correction made on a stale card is refused like any other click.
    """
    session, rules, now = work.session, work.rules, work.now
    if field == "team":
        return reassign(work, actor, ref, value)
    asked = {field: value} if complaint is None else {field: value, "complaint": complaint}
    for name, new in asked.items():
        if name not in CORRECTABLE:
            raise InvalidTransition(f"Can't correct {name!r}.")
        if new not in CORRECTABLE[name]:
            raise NotAllowed(f"{new!r} is not a {name.replace('_', ' ')}: "
                             f"use one of {', '.join(CORRECTABLE[name])}.")
    m = _load(session, ref.mention_id)
    if m.version != ref.version:
        raise _conflict(session, m, None, actor, raced=False)
    changed = {name: (old, new) for name, new in asked.items()
               if (old := _corrected_value(m, name)) != new}
    if not changed:
        already = " and ".join(f"the {name.replace('_', ' ')} is already "
                               f"{new.replace('_', ' ')}" for name, new in asked.items())
        raise NotAllowed(already[0].upper() + already[1:] + ".")
    values: dict[str, Any] = {name: (new == "complaint") if name == "complaint" else new
                              for name, (_, new) in changed.items()}
    if "priority" in changed:  # a new priority has its own SLA, counted from arrival
        values.update(sla.timer_columns(rules, m.team, values["priority"], m.ingested_at))
    m = _compare_and_set(session, m, ref.version, None, actor, now=now, **values)
    if "author_type" in changed:
        m.author.type_override = values["author_type"]  # later mentions by this author too
    for name, (old, new) in changed.items():
        session.add(models.Correction(mention_id=m.id, field=name, old_value=old,
                                      new_value=new, by=actor, at=now))
        session.add(models.AuditEvent(mention_id=m.id, at=now, actor=actor, action="correct",
                                      from_status=m.status, to_status=m.status,
                                      detail={"field": name, "old": old, "new": new}))
    _queue_update(session, m, now)
    session.flush()
    return m


def _corrected_value(m: models.Mention, field: str) -> str:
    """What the card shows of `field`, as a correction stores it."""
    if field == "complaint":
        return COMPLAINT_VALUES[0] if m.complaint else COMPLAINT_VALUES[1]
    value: str = getattr(m, field)
    return value


# --- what a card shows --------------------------------------------------------------------

def card_view(session: Session, rules: Rules, mention_id: int,
              now: datetime | None = None) -> CardView:
    """Everything `bot.slack.blocks` needs to draw the card of a mention, as plain values."""
    now = now or utcnow()
    m = _load(session, mention_id)
    a = m.author
    M = models.Mention
    earlier = session.scalar(select(func.count()).select_from(M)
                             .where(M.author_id == a.id, M.id < m.id)) or 0
    last_outcome = session.scalar(
        select(M.outcome).where(M.author_id == a.id, M.id < m.id, M.outcome.is_not(None))
        .order_by(M.closed_at.desc(), M.id.desc()).limit(1))
    draft = _latest_draft(session, m.id)
    reply = session.scalars(select(models.Reply).where(models.Reply.mention_id == m.id)
                            .order_by(models.Reply.id.desc()).limit(1)).first()
    tags = session.scalars(select(models.OutcomeTag.outcome)
                           .where(models.OutcomeTag.mention_id == m.id)
                           .order_by(models.OutcomeTag.id)).all()
    team = rules.teams.get(m.team)  # None when the rules no longer have the team
    return CardView(
        mention_id=m.id, version=m.version, status=m.status, network=m.network, url=m.url,
        text=m.text, created_at=m.created_at, ingested_at=m.ingested_at,
        author_handle=a.handle, author_name=a.name,
        author_type=a.type_override or m.author_type, followers=a.followers,
        earlier_mentions=earlier, last_outcome=last_outcome,
        sentiment=m.sentiment, compound=m.compound, priority=m.priority, score=m.score,
        complaint=m.complaint, complaint_probability=m.complaint_probability,
        score_parts={k: round(v) for k, v in (m.score_parts or {}).items()
                     if isinstance(v, int | float)},
        matched_rules=tuple(m.matched_rules or ()), risk=tuple(m.risk or ()),
        approval_required=m.approval_required, team=m.team,
        team_label=(team.label if team and team.label else m.team),
        approvers=tuple(team.approvers) if team else (), outcomes=tuple(rules.outcomes),
        claimed_by=m.claimed_by, sla_due_at=m.sla_due_at,
        overdue=(sla.is_overdue(m.sla_due_at, now)
                 and m.status not in (MentionStatus.SENT, MentionStatus.CLOSED)),
        draft=DraftView(id=draft.id, text=draft.text, author=draft.author,
                        created_at=draft.created_at, decision=draft.decision,
                        decided_by=draft.decided_by, reason=draft.reason) if draft else None,
        reply=ReplyView(state=reply.state, sent_by=reply.sent_by, url=reply.url,
                        sent_at=reply.sent_at, error=reply.error) if reply else None,
        outcome_tags=tuple(tags), can_reply=m.network != "rss",
        reply_blocked=_reply_blocked(m, rules), lang=m.lang, extra=_card_extra(m),
        conversation=threads.conversation(session, m, draft, now),
        priority_reason=m.priority_reason)


# What of `Mention.extra` a card shows (an app review's rating and facts, its earlier reply).
CARD_EXTRA = ("rating", "app_version", "device", "territory", "developer_reply",
              "edited_after_reply",
              "kind", "hidden",  # Meta: what was written where, and hidden by the Page
              "response_state",  # App Store: our response still waits for Apple to publish it
              )


def _card_extra(m: models.Mention) -> dict[str, str]:
    return {k: str(v) for k, v in (m.extra or {}).items() if k in CARD_EXTRA and v is not None}


# --- sending and thread drafting ------------------------------------------------------------

def check_send(work: Work, actor: str, ref: CardRef) -> tuple[models.Mention, models.Draft]:
    """May `actor` send now? The mention and the draft to send, or a DomainError. Nothing is
    written: `bot.desk.send.start_send` records the intent, and the move to `sent` happens
    through `apply` once the network said yes."""
    session, rules, directory = work.session, work.rules, work.directory
    m = _load(session, ref.mention_id)
    _check(session, m, ref.version, Act.SEND, actor, rules, directory)
    draft = _latest_draft(session, m.id)
    if draft is None:  # unreachable through the table (drafted/approved have one)
        raise NotAllowed("There is no draft to send.")
    return m, draft


def mention_of_card(session: Session, channel: str, ts: str) -> models.Mention | None:
    return session.scalars(select(models.Mention).where(
        models.Mention.slack_channel == channel, models.Mention.slack_ts == ts)).first()


def draft_from_thread(work: Work, actor: str, *, channel: str, thread_ts: str,
                      text: str) -> models.Mention | None:
    """A reply in a card's thread by the person holding the card is their draft; anyone
    else's is conversation and left alone (None). The bot answers with a preview."""
    session, rules, now = work.session, work.rules, work.now
    m = mention_of_card(session, channel, thread_ts)
    if m is None or m.claimed_by != actor or m.status not in (
            MentionStatus.CLAIMED, MentionStatus.DRAFTED, MentionStatus.APPROVED):
        return None
    m = save_draft(work, actor, CardRef(m.id, m.version), text, source="thread")
    draft = _latest_draft(session, m.id)
    assert draft is not None  # save_draft just added it
    _queue(session, m, OutboxKind.THREAD, _card_channel(m, rules), now,
           {"type": "draft_preview", "draft_id": draft.id}, dedupe_key=f"preview:{draft.id}")
    session.flush()
    return m
