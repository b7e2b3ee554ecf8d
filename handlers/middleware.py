"""Global middleware: inject the services and the acting user; process each Slack event once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from slack_bolt import BoltContext, BoltResponse
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from bot.kit import models
from bot.slack.services import Services

log = logging.getLogger(__name__)


def inject(services: Services) -> Callable:
    def middleware(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 (Bolt's name)
        # dedupe_events may have set a copy that records the event with the work
        context.setdefault("services", services)
        context["actor"] = context.user_id  # the Slack user who clicked/typed, when there is one
        return next()

    return middleware


def dedupe_events(services: Services) -> Callable:
    """Slack redelivers an event it thinks we missed (`X-Slack-Retry-Num`). The event's id is
    recorded *in the transaction of the work it caused*: the listener gets a copy of the
    services whose sessions add a `ProcessedEvent` row when they commit. So

    - a retry of an event whose work committed finds its id and is acknowledged, no work;
    - an event whose work failed (rolled back) or was cut short (kill -9 before the commit)
      left no id, and Slack's retry does the work;
    - a retry racing the first delivery: both may run, but only one commit can insert the id
      (primary key), so the other's work is rolled back with it.

    An event whose listener commits nothing (not a thread reply, say) records nothing; its
    retry runs the same no-op again."""

    def middleware(body: dict, context: BoltContext,
                   next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        event_id = str(event_id)[:64]
        with services.factory() as session:
            seen = session.get(models.ProcessedEvent, event_id) is not None
        if seen:
            log.info("event %s already processed: retry ignored", event_id)
            return BoltResponse(status=200, body="")
        context["services"] = replace(
            services, factory=EventSessions(services.factory, event_id, services.clock))
        return next()

    return middleware


class EventSessions:
    """A session factory for the work of one Slack event: the first commit that succeeds
    also inserts the event's `ProcessedEvent` row (once, whatever the number of sessions)."""

    def __init__(self, factory: Callable[[], Session], event_id: str,
                 clock: Callable[[], datetime]) -> None:
        self.factory, self.event_id, self.clock = factory, event_id, clock
        self.recorded = False
        self._lock = threading.Lock()

    def __call__(self) -> Session:
        session = self.factory()
        sa_event.listen(session, "before_commit", self._before_commit)
        sa_event.listen(session, "after_commit", self._after_commit)
        # A failed commit takes the pending row with it: a later transaction must add it again.
        sa_event.listen(session, "after_rollback", lambda s: s.info.pop("records_event", None))
        return session

    def _before_commit(self, session: Session) -> None:
        with self._lock:
            if self.recorded or session.info.get("records_event"):
                return
            # Added before the commit's flush, so it goes in the same transaction.
            session.add(models.ProcessedEvent(event_id=self.event_id, received_at=self.clock()))
            session.info["records_event"] = True

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("records_event", False):
            with self._lock:
                self.recorded = True
