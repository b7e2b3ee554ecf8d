"""The SLA job: remind at 75 %, escalate at breach, each at most once per deadline.

One indexed query finds the work: mentions whose `sla_next_at` has passed
(`ix_mention_sla_next_at`). Those answered or closed meanwhile just have their timer
stopped (NULL). For each open one, in one transaction per batch:
- before the due time: a reminder in the card's thread (to the holder, or to the channel when
  nobody has claimed it), then `sla_next_at` moves to the due time;
- at or after it: an escalation to the team's approvers in the thread and a card update (the
  card shows "Overdue"), then `sla_next_at` is cleared.

Messages are queued with `dedupe_key`s naming the mention and its deadline
(`sla:remind:<id>:<due epoch>`), inserted with ON CONFLICT DO NOTHING, so a restart or two
replicas running the job at once never send one twice; a new deadline (reassigned, priority
changed) gets its own reminder. A mention that is sent or closed is never chased.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.desk import commands as desk
from bot.domain import sla
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules
from bot.domain.workflow import OPEN_STATUSES
from bot.kit import models
from bot.kit.db import session_scope
from bot.outbox.queue import enqueue_many_once

log = logging.getLogger(__name__)

BATCH = 500  # mentions per transaction; a backlog after downtime is worked off in batches
M = models.Mention


class SlaRun(NamedTuple):
    reminders: int
    escalations: int


def start_timer(mention: models.Mention, rules: Rules, at: datetime) -> None:
    """Set (or reset) the mention's SLA timer from `at` for its current team and priority."""
    for column, value in sla.timer_columns(rules, mention.team, mention.priority, at).items():
        setattr(mention, column, value)


def _key(stage: str, mention_id: int, due: datetime) -> str:
    return f"sla:{stage}:{mention_id}:{int(due.timestamp())}"


def run_sla(factory: sessionmaker[Session], rules: Rules, now: datetime) -> SlaRun:
    """One pass of the job (every 30 s): queue what is due at `now`."""
    reminders = escalations = 0
    while True:
        with session_scope(factory) as s:
            r, e, n = _batch(s, rules, now)
        reminders, escalations = reminders + r, escalations + e
        if n < BATCH:
            return SlaRun(reminders, escalations)


def _batch(s: Session, rules: Rules, now: datetime) -> tuple[int, int, int]:
    rows = s.execute(
        select(M.id, M.team, M.priority, M.status, M.slack_channel, M.sla_due_at,
               M.sla_next_at, M.claimed_by)
        .where(M.sla_next_at <= now)
        .order_by(M.sla_next_at).limit(BATCH)
        .with_for_update(skip_locked=True)).all()  # replicas split the work (PostgreSQL)
    notes: list[dict] = []  # thread messages: reminders and escalations
    updates: dict[str, dict] = {}  # an escalation's card update, by the escalation's key
    moves: list[dict] = []
    overdue: dict[str, tuple[str | None, str]] = {}  # breach key → (claimer, team)
    for mention_id, team, priority, status, card_channel, due, next_at, claimer in rows:
        channel = card_channel or (rules.teams[team].channel if team in rules.teams else None)
        # Answered, no deadline, or the team is gone from the rules: the timer just stops
        # (here rather than in every desk transition; it also keeps the index small).
        if status not in OPEN_STATUSES or due is None or channel is None:
            moves.append({"m_id": mention_id, "m_expected": next_at, "m_to": None})
            continue
        breach = sla.stage(now, next_at, due) is sla.Stage.BREACH
        moves.append({"m_id": mention_id, "m_expected": next_at,
                      "m_to": None if breach else due})
        common = {"channel": channel, "mention_id": mention_id, "priority": priority,
                  "not_before": now, "created_at": now, "state": "pending", "attempts": 0}
        stage = "breach" if breach else "remind"
        key = _key(stage, mention_id, due)
        notes.append({**common, "kind": OutboxKind.THREAD, "dedupe_key": key,
                      "payload": {"type": f"sla_{'breach' if breach else 'reminder'}"}})
        if breach:  # the card shows the overdue badge: rendered when the row is sent
            updates[key] = {**common, "kind": OutboxKind.UPDATE, "payload": {},
                            "dedupe_key": _key("overdue", mention_id, due)}
            overdue[key] = (claimer, team)
    queued = enqueue_many_once(s, notes)
    enqueue_many_once(s, [u for key, u in updates.items() if key in queued])
    # Overdue now: on the claimer's and the team approvers' App Homes ("Overdue").
    late = [overdue[key] for key in queued if key in overdue]
    if late:
        desk.concerns_homes(s, users={c for c, _ in late}, teams={t for _, t in late})
    if moves:
        # Core, executemany: unless someone reset the timer meanwhile (a reassignment).
        t = models.table_of(M)
        s.execute(update(t).where(t.c.id == bindparam("m_id"),
                                  t.c.sla_next_at == bindparam("m_expected"))
                  .values(sla_next_at=bindparam("m_to")), moves)
    escalations = sum(1 for key in queued if key.startswith("sla:breach:"))
    reminders = len(queued) - escalations
    if queued:
        log.info("SLA: %d reminder(s), %d escalation(s) queued", reminders, escalations)
    return reminders, escalations, len(rows)


def overdue_count(session: Session, now: datetime) -> int:
    """Open mentions whose reply is past due (the `socialbot_sla_overdue` gauge)."""
    M = models.Mention
    return session.scalar(select(func.count()).select_from(M).where(
        M.overdue(now), M.status.in_(OPEN_STATUSES))) or 0
