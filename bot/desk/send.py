"""Sending a reply exactly once: intent first, one network call, then reconciliation.

    start_send(session, mention, draft, sent_by, now, rules=…)   policy check, then the intent:
        a `Reply` row in state `sending` with `idempotency_key = "reply:<draft id>"`. Both the
        draft id and the key are unique, so a double click or a retried request finds the row
        instead of making a second one (`DuplicateSend`). The caller COMMITS before calling
        `deliver`: from then on a crash leaves a trace.
    deliver(factory, reply_id, publisher, now, rules=…, directory=…)   the one network call:
        sent      → `sent`, with the post's id, URL and time; the mention moves to `sent`
                    through the desk (`bot.desk.commands.apply`, Act.SEND), card update included
        rejected / unavailable / auth (surely not posted) → `failed` with the reason
        maybe_sent (timeout after sending, 5xx, X's "duplicate content") or any unexpected
        exception → `unknown`. Never retried here.
    reconcile(factory, publishers, now, older_than=2 min, rules=…, directory=…)   later:
        rows left in `sending` (the process died around the call) or `unknown`, older than
        `older_than` (longer than any request timeout, so never one still in flight):
        - Mastodon, within its idempotency window (55 of its 60 min): the same call with the
          SAME Idempotency-Key: the server returns the status it made, or makes it once (so a
          reply whose call never happened goes out then, a few minutes late);
        - otherwise look for the brand's reply (X: its recent posts; Mastodon: the post's
          replies; Bluesky: its author feed): found → `sent`; a complete search that finds
          nothing → `failed` (nothing went out; the card offers Send again); an incomplete
          one → stays `unknown`.

`deliver` belongs right after the commit of `start_send` (in the same job): reconcile takes a
`sending` row older than `older_than` for a crashed one, and X's lookup only reads the brand's
posts since the row was written.

A `failed` reply can be sent again: `start_send` for the same draft re-arms the same row
(`failed` → `sending`, compare-and-set, so two clicks still make one attempt) and keeps its
idempotency key. Network calls are made with no database transaction open.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from bot.desk import commands as desk
from bot.desk import threads
from bot.desk.directory import Approvers
from bot.domain.errors import ConcurrentChange, DomainError, PolicyViolation, user_ref
from bot.domain.policy import Violation, check_reply
from bot.domain.rules.schema import Rules
from bot.domain.workflow import Act
from bot.kit import models
from bot.kit.db import rowcount
from bot.networks.base import Lookup, Published, Publisher, PublishError, Target

log = logging.getLogger(__name__)

RECONCILE_AFTER = timedelta(minutes=2)


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class PolicyRefused(PolicyViolation):
    """The reply breaks the rules' policy (or the network's); nothing was stored or sent.
    `violations` for the modal; `message` (Slack mrkdwn, draft text escaped) for the error
    handler."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = [f"• {_mrkdwn(v.message)}" for v in violations]
        super().__init__("This reply can't be sent:\n" + "\n".join(lines))


class DuplicateSend(ConcurrentChange):
    """This draft already has a reply being sent, sent, or of unknown outcome. Carries plain
    values (the session that found the row is rolled back as this propagates)."""

    def __init__(self, reply: models.Reply) -> None:
        self.reply_id: int = reply.id
        self.state: str = reply.state
        self.sent_by: str = reply.sent_by
        self.url: str | None = reply.url
        what = {"sending": "is being sent", "sent": "was already sent",
                "unknown": "may already have been sent: it is being checked"}.get(self.state,
                                                                                  self.state)
        super().__init__(f"This reply {what} (by {user_ref(self.sent_by)}).")


def idempotency_key(draft_id: int) -> str:
    return f"reply:{draft_id}"


def start_send(session: Session, mention: models.Mention, draft: models.Draft, sent_by: str,
               now: datetime, *, rules: Rules, max_chars: int | None = None) -> models.Reply:
    """Check the reply, then record the intent to send it. Flushes; the caller commits, and
    only then calls `deliver`. Raises `PolicyRefused` or `DuplicateSend`."""
    if draft.mention_id != mention.id:
        raise ValueError(f"draft {draft.id} belongs to mention {draft.mention_id}, "
                         f"not {mention.id}")
    violations = check_reply(draft.text, network=mention.network,
                             mention_mentions_brand=mention.mentions_brand, brand=rules.brand,
                             policy=rules.policy, max_chars=max_chars)
    if violations:
        raise PolicyRefused(violations)

    existing = _reply_of_draft(session, draft.id)
    if existing is not None:
        return _rearm(session, existing, sent_by, now)
    target = threads.reply_target(session, mention)
    reply = models.Reply(mention_id=mention.id, draft_id=draft.id, network=mention.network,
                         idempotency_key=idempotency_key(draft.id), state="sending",
                         sent_by=sent_by, created_at=now,
                         # The customer's latest post, fixed now: the one the card named.
                         thread_post_id=target.id if target else None)
    try:
        with session.begin_nested():  # a SAVEPOINT: losing the race keeps the transaction
            session.add(reply)
            session.flush()
    except IntegrityError:
        existing = _reply_of_draft(session, draft.id)
        if existing is None:
            raise
        return _rearm(session, existing, sent_by, now)
    return reply


def _reply_of_draft(session: Session, draft_id: int) -> models.Reply | None:
    return session.scalars(select(models.Reply).where(models.Reply.draft_id == draft_id)
                           .execution_options(populate_existing=True)).one_or_none()


def _rearm(session: Session, reply: models.Reply, sent_by: str, now: datetime) -> models.Reply:
    """Send a `failed` reply again (same row, same key); anything else is a duplicate."""
    if reply.state == "failed":
        won = rowcount(session.execute(
            update(models.Reply).where(models.Reply.id == reply.id,
                                       models.Reply.state == "failed")
            .values(state="sending", error=None, sent_by=sent_by, created_at=now)))
        session.refresh(reply)
        if won:
            return reply
    raise DuplicateSend(reply)


def _target(reply: models.Reply) -> Target:
    """The post a reply answers: the follow-up it was written to, else the mention."""
    return Target.of(reply.thread_post if reply.thread_post is not None else reply.mention)


def _load(session: Session, reply_id: int) -> models.Reply:
    reply = session.scalars(
        select(models.Reply).where(models.Reply.id == reply_id)
        .options(selectinload(models.Reply.mention).selectinload(models.Mention.author),
                 selectinload(models.Reply.draft), selectinload(models.Reply.thread_post))
        .execution_options(populate_existing=True)).one_or_none()
    if reply is None:
        raise LookupError(f"no reply {reply_id}")
    return reply


@dataclass(frozen=True, slots=True)
class _Book:
    """Where outcomes are written: the database, and the desk rules that move the mention."""

    factory: sessionmaker[Session]
    rules: Rules
    directory: Approvers

    def record(self, reply_id: int, expected: tuple[str, ...], *, state: str, now: datetime,
               error: str | None = None, published: Published | None = None) -> models.Reply:
        """Move a reply to `state` if it is still in one of `expected` (compare-and-set);
        when it becomes `sent`, move its mention too, in the same transaction."""
        with self.factory() as session, session.begin():
            values: dict[str, object] = {"state": state, "error": error}
            if published is not None:
                values |= {"network_id": published.network_id, "url": published.url,
                           "sent_at": now}
            changed = rowcount(session.execute(
                update(models.Reply).where(models.Reply.id == reply_id,
                                           models.Reply.state.in_(expected)).values(**values)))
            reply = _load(session, reply_id)
            if changed and state == "sent":
                _mark_mention_sent(session, reply, now, self.rules, self.directory,
                                   replaced=published.replaced if published else "")
                reply = _load(session, reply_id)  # as committed, mention included
            elif not changed:
                log.warning("reply %s: not moved to %s, it is %s", reply_id, state,
                            reply.state)
        return reply


def deliver(factory: sessionmaker[Session], reply_id: int, publisher: Publisher,
            now: datetime, *, rules: Rules, directory: Approvers) -> models.Reply:
    """Make the one network call for a committed `sending` reply and record what happened.
    A reply in any other state is returned as it is (someone else delivered it). `rules` and
    `directory` are the desk's, for the mention's transition to `sent`."""
    book = _Book(factory, rules, directory)
    with factory() as session:
        reply = _load(session, reply_id)
        if reply.state != "sending":
            return reply
        target, text, key = _target(reply), reply.draft.text, reply.idempotency_key
    try:
        published = publisher.reply(target, text, key)
    except PublishError as exc:
        state = "failed" if exc.surely_not_sent else "unknown"
        return book.record(reply_id, ("sending",), state=state, error=str(exc), now=now)
    except BaseException as exc:
        # A bug or an interruption between the call and its answer: we cannot tell whether
        # the post exists. Record that, then let the error surface.
        book.record(reply_id, ("sending",), state="unknown",
                    error=f"interrupted: {type(exc).__name__}: {exc}", now=now)
        raise
    return book.record(reply_id, ("sending", "unknown", "failed"), state="sent",
                       published=published, now=now)


def _mark_mention_sent(session: Session, reply: models.Reply, now: datetime, rules: Rules,
                       directory: Approvers, *, replaced: str = "") -> None:
    """The mention's desk transition to `sent`, once its reply is confirmed on the network.

    The one call site of `bot.desk.commands.apply(…, act=Act.SEND, actor=<who clicked Send>)` for a
    published reply: the desk's compare-and-set (`drafted`/`approved` → `sent`, version + 1),
    its audit event (with the reply's id, network id and URL as detail) and its queued card
    update, all in the transaction that records the reply, so the two change together. When
    the desk refuses (the mention was dismissed, reassigned or changed meanwhile), the reply
    still went out: the mention keeps its status and an audit event says so. `replaced`: what
    the reply took the place of on the network (an earlier App Store response), audited."""
    mention = reply.mention
    detail: dict[str, object] = {"reply_id": reply.id, "network_id": reply.network_id,
                                 "url": reply.url}
    if replaced:
        detail["replaced"] = replaced
    try:
        with session.begin_nested():
            desk.apply(session, mention_id=mention.id, version=mention.version, act=Act.SEND,
                       actor=reply.sent_by, rules=rules, directory=directory,
                       detail=dict(detail), now=now)
    except DomainError as exc:
        session.refresh(mention)  # as the database has it now
        status = mention.status
        session.add(models.AuditEvent(
            mention_id=mention.id, at=now, actor=reply.sent_by, action="send",
            from_status=status, to_status=status,
            detail={**detail, "note": f"the reply went out but the mention stays {status}: "
                                      f"{exc.message}"}))
        session.flush()


@dataclass(frozen=True, slots=True)
class Reconciled:
    reply_id: int
    before: str  # sending | unknown
    after: str  # sent | failed | unknown
    note: str


def reconcile(factory: sessionmaker[Session], publishers: Mapping[str, Publisher],
              now: datetime, older_than: timedelta = RECONCILE_AFTER, *, rules: Rules,
              directory: Approvers) -> list[Reconciled]:
    """Settle every reply left `sending` or `unknown` for longer than `older_than`, which
    must exceed the publishers' request timeouts (so no call is still in flight)."""
    book = _Book(factory, rules, directory)
    with factory() as session:
        rows = session.execute(
            select(models.Reply.id, models.Reply.network, models.Reply.state)
            .where(models.Reply.state.in_(("sending", "unknown")),
                   models.Reply.created_at <= now - older_than)
            .order_by(models.Reply.id)).all()
    out = []
    for reply_id, network, state in rows:
        publisher = publishers.get(network)
        if publisher is None:
            log.warning("reply %s on %s: no publisher to reconcile it with", reply_id, network)
            continue
        out.append(_reconcile_one(book, reply_id, state, publisher, now))
    return out


def _reconcile_one(book: _Book, reply_id: int, state: str, publisher: Publisher,
                   now: datetime) -> Reconciled:
    with book.factory() as session:
        reply = _load(session, reply_id)
        target, text, key = _target(reply), reply.draft.text, reply.idempotency_key
        since, previous = reply.created_at, reply.error

    def settle(after: str, note: str, published: Published | None = None) -> Reconciled:
        done = book.record(reply_id, (state,), state=after, now=now,
                           error=None if after == "sent" else note, published=published)
        log.info("reply %s: %s → %s (%s)", reply_id, state, done.state, note)
        return Reconciled(reply_id, state, done.state, note)

    window = publisher.retry_window
    if window is not None and now - since < window:
        # The server deduplicates this key: the same call either returns the post it made
        # or makes it now, once.
        try:
            published = publisher.reply(target, text, key)
        except PublishError as exc:
            if exc.kind == "rejected":
                return settle("failed", str(exc))
            return settle("unknown", f"retry with the same key failed: {exc}")
        return settle("sent", "retried with the same key", published)
    try:
        lookup: Lookup = publisher.find_reply(target, since=since)
    except PublishError as exc:
        return settle("unknown", f"could not check: {exc}")
    if lookup.found is not None:
        return settle("sent", lookup.note, lookup.found)
    if lookup.complete:
        first = f" (first attempt: {previous})" if previous else ""
        return settle("failed", f"not posted: {lookup.note}{first}")
    return settle("unknown", f"still unsure: {lookup.note}")
