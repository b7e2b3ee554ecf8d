"""Housekeeping: rows whose job is done are deleted, so the tables that grow with every
request stay small.

- `processed_event`: Slack retries an event within minutes; a day's ids is plenty.
- `outbox_message` in `sent`: the card's ts lives on its mention; after 30 days the row has
  nothing left to say. `failed` rows are kept 90 days, for whoever investigates. Rows still
  `pending`, `sending` or `parked` are never touched, nor `folded` ones (a folded card is posted after
  all when someone starts working on its mention, however late). Deleting an old row also frees its
  `dedupe_key`, which is safe: every key names something that cannot be queued again that
  late (a mention's first card, a draft's approval request, a week's report, an SLA stage
  already passed).

Deletes go in batches of BATCH rows, each in its own transaction, so a backlog of months never
holds a long lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.kit import models
from bot.kit.db import session_scope

log = logging.getLogger(__name__)

KEEP_EVENTS = timedelta(days=1)
KEEP_SENT = timedelta(days=30)
KEEP_FAILED = timedelta(days=90)
BATCH = 5_000


@dataclass(frozen=True, slots=True)
class Pruned:
    events: int
    outbox: int


def prune(factory: sessionmaker[Session], now: datetime) -> Pruned:
    """Delete what is done with, as of `now`; how many rows of each kind went."""
    Event, Msg = models.ProcessedEvent, models.OutboxMessage
    events = _in_batches(factory, Event, Event.event_id, Event.received_at < now - KEEP_EVENTS)
    outbox = _in_batches(factory, Msg, Msg.id, Msg.state == "sent",
                         Msg.created_at < now - KEEP_SENT)
    outbox += _in_batches(factory, Msg, Msg.id, Msg.state == "failed",
                          Msg.created_at < now - KEEP_FAILED)
    if events or outbox:
        log.info("housekeeping: %d processed event id(s), %d outbox row(s) deleted",
                 events, outbox)
    return Pruned(events, outbox)


def _in_batches(factory: sessionmaker[Session], model: type, key, *where) -> int:
    total = 0
    while True:
        with session_scope(factory) as s:
            ids = s.scalars(select(key).where(*where).limit(BATCH)).all()
            if not ids:
                return total
            s.execute(delete(model).where(key.in_(ids)))
            total += len(ids)
        if len(ids) < BATCH:
            return total
