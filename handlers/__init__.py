"""Thin Bolt listeners grouped by Slack surface. `register` is the only place they meet the app."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.services import Services
from handlers import actions, commands, events, middleware, views
from handlers.errors import on_error


def register(app: App, services: Services) -> None:
    app.use(middleware.bind(services))  # first: nothing from elsewhere is even deduplicated
    app.use(middleware.dedupe_events(services))
    app.use(middleware.inject(services))
    app.error(on_error)
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
