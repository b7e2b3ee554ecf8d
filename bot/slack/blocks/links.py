"""Links to Slack messages (cards, alerts) in the form Slack's own permalinks take. PURE.

A permalink is the workspace's address + `/archives/<channel>/p<ts without its dot>` (what
`chat.getPermalink` answers for a message that is not a thread reply). The workspace address
comes from `auth.test` (`bot.desk.directory.Directory.workspace_url`); `SLACK_WEB` stands in until it
is known."""

from __future__ import annotations

import re

from bot.slack.blocks.text import link

SLACK_WEB = "https://slack.com"  # until the workspace's own address is known
_WORKSPACE = re.compile(r"^https://[A-Za-z0-9.-]+$")  # nothing that could break a <url|label>
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
_TS = re.compile(r"^\d{9,11}\.\d{6}$")


def workspace_address(url: str | None) -> str | None:
    """`auth.test`'s `url` ("https://acme.slack.com/") as a link base, or None when it is not
    a plain https address."""
    base = (url or "").strip().rstrip("/")
    return base if _WORKSPACE.match(base) else None


def message_url(channel: str | None, ts: str | None, base: str = SLACK_WEB) -> str | None:
    """`https://acme.slack.com/archives/C…/p1700000000000001`, or None when either id is not
    a well-formed Slack id (never a link built from untrusted text)."""
    if not channel or not ts or not _CHANNEL.match(channel) or not _TS.match(ts):
        return None
    return f"{workspace_address(base) or SLACK_WEB}/archives/{channel}/p{ts.replace('.', '')}"


def message_link(channel: str | None, ts: str | None, label: str,
                 base: str = SLACK_WEB) -> str | None:
    url = message_url(channel, ts, base)
    return link(url, label) if url else None
