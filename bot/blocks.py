"""PURE Block Kit builders. No I/O, no DB: plain values in, dicts out.

Untrusted text (posts, author names) goes through `escape_mrkdwn` / `plain_text` so a post can
never ping `@channel`, mention a user or disguise a link (PLATFORM.md, "Escaping untrusted text").
"""

from __future__ import annotations

SECTION_TEXT_MAX = 3000


def escape_mrkdwn(text: str) -> str:
    """Make untrusted text inert in mrkdwn: `&` first, then `<` and `>`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate_escaped(text: str, limit: int, ellipsis: str = "…") -> str:
    """Escape, then cut to `limit` characters without splitting an `&amp;`-style entity."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - len(ellipsis)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ellipsis


HELP_LINES = (
    ("/social help", "this message"),
)


def help_blocks(planned: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    """The `/social help` message: what works now, and what is planned."""
    lines = [f"`{cmd}` — {what}" for cmd, what in HELP_LINES]
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "socialbot"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
    ]
    if planned:
        blocks.append({"type": "context", "elements": [{
            "type": "mrkdwn", "text": "Coming: " + ", ".join(f"`{c}`" for c, _ in planned)}]})
    return blocks
