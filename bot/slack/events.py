"""Each Slack event is processed once, however often Slack delivers it (`X-Slack-Retry-Num`).

The event's id is recorded *in the transaction of the work it caused*: the listener gets a copy
of the services whose sessions insert a `ProcessedEvent` row when they commit. So

- a retry of an event whose work committed finds its id and is acknowledged, no work;
- an event whose work failed (rolled back) or was cut short (kill -9 before the commit) left
  no id, and Slack's retry does the work;
- a retry racing the first delivery: both may run, but only one commit can insert the id
  (primary key); the other's commit raises `EventRaceLost` and its work is rolled back.

An event whose listener commits nothing (not a thread reply, say) records nothing; its retry
runs the same no-op again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.kit import models
from bot.slack.services import Services

EVENT_ID_MAX = 64  # the column's length; Slack's ids are far shorter


class EventRaceLost(Exception):
    """Another delivery of this event committed its work first: this one was rolled back."""


def event_id_of(body: dict) -> str | None:
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    return str(event_id)[:EVENT_ID_MAX] if event_id else None


def already_processed(services: Services, event_id: str) -> bool:
    with services.factory() as session:
        return session.get(models.ProcessedEvent, event_id) is not None


def for_event(services: Services, event_id: str) -> Services:
    """The services for the work of one event: its first commit records the event."""
    return replace(services, factory=EventSessions(services.factory, event_id, services.clock))


class EventSessions(sessionmaker[Session]):
    """The session factory for the work of one Slack event, configured like `factory`: the
    first commit that succeeds also inserts the event's `ProcessedEvent` row (once, whatever
    the number of sessions)."""

    def __init__(self, factory: sessionmaker[Session], event_id: str,
                 clock: Callable[[], datetime]) -> None:
        super().__init__(class_=factory.class_, **factory.kw)
        self.event_id, self.clock = event_id, clock
        self.recorded = False
        self._lock = threading.Lock()

    def __call__(self, **local_kw: Any) -> Session:
        session = super().__call__(**local_kw)
        sa_event.listen(session, "before_commit", self._before_commit)
        sa_event.listen(session, "after_commit", self._after_commit)
        # A failed commit takes the row with it: a later transaction must insert it again.
        sa_event.listen(session, "after_rollback", lambda s: s.info.pop("records_event", None))
        return session

    def _before_commit(self, session: Session) -> None:
        with self._lock:
            if self.recorded or session.info.get("records_event"):
                return
            # Inserted on its own statement (after the work's own flush), in the same
            # transaction: a key conflict here can only be the event's.
            try:
                session.execute(insert(models.ProcessedEvent).values(
                    event_id=self.event_id, received_at=self.clock()))
            except IntegrityError as exc:
                raise EventRaceLost(self.event_id) from exc
            session.info["records_event"] = True

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("records_event", False):
            with self._lock:
                self.recorded = True
