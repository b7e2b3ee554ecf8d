"""The one `@app.error` handler: a refusal becomes an ephemeral note to the person who clicked;
anything else is logged in full and shown as a short apology that leaks no detail."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.errors import DomainError
from bot.slack import blocks
from bot.slack.events import EventRaceLost

log = logging.getLogger(__name__)
APOLOGY = "Sorry, that didn't work because of a problem on our side. It has been logged."


def _where(body: dict) -> tuple[str | None, str | None, str | None]:
    """(channel, user, thread_ts) of the interaction, wherever Slack put them."""
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    channel = ((body.get("channel") or {}).get("id") or body.get("channel_id")
               or (body.get("container") or {}).get("channel_id"))
    thread = (body.get("message") or {}).get("thread_ts")
    return channel, user, thread


def on_error(error: Exception, body: dict, client: WebClient) -> None:
    if isinstance(error, EventRaceLost):
        log.info("event %s: a concurrent delivery did its work; this one rolled back",
                 (body or {}).get("event_id"))
        return
    if isinstance(error, DomainError):
        text = error.message
    else:
        log.error("listener failed", exc_info=error)
        text = APOLOGY
    channel, user, thread = _where(body or {})
    if not user or (body or {}).get("type") == "event_callback":
        return  # an event nobody clicked: the log has it
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread,
                                      **blocks.error_message(text))
        else:  # a modal was submitted: no channel to whisper in, so a DM from the bot
            client.chat_postMessage(channel=user, **blocks.error_message(text))
    except SlackApiError as exc:  # e.g. the bot isn't in that channel: the log must do
        log.warning("could not show an error to %s in %s: %s", user, channel,
                    exc.response.get("error"))


def reported(listener: Callable) -> Callable:
    """Run `listener`, showing any exception through `on_error` instead of raising it.

    Why not leave it to `@app.error`: slack-bolt 1.30's thread runner, when a listener acks
    and then raises within its 10 ms ack poll, overwrites the ack with None and answers Slack
    404 "unhandled request" (seen in tests/e2e/test_desk_journey.py). Keeping exceptions
    inside the listener keeps the ack Slack already has.
    """
    wanted = set(inspect.signature(listener).parameters)

    def wrapped(ack: Ack, body: dict, client: WebClient, context: BoltContext,
                view: dict | None = None, event: dict | None = None,
                respond: Respond | None = None) -> None:
        given = {"ack": ack, "body": body, "client": client, "context": context, "view": view,
                 "event": event, "respond": respond}
        try:
            listener(**{k: v for k, v in given.items() if k in wanted})
        except Exception as exc:
            on_error(exc, body, client)

    wrapped.__name__ = getattr(listener, "__name__", "listener")
    return wrapped
