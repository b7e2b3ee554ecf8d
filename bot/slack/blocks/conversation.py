"""One post of a card's thread in Slack (`thread_post`): a follow-up, context, or the brand
answering outside socialbot. PURE. The card's own conversation lines are in `card_conversation`."""

from __future__ import annotations

from bot.domain.card import PostView
from bot.slack.blocks.card import handle_of, net_label
from bot.slack.blocks.text import (
    POST_TEXT_MAX,
    context,
    esc,
    escape_mrkdwn,
    inline,
    link,
    mention,
    section,
    slack_date,
    truncate_escaped,
)

ROLE_HEAD = {"follow_up": ":speech_balloon: *Customer replied*",
             "context": ":busts_in_silhouette: In the conversation",
             "outside": ":outbox_tray: *Answered outside socialbot*"}


def _who(post: PostView) -> str:
    handle = escape_mrkdwn(handle_of(post.network, post.author_handle))
    name = esc(post.author_name or "", 200)
    return f"*{name}* {handle}" if name else f"*{handle}*"


def thread_post(post: PostView) -> dict:
    """One post in the card's thread, escaped like the card; a follow-up tells the claimer
    (a user mention in the thread: never `@channel`)."""
    head = ROLE_HEAD.get(post.role, esc(post.role, 40))
    if post.role == "outside":
        head += f" by {_who(post)}"
    else:
        head += f" · {_who(post)}"
    if post.notify:
        head += f" · {mention(post.notify)}"
    bits = [link(post.url, f"Open on {net_label(post.network)}") if post.url else "_no link_"]
    if post.created_at:
        bits.append(f"posted {slack_date(post.created_at)}")
    body = truncate_escaped(post.text, POST_TEXT_MAX) if post.text.strip() else "_(no text)_"
    fallback = truncate_escaped(
        f"{handle_of(post.network, post.author_handle)}: {inline(post.text)}", 300)
    return {"text": fallback, "blocks": [section(head), section(body), context(" · ".join(bits))]}


FOLDED_SHOWN = 10  # excerpts in the folded message; the rest are counted


def folded_posts(posts: list[PostView], total: int) -> dict:
    """Posts too many to post one by one (a busy thread), summed up in one message: the count
    and the first excerpts, each escaped and linked."""
    lines = [f":speech_balloon: *{total:,} more message{'s' if total != 1 else ''} in the "
             "conversation* (folded to keep the channel readable)"]
    for post in posts[:FOLDED_SHOWN]:
        who = escape_mrkdwn(handle_of(post.network, post.author_handle))
        lines.append(f"• {who}: {truncate_escaped(post.text, 200)}"
                     + (f" · {link(post.url, 'open')}" if post.url else ""))
    if total > FOLDED_SHOWN:
        lines.append(f"…and {total - FOLDED_SHOWN:,} more")
    blocks = [section(lines[0])]
    if len(lines) > 1:
        blocks.append(section("\n".join(lines[1:])))
    return {"text": f"{total:,} more messages in the conversation", "blocks": blocks}
