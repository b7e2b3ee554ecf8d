"""Event listeners: a reply in a card's thread by the person holding the card becomes the draft;
opening the App Home publishes the user's Home tab (and has it kept current: bot.home.refresh)."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.services import services_of
from bot.slack.text import to_plain
from handlers.errors import reported


def on_message(event: dict, context: BoltContext) -> None:
    # Only plain human replies inside a thread: not the card itself, edits, joins or bots.
    thread_ts = event.get("thread_ts")
    if (not thread_ts or thread_ts == event.get("ts") or event.get("subtype")
            or event.get("bot_id") or not event.get("user")):
        return
    services_of(context).draft_from_thread(
        channel=event.get("channel", ""), thread_ts=thread_ts, user=event["user"],
        text=to_plain(event.get("text") or ""))


def on_app_home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    """Publish the user's Home tab (their queue, the teams' counts, sources) as it is now."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return
    view = services_of(context).home_of(event["user"])
    client.views_publish(user_id=event["user"], view=view)


def register(app: App) -> None:
    app.event("message")(reported(on_message))
    app.event("app_home_opened")(reported(on_app_home_opened))
