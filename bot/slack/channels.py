"""`#name` channels in the rules file → Slack channel ids, resolved once when the rules are loaded.

The rules contract lets `teams.*.channel`, `reports.weekly.channel` and `alerts.spike.channel`
name a channel (`#social-care`) instead of giving its id (`C0123…`). Slack posts to either, but
`conversations.history` (the outbox's crash reconciliation) and every comparison with a channel
id in an event need the id, so the bot never runs with a name: `resolve_channels` swaps each one
for its id with a single `conversations.list` listing (public and private channels, archived ones
left out), and refuses to start — or to reload — when a name is not there.

Rules that give only ids cost no Slack call. `conversations.list` needs the bot scopes
`channels:read` (public channels) and `groups:read` (private channels, and only those the bot
was invited to).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.domain.rules.schema import Rules

LIST_TYPES = "public_channel,private_channel"
PAGE_LIMIT = 1000  # conversations.list's maximum
SCOPES = ("channels:read", "groups:read")
NOT_FOUND_HINT = "is the bot invited? private channels need it"


class ChannelNotFound(Exception):
    """A `#name` in the rules could not be resolved to a channel id. The message is one line
    naming every missing channel with the key it is used at, or Slack's error and the scope to
    add when the listing itself failed."""


def channel_refs(rules: Rules) -> Iterator[tuple[str, str]]:
    """(key, value) of every channel the rules name, in file order."""
    for team_id, team in rules.teams.items():
        yield f"teams.{team_id}.channel", team.channel
    if rules.reports.weekly is not None:
        yield "reports.weekly.channel", rules.reports.weekly.channel
    if rules.alerts.spike is not None:
        yield "alerts.spike.channel", rules.alerts.spike.channel


def resolve_channels(rules: Rules, client: Any, *, logger: logging.Logger) -> Rules:
    """A copy of `rules` with every `#name` channel replaced by its id.

    `client` is a `slack_sdk.WebClient` (anything with `conversations_list` answering like it).
    Raises `ChannelNotFound` for names not in the listing, and for a listing Slack refused.
    """
    names = {value for _key, value in channel_refs(rules) if value.startswith("#")}
    if not names:
        return rules  # ids only: nothing to ask Slack
    found = _list_ids(client, {n[1:].lower() for n in names})
    missing = [f"{key}: {value} not found ({NOT_FOUND_HINT})"
               for key, value in channel_refs(rules)
               if value.startswith("#") and value[1:].lower() not in found]
    if missing:
        raise ChannelNotFound("; ".join(missing))

    def resolved(channel: str) -> str:
        return found[channel[1:].lower()] if channel.startswith("#") else channel

    update: dict[str, Any] = {"teams": {
        team_id: (team.model_copy(update={"channel": resolved(team.channel)})
                  if team.channel.startswith("#") else team)
        for team_id, team in rules.teams.items()}}
    weekly = rules.reports.weekly
    if weekly is not None and weekly.channel.startswith("#"):
        update["reports"] = rules.reports.model_copy(update={
            "weekly": weekly.model_copy(update={"channel": resolved(weekly.channel)})})
    spike = rules.alerts.spike
    if spike is not None and spike.channel.startswith("#"):
        update["alerts"] = rules.alerts.model_copy(update={
            "spike": spike.model_copy(update={"channel": resolved(spike.channel)})})
    logger.info("channels resolved: %s", ", ".join(
        f"{name} → {found[name[1:].lower()]}" for name in sorted(names)))
    return rules.model_copy(update=update)


def channel_ids(client: Any, names: list[str]) -> dict[str, str]:
    """`#name` (or `name`) → channel id, for `socialbot init`; `ChannelNotFound` naming the
    ones Slack does not list to the bot."""
    wanted = {n.lstrip("#").lower(): n for n in names}
    found = _list_ids(client, set(wanted))
    missing = [n for key, n in wanted.items() if key not in found]
    if missing:
        raise ChannelNotFound(f"{', '.join(missing)} not found ({NOT_FOUND_HINT})")
    return {n: found[key] for key, n in wanted.items()}


def _list_ids(client: Any, wanted: set[str]) -> dict[str, str]:
    """name (lowercase, no `#`) → id for the `wanted` names, paging `conversations.list` until
    all are found or the listing ends."""
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        try:
            resp = client.conversations_list(types=LIST_TYPES, exclude_archived=True,
                                             limit=PAGE_LIMIT, cursor=cursor)
        except SlackApiError as exc:
            raise ChannelNotFound(_slack_error(exc)) from None
        except (SlackClientError, OSError) as exc:  # network, timeouts: no answer at all
            raise ChannelNotFound(f"cannot resolve #channel names: conversations.list failed "
                                  f"({type(exc).__name__}: {exc})") from None
        for channel in resp.get("channels") or ():
            for key in ("name", "name_normalized"):
                name = str(channel.get(key) or "").lower()
                if name in wanted and name not in found:
                    found[name] = str(channel["id"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None or wanted <= found.keys():
            return found


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    error = str((response.get("error") if response is not None else None) or "slack_error")
    if error == "missing_scope":
        needed = [s.strip() for s in str(response.get("needed") or "").split(",") if s.strip()]
        needed = needed or list(SCOPES)
        fix = (f"add the bot scope{'s' if len(needed) > 1 else ''} {' and '.join(needed)} "
               "(slack_manifest.yaml) and reinstall the app")
    else:
        fix = f"it needs the bot scopes {' and '.join(SCOPES)}"
    return (f"cannot resolve #channel names: Slack's conversations.list answered {error} — "
            f"{fix}; or give channel ids (C…) in the rules")
