"""Global middleware: bind requests to the bot's workspace and cards to their channel; inject
the services and the acting user; process each Slack event once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.domain.errors import NotAllowed
from bot.slack import events
from bot.slack.services import Services
from handlers.errors import on_error

log = logging.getLogger(__name__)

Next = Callable[[], BoltResponse]


def bind(services: Services) -> Callable[..., BoltResponse]:
    """Refuse (and audit, in `Services.refusal`) a request from another workspace before any
    listener runs: answered 200 (Slack must not retry it), a command with the reason as its
    answer, a click with a note. A card's button is bound to its channel by the services put
    in the context, in the click's unit of work (after the ack: it needs the database)."""

    def middleware(body: dict, context: BoltContext, client: WebClient,
                   next: Next) -> BoltResponse:
        refusal = services.refusal(body)
        if refusal is None:
            context["services"] = services.clicked_in(body)  # the channel: after the ack
            return next()
        log.warning("request refused: %s (%s, by %s)", refusal.reason,
                    body.get("type") or body.get("command"), refusal.actor)
        if body.get("command"):
            return BoltResponse(status=200, body=refusal.text)
        on_error(NotAllowed(refusal.text), body, client)
        return BoltResponse(status=200, body="")

    return middleware


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
