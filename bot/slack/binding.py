"""Workspace and channel binding: who may reach the desk at all, and from where.

A correctly signed request only proves that Slack sent it, not that it comes from the
workspace the bot serves: in a Slack Connect channel, people of another organisation click
the same buttons, and a signed click from another team id claimed, drafted and sent a public
reply as the brand (issue 18). So, before any listener runs (`handlers.middleware.bind`):

- a request whose team (or, when the app is installed org-wide on Enterprise Grid, whose
  enterprise) is not the one `auth.test` names for the bot token is refused, for the team of
  the payload and for the team of the user who acted;
- a card's button (its value a `CardRef`) is refused outside the card's channel: the channel
  the card was posted to, the team's channel (a digest, a reminder before the card exists), or
  a direct message from the bot (approval requests). App Home and modals carry no channel.
  This needs the mention, so it is checked after the ack, in the click's unit of work
  (`Services` bound to the `Click`): reading it before the ack cost 80 ms of ack p99 at 50
  concurrent clicks (bench/desk.py).

Every refusal is audited (`refused`, with the reason) and told to the person in one line.
Requests that carry no team at all (Slack's URL verification and SSL checks) pass.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session

from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.slack.ids import CardRef

log = logging.getLogger(__name__)

FOREIGN = "socialbot only serves its own Slack workspace."
UNKNOWN = "socialbot can't confirm its own workspace right now; try again in a minute."
ELSEWHERE = "That button belongs to a card in another channel: use it on the card itself."


@dataclass(frozen=True, slots=True)
class Installed:
    team_id: str
    enterprise_id: str | None
    org_wide: bool  # installed on a whole Enterprise Grid organisation


@dataclass(frozen=True, slots=True)
class Refusal:
    text: str  # what the person is told
    reason: str  # what the audit trail records
    actor: str
    mention_id: int | None = None
    detail: dict[str, Any] | None = None


class Workspace:
    """The workspace the bot token belongs to (`auth.test`, asked once, and again after a
    failure: until it answers, requests are refused rather than let through unchecked)."""

    def __init__(self, client: WebClient | None = None,
                 installed: Installed | None = None) -> None:
        self._client, self._installed = client, installed
        self._lock = threading.Lock()

    def installed(self) -> Installed | None:
        with self._lock:
            if self._installed is None and self._client is not None:
                try:
                    got = self._client.auth_test()
                except (SlackApiError, SlackClientError, OSError) as exc:
                    log.warning("auth.test failed, requests refused until it answers: %s", exc)
                    return None
                self._installed = Installed(str(got.get("team_id") or ""),
                                            got.get("enterprise_id") or None,
                                            bool(got.get("is_enterprise_install")))
            return self._installed


def _teams_of(body: dict) -> tuple[set[str], set[str]]:
    """The team and enterprise ids a request names: the payload's and the acting user's."""
    teams, enterprises = set(), set()
    team = body.get("team")
    for value in (body.get("team_id"), team.get("id") if isinstance(team, dict) else None,
                  (body.get("user") or {}).get("team_id") if isinstance(body.get("user"), dict)
                  else None):
        if isinstance(value, str) and value:
            teams.add(value)
    enterprise = body.get("enterprise")
    for value in (body.get("enterprise_id"),
                  enterprise.get("id") if isinstance(enterprise, dict) else None):
        if isinstance(value, str) and value:
            enterprises.add(value)
    return teams, enterprises


def actor_of(body: dict) -> str:
    user = body.get("user")
    return str((user.get("id") if isinstance(user, dict) else None) or body.get("user_id")
               or "unknown")[:64]


def workspace_refusal(workspace: Workspace | None, body: dict) -> Refusal | None:
    """A refusal when `body` comes from another workspace than the installed one."""
    if workspace is None:
        return None
    teams, enterprises = _teams_of(body)
    if not teams and not enterprises:
        return None  # url_verification, ssl_check: nothing to bind
    installed = workspace.installed()
    if installed is None:
        return Refusal(UNKNOWN, "workspace unknown (auth.test failed)", actor_of(body))
    if installed.org_wide and installed.enterprise_id:
        ok = enterprises == {installed.enterprise_id}
    else:
        ok = teams <= {installed.team_id} and (
            not enterprises or enterprises == {installed.enterprise_id})
    if ok:
        return None
    return Refusal(FOREIGN, "another workspace", actor_of(body),
                   detail={"teams": sorted(teams), "enterprises": sorted(enterprises),
                           "type": str(body.get("type") or body.get("command") or "")[:40]})


@dataclass(frozen=True, slots=True)
class Click:
    """A card's button clicked in a channel: checked in the click's unit of work."""

    mention_id: int
    channel: str
    actor: str


def clicked(body: dict) -> Click | None:
    """The card a block action is about and the channel it was clicked in (None: not a card's
    button, or clicked where no channel applies: App Home, a DM from the bot)."""
    if body.get("type") != "block_actions":
        return None
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    action = actions[0]
    raw = action.get("value") or (action.get("selected_option") or {}).get("value") or ""
    try:
        ref = CardRef.decode(str(raw))
    except ValueError:
        return None  # not a card's button (or broken: the listener says so)
    channel = ((body.get("channel") or {}).get("id")
               or (body.get("container") or {}).get("channel_id"))
    if not isinstance(channel, str) or channel.startswith("D"):  # App Home, a DM from the bot
        return None
    return Click(ref.mention_id, channel, actor_of(body))


def channel_refusal(session: Session, rules: Rules, click: Click) -> Refusal | None:
    """A refusal when a card's button was clicked outside the card's channel."""
    mention = session.get(models.Mention, click.mention_id)
    if mention is None:
        return None  # the listener answers "not found"
    team = rules.teams.get(mention.team)
    if click.channel in {mention.slack_channel, team.channel if team else None}:
        return None
    return Refusal(ELSEWHERE, "button outside the card's channel", click.actor,
                   mention_id=mention.id,
                   detail={"channel": click.channel[:32], "card_channel": mention.slack_channel})


def audit(session: Session, refusal: Refusal, now: datetime) -> None:
    session.add(models.AuditEvent(
        mention_id=refusal.mention_id, at=now, actor=refusal.actor, action="refused",
        detail={"reason": refusal.reason, **(refusal.detail or {})}))
