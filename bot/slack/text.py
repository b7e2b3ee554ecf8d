"""PURE: Slack message text → the plain text a reply should carry on a social network.

Slack sends what people type with its own markup: `&amp;`/`&lt;`/`&gt;` entities, links as
`<https://…|label>` or `<https://…>`, mentions as `<@U…>`. A reply drafted in a thread must go
out as the words the person wrote, not as that markup.
"""

from __future__ import annotations

import re

_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<[@#!][^>]*>")


def to_plain(text: str) -> str:
    def link(m: re.Match[str]) -> str:
        url, label = m.group(1), m.group(2)
        url = url.removeprefix("mailto:")
        # Slack auto-labels bare links with the URL itself; keep the URL, which the networks
        # turn into a link. A human-chosen label would hide the URL on X: keep the URL too.
        return url if not label or label == url or label == m.group(1) else f"{label} ({url})"

    out = _LINK.sub(link, text)
    out = _SPECIAL.sub("", out)  # a Slack mention means nothing on X or Mastodon
    out = out.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", out).strip()
