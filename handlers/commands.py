"""Slash command listeners: ack first (Slack's 3-second rule), then answer.

`/social report` takes seconds on a big database (queries, a chart, an upload), so the ack
goes out before any work; the work runs in this listener's thread after it, and anything it
raises is shown through `handlers.errors.reported` (which says why it is caught in the
listener rather than left to Bolt).
"""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.slack.ids import Command
from bot.slack.services import services_of
from handlers.errors import reported


def social(ack: Ack, body: dict, client: WebClient, context: BoltContext,
           respond: Respond) -> None:
    ack()
    services_of(context).reports.social(
        body.get("text") or "", user=body.get("user_id") or "",
        channel=body.get("channel_id") or "", client=client, respond=respond)


def register(app: App) -> None:
    app.command(Command.SOCIAL.value)(reported(social))
