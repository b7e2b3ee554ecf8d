"""Slash command listeners: ack first (Slack's 3-second rule), then answer."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot import blocks
from bot.ids import Command


def social(ack: Ack, respond: Respond, command: dict) -> None:
    ack()
    # Only `help` exists yet; anything else gets the help too, so nobody is left guessing.
    respond(response_type="ephemeral", text="socialbot help", blocks=blocks.help_blocks())


def register(app: App) -> None:
    app.command(Command.SOCIAL.value)(social)
