"""Slack handles → user ids, for `socialbot init` (approvers are stored as ids).

`users.list` (scope `users:read`), paged; a handle matches a member's `name`, display name or
real name, case-insensitively, with or without `@`. Deleted members and bots are left out."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

PAGE_LIMIT = 200


class UserNotFound(Exception):
    """One line naming the handles not found, or Slack's error."""


def user_ids(client: Any, handles: list[str]) -> dict[str, str]:
    """handle (as given) → user id. `client` is a `slack_sdk.WebClient`."""
    wanted = {h.lstrip("@").lower(): h for h in handles}
    found: dict[str, str] = {}
    cursor: str | None = None
    while True:
        try:
            resp = client.users_list(limit=PAGE_LIMIT, cursor=cursor)
        except SlackApiError as exc:
            raise UserNotFound(f"users.list failed: {exc.response.get('error')} (the bot needs "
                               "the users:read scope)") from None
        except (SlackClientError, OSError) as exc:
            raise UserNotFound(f"users.list failed ({type(exc).__name__}: {exc})") from None
        for member in resp.get("members") or ():
            if member.get("deleted") or member.get("is_bot"):
                continue
            profile = member.get("profile") or {}
            for name in (member.get("name"), profile.get("display_name"),
                         profile.get("real_name")):
                key = str(name or "").lower()
                if key in wanted and key not in found:
                    found[key] = str(member["id"])
        cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None or wanted.keys() <= found.keys():
            break
    missing = [h for key, h in wanted.items() if key not in found]
    if missing:
        raise UserNotFound(f"{', '.join(missing)} not found among the workspace's members")
    return {h: found[key] for key, h in wanted.items()}
