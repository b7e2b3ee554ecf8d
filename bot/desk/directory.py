"""Who may approve a team's drafts: the team's `approvers` user ids (U…/W…) plus the members of
its user groups (S…), looked up with Slack's `usergroups.users.list`.

That method is Tier 2 (~20 calls/min) and answers `plan_upgrade_required` on free workspaces
(no user groups there), so members are cached for 10 minutes and any failure falls back to the
user ids listed in the rules (plus the last members seen, if any), logged once per problem.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

from bot.domain.rules.schema import Team
from bot.slack.blocks.links import SLACK_WEB, workspace_address

log = logging.getLogger(__name__)

MEMBERS_TTL = 600.0  # seconds a group's member list is trusted
RETRY_AFTER_ERROR = 60.0  # a failing lookup is not retried sooner (Tier 2 budget)


class Approvers(Protocol):
    def approvers(self, team: Team) -> frozenset[str]: ...
    def is_approver(self, team: Team, user_id: str) -> bool: ...
    def workspace_url(self) -> str: ...


def _split(team: Team) -> tuple[frozenset[str], tuple[str, ...]]:
    users = frozenset(a for a in team.approvers if not a.startswith("S"))
    groups = tuple(a for a in team.approvers if a.startswith("S"))
    return users, groups


class _Resolver:
    def members(self, group_id: str) -> frozenset[str]:
        raise NotImplementedError

    def approvers(self, team: Team) -> frozenset[str]:
        """Every user id that may approve for `team`, groups expanded."""
        users, groups = _split(team)
        for g in groups:
            users |= self.members(g)
        return users

    def is_approver(self, team: Team, user_id: str) -> bool:
        users, groups = _split(team)
        # Listed users never cost a Slack call.
        return user_id in users or any(user_id in self.members(g) for g in groups)

    def workspace_url(self) -> str:
        """The base of links to Slack messages (see bot.slack.blocks.links)."""
        return SLACK_WEB


class Directory(_Resolver):
    """Group members from Slack, cached; thread-safe (Bolt runs listeners on a pool)."""

    def __init__(self, client: Any, clock: Callable[[], float] = time.monotonic, *,
                 ttl: float = MEMBERS_TTL, retry_after_error: float = RETRY_AFTER_ERROR) -> None:
        self._client = client  # slack_sdk.WebClient, or anything with usergroups_users_list
        self._clock = clock
        self._ttl = ttl
        self._retry = retry_after_error
        self._cache: dict[str, tuple[frozenset[str], float]] = {}  # group → (members, expiry)
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._workspace: str | None = None
        self._workspace_retry = 0.0

    def members(self, group_id: str) -> frozenset[str]:
        with self._lock:  # one lookup per group at a time: concurrent clicks share it
            now = self._clock()
            cached = self._cache.get(group_id)
            if cached and now < cached[1]:
                return cached[0]
            try:
                resp = self._client.usergroups_users_list(usergroup=group_id)
                users = frozenset(str(u) for u in resp.get("users") or ())
                self._cache[group_id] = (users, now + self._ttl)
                return users
            except SlackApiError as exc:
                code = str(exc.response.get("error") or "slack_error")
            except Exception as exc:  # network, timeouts: approvals must keep working
                code = type(exc).__name__
            stale = cached[0] if cached else frozenset()
            # No groups on this plan: that won't change in a minute, so wait a full TTL.
            wait = self._ttl if code == "plan_upgrade_required" else self._retry
            self._cache[group_id] = (stale, now + wait)
            self._log_once(group_id, code, len(stale))
            return stale

    def workspace_url(self) -> str:
        """The workspace's own address (`auth.test`'s `url`, asked once): links to cards then
        take the form of Slack's permalinks. slack.com while it is unknown (the call failed:
        asked again after a while, never on every link)."""
        with self._lock:
            if self._workspace is not None:
                return self._workspace
            now = self._clock()
            if now < self._workspace_retry:
                return SLACK_WEB
            try:
                found = workspace_address(str(self._client.auth_test().get("url") or ""))
                code = "no usable url" if found is None else ""
            except SlackApiError as exc:
                found, code = None, str(exc.response.get("error") or "slack_error")
            except Exception as exc:  # network, timeouts: links fall back, nothing breaks
                found, code = None, type(exc).__name__
            if found is not None:
                self._workspace = found
                return found
            self._workspace_retry = now + self._retry
            self._log_once("auth.test", code, 0)
            return SLACK_WEB

    def _log_once(self, group_id: str, code: str, stale: int) -> None:
        key = ("*" if code == "plan_upgrade_required" else group_id, code)
        if key in self._logged:
            return
        self._logged.add(key)
        if group_id == "auth.test":
            log.warning("auth.test failed (%s): links to cards use %s until it answers", code,
                        SLACK_WEB)
        elif code == "plan_upgrade_required":
            log.warning("Slack user groups are not available on this plan "
                        "(plan_upgrade_required): approvers are the user ids in the rules only")
        else:
            log.warning("usergroups.users.list %s failed (%s): using %s", group_id, code,
                        f"the last {stale} members seen" if stale else "the listed user ids only")


class StaticDirectory(_Resolver):
    """Fixed group membership, for tests and for workspaces without user groups."""

    def __init__(self, groups: Mapping[str, Iterable[str]] | None = None, *,
                 workspace: str = SLACK_WEB) -> None:
        self._groups = {g: frozenset(users) for g, users in (groups or {}).items()}
        self._workspace = workspace

    def workspace_url(self) -> str:
        return self._workspace

    def members(self, group_id: str) -> frozenset[str]:
        return self._groups.get(group_id, frozenset())
