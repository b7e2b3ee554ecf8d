"""Links to Slack messages (cards, alerts) in the form Slack's own permalinks take. PURE."""

from __future__ import annotations

import re

from bot.blocks.text import link

SLACK_WEB = "https://slack.com"  # redirects to the reader's workspace
_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,30}$")
_TS = re.compile(r"^\d{9,11}\.\d{6}$")


def message_url(channel: str | None, ts: str | None, base: str = SLACK_WEB) -> str | None:
    """`https://slack.com/archives/C…/p1700000000000001`, or None when either id is not
    a well-formed Slack id (never a link built from untrusted text)."""
    if not channel or not ts or not _CHANNEL.match(channel) or not _TS.match(ts):
        return None
    return f"{base}/archives/{channel}/p{ts.replace('.', '')}"


def message_link(channel: str | None, ts: str | None, label: str) -> str | None:
    url = message_url(channel, ts)
    return link(url, label) if url else None
