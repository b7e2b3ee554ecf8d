"""What a card shows of its conversation once the customer has written again. PURE."""

from __future__ import annotations

from bot.domain.card import CardView
from bot.slack.blocks.text import esc, link, truncate_escaped


def _minutes(n: int) -> str:
    if n < 60:
        return f"{n} min"
    hours, mins = divmod(n, 60)
    return f"{hours} h {mins:02d} min" if hours < 48 else f"{hours // 24} days"


def conversation_lines(view: CardView) -> list[str]:
    """"Customer replied" with the count and the wait, which post a reply answers, why the
    priority rose, and a warning on a draft the customer has overtaken."""
    c = view.conversation
    lines: list[str] = []
    if view.priority_reason:
        lines.append(f":arrow_up: Priority {esc(view.priority_reason, 300)}")
    if c is None:
        return lines
    n = c.follow_ups
    head = f":speech_balloon: *Customer replied* · {n} message{'s' if n != 1 else ''}"
    head += (f" · waiting {_minutes(c.waiting_minutes)}" if c.waiting_minutes is not None
             else " · answered")
    if c.reopens:
        head += f" · reopened{f' {c.reopens}×' if c.reopens > 1 else ''}"
    lines.append(head)
    if c.reply_to is not None:
        lines.append("Replies answer the latest message: "
                     + link(c.reply_to.url, "this post") + " — "
                     + truncate_escaped(c.reply_to.text, 200))
    if c.draft_stale:
        lines.append(":warning: *This draft was written before the customer's last message.*")
    return lines
