"""Thin Bolt listeners grouped by Slack surface. `register(app)` is the only place they meet the app."""

from __future__ import annotations

from slack_bolt import App

from handlers import commands


def register(app: App) -> None:
    commands.register(app)
