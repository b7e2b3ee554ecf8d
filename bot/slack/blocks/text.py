"""Text for Block Kit: escaping untrusted text, Slack's length rules, text objects, our own
control sequences (mentions, dates, links).

The only `<…>` sequences that ever reach Slack are built here, from validated values:
`<@U…>` (`mention`), `<!subteam^S…>` (`mention`), `<!date^…>` (`slack_date`) and
`<https://…|label>` (`link`). Everything else is escaped (`&` first, then `<` and `>`), so a
post can never ping `@channel`, mention a user or disguise a link (PLATFORM.md).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from urllib.parse import urlsplit

# Block Kit limits (PLATFORM.md), in Slack's counting: see `slack_len`.
MESSAGE_BLOCKS_MAX = 50
MODAL_BLOCKS_MAX = 100
SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
FIELD_MAX = 2000
FIELDS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
CONTEXT_ELEMENTS_MAX = 10
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
OPTIONS_MAX = 100
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OVERFLOW_OPTIONS_MAX = 5
MODAL_TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
PLACEHOLDER_MAX = 150
INPUT_MAX = 3000  # plain_text_input max_length (and so initial_value)
MESSAGE_TEXT_MAX = 40_000

POST_TEXT_MAX = 2900  # the post in a card's section: room to spare under SECTION_TEXT_MAX
ELLIPSIS = "…"


def slack_len(text: str) -> int:
    """Length as Slack's JavaScript-side validators count it: UTF-16 code units, so an emoji
    outside the BMP counts 2. Counting code points would let 2,900 emoji through as 5,800."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _cut(text: str, budget: int) -> str:
    """The longest prefix of `text` whose `slack_len` is at most `budget`."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > budget:
            return text[:i]
    return text


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text inert in mrkdwn: `&` first, then `<` and `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate_escaped(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Escape, then cut to `limit` (Slack length) without splitting an `&amp;`-style entity."""
    escaped = escape_mrkdwn(text)
    if slack_len(escaped) <= limit:
        return escaped
    cut = _cut(escaped, limit - slack_len(ellipsis))
    amp = cut.rfind("&")  # after escaping, every & starts an entity (at most 5 characters)
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ellipsis


def clip(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Cut plain text (no escaping: plain_text and input values) to `limit` Slack length."""
    if slack_len(text) <= limit:
        return text
    return _cut(text, limit - slack_len(ellipsis)) + ellipsis


_BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C], None)


def inline(text: str) -> str:
    """An untrusted one-line value (a name, a handle) that sits among our own words: line
    breaks and control characters become spaces and bidi controls go, so a right-to-left
    override in a display name cannot reverse the text that follows it on the card."""
    text = text.translate(_BIDI_CONTROLS)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return " ".join(text.split())


def esc(text: str, limit: int) -> str:
    """An untrusted one-line value, made inline, escaped and cut to `limit`."""
    return truncate_escaped(inline(text), limit)


# --- Text objects ---------------------------------------------------------------------------
def md(text: str) -> dict:
    """A mrkdwn text object. `verbatim` keeps Slack from auto-parsing bare names and mentions
    in it; our own `<@U…>`-style sequences still work."""
    return {"type": "mrkdwn", "text": text if text.strip() else "_(empty)_", "verbatim": True}


def plain(text: str, limit: int = SECTION_TEXT_MAX) -> dict:
    """A plain_text object, clipped to `limit`. Never mrkdwn-parsed; Slack refuses it blank."""
    return {"type": "plain_text", "text": clip(text, limit) if text.strip() else "–",
            "emoji": True}


def section(text: str) -> dict:
    """A section of mrkdwn that the caller has already escaped and kept within limits."""
    return {"type": "section", "text": md(text)}


def sections(lines: list[str], limit: int = SECTION_TEXT_MAX) -> list[dict]:
    """Lines of our own mrkdwn (each already within `limit`) packed into as few sections as
    the limit allows: a line is never cut, so no entity or `<…>` sequence is ever split."""
    out: list[str] = []
    for line in lines:
        if out and slack_len(out[-1]) + 1 + slack_len(line) <= limit:
            out[-1] += "\n" + line
        else:
            out.append(line)
    return [section(text) for text in out if text.strip()]


def context(*texts: str) -> dict:
    return {"type": "context", "elements": [md(t) for t in texts if t][:CONTEXT_ELEMENTS_MAX]}


# --- Our own control sequences --------------------------------------------------------------
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,30}$")


def mention(slack_id: str | None) -> str:
    """`<@U…>` for a user, `<!subteam^S…>` for a user group; anything else is shown inert."""
    if not slack_id:
        return "someone"
    if _USER_ID.match(slack_id):
        return f"<@{slack_id}>"
    if _GROUP_ID.match(slack_id):
        return f"<!subteam^{slack_id}>"
    return esc(slack_id, 64)


def mentions(ids: tuple[str, ...] | list[str], empty: str = "a team approver",
             most: int = 20) -> str:
    """`<@U1>, <!subteam^S1>` … (at most `most`, then "and N more")."""
    if not ids:
        return empty
    shown = ", ".join(mention(i) for i in ids[:most])
    return shown + (f" and {len(ids) - most} more" if len(ids) > most else "")


_URL_FORBIDDEN = frozenset('<>|"`\\ ')


def safe_url(url: str | None, max_len: int = 1500) -> str | None:
    """`url` when it is an absolute http(s) URL that can sit inside `<…|…>` untouched, else
    None. Anything with brackets, a pipe, spaces, control or format characters is refused:
    a post's own `<http://evil|bank>` can never become one of our links."""
    if not url or len(url) > max_len:
        return None
    if any(ch in _URL_FORBIDDEN or unicodedata.category(ch)[0] in "CZ" for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def link(url: str | None, label: str) -> str:
    """`<url|label>` with an escaped label when `url` is safe, else just the escaped label."""
    good = safe_url(url)
    shown = esc(label, 300) or "link"
    target = escape_mrkdwn(good) if good else ""
    if not target or len(target) > 2000:
        return shown
    return f"<{target}|{shown}>"


def utc(dt: datetime) -> datetime:
    """Aware UTC (naive values are taken as UTC, as everywhere in the database)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def slack_date(dt: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A date each reader sees in their own time zone, with a UTC fallback."""
    dt = utc(dt)
    return f"<!date^{int(dt.timestamp())}^{fmt}|{dt:%Y-%m-%d %H:%M} UTC>"


def label(value: str) -> str:
    """`case_opened` → `Case opened` (P1…P4 stay as they are)."""
    value = value.replace("_", " ").strip()
    return value[:1].upper() + value[1:] if value else value
