"""The outbox's SQL: which rows may go now, claiming them, folding floods, collapsing updates.

Every statement that changes rows this sender has not claimed picks them with
`FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLAlchemy renders nothing on SQLite, which has a single
writer anyway): replicas never wait on each other's rows, so they cannot deadlock, and a row
another replica is busy with is left to it. Every change is also conditional on the state it
expects (`AND state = 'pending'`), so even without row locks a row is claimed at most once.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from bot.domain.outbox import OutboxKind
from bot.domain.workflow import MentionStatus
from bot.kit.db import insert_or_skip, rowcount
from bot.kit.models import Mention, OutboxMessage, table_of
from bot.outbox.pacing import EPHEMERAL_SCOPE, UPDATE_SCOPE

Msg = OutboxMessage
T = table_of(OutboxMessage)
OPEN = ("pending", "sending")  # not done yet: what depth() counts
NEEDS_CARD = (OutboxKind.UPDATE, OutboxKind.THREAD)  # they act on the mention's card, so they wait for it
# A `file` row's payload key naming (by dedupe_key) the row whose message it is shared under,
# in that message's thread: it waits for that message's ts, so it never goes out before it.
THREAD_OF = "thread_of"


class Candidate(NamedTuple):
    id: int
    kind: OutboxKind
    channel: str
    priority: str


def scope_expr() -> ColumnElement[str]:
    """`bot.outbox.pacing.scope_of` in SQL, to rank rows within their rate-limit scope."""
    return case((Msg.kind == OutboxKind.UPDATE, literal(UPDATE_SCOPE)),
                (Msg.kind == OutboxKind.EPHEMERAL, literal(EPHEMERAL_SCOPE)), else_=Msg.channel)


def _card_posted() -> ColumnElement[bool]:
    return exists().where(Mention.id == Msg.mention_id, Mention.slack_ts.is_not(None))


def _thread_of() -> ColumnElement[str]:
    return Msg.payload[THREAD_OF].as_string()


def _parent_posted() -> ColumnElement[bool]:
    parent = aliased(OutboxMessage)
    return exists().where(parent.dedupe_key == _thread_of(), parent.state == "sent",
                          parent.slack_ts.is_not(None))


def _parent_failed() -> ColumnElement[bool]:
    parent = aliased(OutboxMessage)
    return exists().where(parent.dedupe_key == _thread_of(), parent.state == "failed")


def eligible(now: datetime) -> ColumnElement[bool]:
    """Pending, due, and not waiting for anything: updates and thread replies need the card's
    ts, and go one at a time per mention in queue order (no reply overtakes an earlier one);
    a file for a thread needs its parent message's ts."""
    earlier = aliased(OutboxMessage)
    waits_for_earlier = exists().where(
        earlier.mention_id == Msg.mention_id, earlier.kind == Msg.kind, earlier.id < Msg.id,
        earlier.state.in_(OPEN))
    return and_(Msg.state == "pending", Msg.not_before <= now,
                or_(Msg.kind.not_in(NEEDS_CARD), Msg.mention_id.is_(None),
                    and_(_card_posted(), ~waits_for_earlier)),
                or_(Msg.kind != OutboxKind.FILE, _thread_of().is_(None), _parent_posted()))


def foldable(priorities: tuple[str, ...]) -> ColumnElement[bool]:
    """A pending card that may go into a digest: low priority, and its mention untouched
    (still `new`, nothing else queued for it). A mention someone works on keeps its card."""
    other = aliased(OutboxMessage)
    return and_(
        Msg.kind == OutboxKind.CARD, Msg.state == "pending", Msg.priority.in_(priorities),
        exists().where(Mention.id == Msg.mention_id, Mention.status == MentionStatus.NEW,
                       Mention.slack_ts.is_(None)),
        ~exists().where(other.mention_id == Msg.mention_id, other.id != Msg.id,
                        other.state.in_(OPEN)))


def skip_locked(*where: ColumnElement[bool]) -> Select[int]:
    """The ids of the rows `where` matches that no other transaction has locked, locked for
    this one: `FOR UPDATE SKIP LOCKED` on PostgreSQL, nothing on SQLite (a single writer).
    Every claim below picks its rows with it, so replicas never take the same row."""
    return select(Msg.id).where(*where).with_for_update(skip_locked=True)


# --- the send round ------------------------------------------------------------------------

def candidates(session: Session, now: datetime, *, held: set[str],
               held_priorities: tuple[str, ...], per_scope: int) -> list[Candidate]:
    """Rows that may be sent now, most urgent first across the whole queue; at most
    `per_scope` per rate-limit scope (no scope can send more in one round), so a channel with
    a thousand cards doesn't hide the one P2 of another channel behind a LIMIT.

    `held`: flooded channels whose next digest is not due yet; their foldable cards wait."""
    conds = [eligible(now)]
    if held:
        conds.append(not_(and_(Msg.channel.in_(sorted(held)), foldable(held_priorities))))
    rank = func.row_number().over(partition_by=scope_expr(), order_by=(Msg.priority, Msg.id))
    ranked = select(Msg.id, Msg.kind, Msg.channel, Msg.priority, rank.label("rank")).where(
        *conds).subquery()
    rows = session.execute(select(ranked.c.id, ranked.c.kind, ranked.c.channel,
                                  ranked.c.priority).where(ranked.c.rank <= per_scope)
                           .order_by(ranked.c.priority, ranked.c.id)).all()
    return [Candidate(*r) for r in rows]


def claim(session: Session, ids: list[int], lease_until: datetime) -> set[int]:
    """Mark `ids` `sending` (leased until `lease_until`); returns those this caller got.
    Committed before any Slack call: a crash after it leaves a row to verify, not to repost."""
    if not ids:
        return set()
    stmt = (update(T).where(T.c.id.in_(skip_locked(Msg.id.in_(ids), Msg.state == "pending")),
                            T.c.state == "pending")
            .values(state="sending", not_before=lease_until).returning(T.c.id))
    return set(session.execute(stmt).scalars())


def release(session: Session, ids: list[int], not_before: datetime) -> None:
    """Claimed but not attempted: back to the queue (after a 429 block, if one came)."""
    if ids:
        session.execute(update(T).where(T.c.id.in_(ids), T.c.state == "sending")
                        .values(state="pending", not_before=not_before))


def set_state(session: Session, row_id: int, *, expect: str = "sending", **values: object) -> bool:
    """Change one row if it is still in `expect`; False when someone else moved it."""
    result = session.execute(update(T).where(T.c.id == row_id, T.c.state == expect)
                             .values(**values))
    return bool(rowcount(result))


def defer_scope(session: Session, scope: str, until: datetime) -> int:
    """Slack said 429 for `scope`: its pending rows wait until `until`. Written to the rows
    (not only kept in memory) so a restarted sender and the other replicas respect it too."""
    if scope == UPDATE_SCOPE:
        match = Msg.kind == OutboxKind.UPDATE
    elif scope == EPHEMERAL_SCOPE:
        match = Msg.kind == OutboxKind.EPHEMERAL
    else:
        match = and_(Msg.channel == scope, Msg.kind.not_in((OutboxKind.UPDATE, OutboxKind.EPHEMERAL)))
    stmt = (update(T).where(T.c.id.in_(skip_locked(Msg.state == "pending", Msg.not_before < until,
                                                   match)),
                            T.c.state == "pending", T.c.not_before < until)
            .values(not_before=until))
    return rowcount(session.execute(stmt))


def take_unverified(session: Session, now: datetime, lease_until: datetime, *,
                    everything: bool, limit: int) -> list[int]:
    """`sending` rows whose lease ran out (or all of them when `everything`: a single process
    at start owns every `sending` row, files excepted), re-leased to this caller while it
    verifies them."""
    # Even at start a `file` row waits out its lease: Slack shares an uploaded file a little
    # after answering, so a file looked for at once (a restart seconds after the upload) could
    # be missed and uploaded twice. LEASE exceeds FILE_SHARE_DELAY.
    due = (or_(Msg.kind != OutboxKind.FILE, Msg.not_before <= now) if everything
           else Msg.not_before <= now)
    pick = skip_locked(Msg.state == "sending", due).order_by(Msg.id).limit(limit)
    stmt = (update(T).where(T.c.id.in_(pick), T.c.state == "sending")
            .values(not_before=lease_until).returning(T.c.id))
    return sorted(session.execute(stmt).scalars())


def next_due(session: Session, now: datetime) -> datetime | None:
    """The earliest future `not_before` of unfinished rows: backoffs, Retry-After, leases."""
    return session.scalar(select(func.min(Msg.not_before)).where(Msg.state.in_(OPEN),
                                                               Msg.not_before > now))


# --- housekeeping --------------------------------------------------------------------------

def collapse_updates(session: Session) -> int:
    """Several pending updates of one card: only the newest is sent (chat.update is Tier 3,
    and the renderer shows the mention as it is now anyway); the others are `folded`."""
    newer = aliased(OutboxMessage)
    has_newer = exists().where(newer.kind == OutboxKind.UPDATE, newer.mention_id == Msg.mention_id,
                               newer.state == "pending", newer.id > Msg.id)
    stmt = (update(T).where(T.c.id.in_(skip_locked(Msg.kind == OutboxKind.UPDATE, Msg.state == "pending",
                                                   has_newer)), T.c.state == "pending")
            .values(state="folded"))
    return rowcount(session.execute(stmt))


UNFOLD_CHUNK = 500  # mention ids per statement (well under any driver's parameter limit)


def unfold_worked(session: Session, now: datetime) -> int:
    """A folded card whose mention now has updates or thread replies queued (someone works on
    it from the digest) goes back to the queue: the work needs a card to update and thread on.

    The mentions worked on are read first (few, usually none: then nothing else is asked).
    One statement correlating folded cards with queued work, as before, was planned as nested
    loops on PostgreSQL tables without statistics yet (a storm on a quiet database): 19 s a
    round with 500 folded and 400 pending cards (bench/storm.py --pg), quadratic beyond."""
    worked = list(session.scalars(
        select(Msg.mention_id).where(Msg.kind.in_(NEEDS_CARD), Msg.state == "pending",
                                     Msg.mention_id.is_not(None)).distinct()))
    no_card = exists().where(Mention.id == Msg.mention_id, Mention.slack_ts.is_(None))
    n = 0
    for at in range(0, len(worked), UNFOLD_CHUNK):
        chunk = worked[at:at + UNFOLD_CHUNK]
        stmt = (update(T).where(T.c.id.in_(skip_locked(
            Msg.kind == OutboxKind.CARD, Msg.state == "folded", Msg.mention_id.in_(chunk),
            no_card)), T.c.state == "folded").values(state="pending", not_before=now))
        n += rowcount(session.execute(stmt))
    return n


def fail_orphans(session: Session) -> int:
    """Rows that would wait forever: updates and thread replies of a mention whose card
    failed, and files for the thread of a message that failed."""
    failed, live = aliased(OutboxMessage), aliased(OutboxMessage)
    card_failed = exists().where(failed.mention_id == Msg.mention_id, failed.kind == OutboxKind.CARD,
                                 failed.state == "failed")
    card_alive = exists().where(live.mention_id == Msg.mention_id, live.kind == OutboxKind.CARD,
                                live.state.in_(("pending", "sending", "folded")))
    stmt = (update(T).where(T.c.id.in_(skip_locked(
        Msg.kind.in_(NEEDS_CARD), Msg.state == "pending", card_failed, ~card_alive,
        ~_card_posted())), T.c.state == "pending")
            .values(state="failed", error="not sent: the mention's card could not be posted"))
    orphans = rowcount(session.execute(stmt))
    stmt = (update(T).where(T.c.id.in_(skip_locked(
        Msg.kind == OutboxKind.FILE, Msg.state == "pending", _parent_failed())), T.c.state == "pending")
            .values(state="failed", error="not sent: the message it belongs under could not "
                                          "be posted"))
    return orphans + rowcount(session.execute(stmt))


def flooded_channels(session: Session, threshold: int,
                     priorities: tuple[str, ...]) -> dict[str, int]:
    rows = session.execute(select(Msg.channel, func.count()).where(foldable(priorities))
                           .group_by(Msg.channel).having(func.count() > threshold)).all()
    return {channel: n for channel, n in rows}


def last_digest_at(session: Session, channel: str) -> datetime | None:
    return session.scalar(select(func.max(Msg.created_at)).where(Msg.kind == OutboxKind.DIGEST,
                                                               Msg.channel == channel))


def fold(session: Session, channel: str, now: datetime, *, threshold: int,
         priorities: tuple[str, ...], dedupe_key: str) -> tuple[OutboxMessage, int] | None:
    """Fold the channel's foldable cards into one new `digest` row (payload: the mention ids,
    most urgent first; the renderer builds the message). None when, once locked, there are no
    longer more than `threshold` (another replica got them). `dedupe_key` names the digest
    window: a second replica folding the same window fails on insert instead of posting a
    second digest."""
    rows = session.scalars(select(Msg).where(foldable(priorities), Msg.channel == channel)
                           .order_by(Msg.priority, Msg.id).with_for_update(skip_locked=True)).all()
    if len(rows) <= threshold:
        return None
    digest = OutboxMessage(
        kind=OutboxKind.DIGEST, channel=channel, priority=min(r.priority for r in rows),
        payload={"mention_ids": [r.mention_id for r in rows]}, state="pending",
        not_before=now, created_at=now, dedupe_key=dedupe_key)
    session.add(digest)
    session.flush()
    for r in rows:
        r.state = "folded"
        r.payload = {**(r.payload or {}), "folded_into": digest.id}  # JSON: assign, don't mutate
    session.flush()
    return digest, len(rows)


def thread_parent(session: Session, key: str) -> tuple[str | None, str | None]:
    """(channel, ts) of the message of the row whose dedupe_key is `key` (see THREAD_OF)."""
    row = session.execute(select(Msg.channel, Msg.slack_ts).where(Msg.dedupe_key == key)).first()
    return (row.channel, row.slack_ts) if row is not None else (None, None)


# --- queueing at most once ------------------------------------------------------------------

def enqueue_once(session: Session, **values: object) -> bool:
    """Insert an outbox row unless one with the same `dedupe_key` exists; True if inserted.

    `INSERT … ON CONFLICT DO NOTHING` on both backends: a job run twice (a restart, two
    replicas at once) queues its message once, without an IntegrityError to recover from."""
    return bool(enqueue_many_once(session, [values]))


def enqueue_many_once(session: Session, rows: list[dict[str, object]]) -> set[str]:
    """`enqueue_once` for many rows in one statement; the `dedupe_key`s actually inserted."""
    if not rows:
        return set()
    # RETURNING, not rowcount: psycopg reports a skipped conflict as a row.
    stmt = insert_or_skip(session, T, key="dedupe_key").returning(T.c.dedupe_key)
    return set(session.scalars(stmt, rows))


# --- metrics -------------------------------------------------------------------------------

def depth(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Msg).where(Msg.state.in_(OPEN))) or 0


def oldest_open(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Msg.created_at)).where(Msg.state.in_(OPEN)))
