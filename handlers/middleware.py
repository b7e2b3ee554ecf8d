"""Global middleware: inject the services and the acting user; process each Slack event once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse

from bot.slack import events
from bot.slack.services import Services

log = logging.getLogger(__name__)

Next = Callable[[], BoltResponse]


def inject(services: Services) -> Callable[..., BoltResponse]:
    def middleware(context: BoltContext, next: Next) -> BoltResponse:
        # dedupe_events may have set a copy that records the event with the work
        context.setdefault("services", services)
        context["actor"] = context.user_id  # the Slack user who clicked/typed, when there is one
        return next()

    return middleware


def dedupe_events(services: Services) -> Callable[..., BoltResponse | None]:
    """An event Slack delivers again is acknowledged without doing its work twice
    (`bot.slack.events` says how)."""

    def middleware(body: dict, context: BoltContext, next: Next) -> BoltResponse | None:
        event_id = events.event_id_of(body)
        if event_id is None:
            return next()
        if events.already_processed(services, event_id):
            log.info("event %s already processed: retry ignored", event_id)
            return BoltResponse(status=200, body="")
        context["services"] = events.for_event(services, event_id)
        return next()

    return middleware
