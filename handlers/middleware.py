"""Global middleware: inject the services and the acting user; drop Slack's event retries."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse
from sqlalchemy.exc import IntegrityError

from bot import models
from bot.services import Services

log = logging.getLogger(__name__)


def inject(services: Services) -> Callable:
    def middleware(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:  # noqa: A002 (Bolt's name)
        context["services"] = services
        context["actor"] = context.user_id  # the Slack user who clicked/typed, when there is one
        return next()

    return middleware


def dedupe_events(services: Services) -> Callable:
    """Slack redelivers an event it thinks we missed (`X-Slack-Retry-Num`); the first delivery
    inserts its `event_id`, a retry hits the primary key and is acknowledged without work."""

    def middleware(body: dict, next: Callable[[], BoltResponse]) -> BoltResponse | None:  # noqa: A002
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        try:
            with services.work() as w:
                w.session.add(models.ProcessedEvent(event_id=str(event_id)[:64],
                                                    received_at=w.now))
        except IntegrityError:
            log.info("event %s already processed: retry ignored", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return middleware
