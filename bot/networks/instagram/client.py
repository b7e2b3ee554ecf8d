"""What the Instagram source and publisher share: the fields and reading Instagram's objects.

Instagram's Graph API answers on graph.facebook.com with the Page token of the Page the
professional account is linked to (`bot.networks.facebook.client.build_graph`). Times look
like Facebook's (`2026-12-05T20:41:07+0000`). A comment names its writer by `username` (and
`from{id,username}`); the brand's own comments carry the account's id in `from`.
"""

from __future__ import annotations

from typing import Any

MEDIA_FIELDS = "id,caption,timestamp,permalink,username,comments_count"
COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},hidden,parent_id"
REPLY_FIELDS = COMMENT_FIELDS
WWW = "https://www.instagram.com"
NOBODY = "An Instagram user"
# Why a mention can't be answered from the desk (`Mention.extra["no_reply"]`, shown on the card).
NOT_A_COMMENT = ("Instagram lets a business answer comments only, not someone else's post: "
                 "answer it in the Instagram app if at all")


MENTIONED_ELSEWHERE = ("a comment on someone else's post that mentions the account: socialbot "
                       "does not answer these yet (Instagram's mentions API); answer it in the "
                       "Instagram app")
MENTION_FIELDS = "id,text,timestamp,username,media{id,permalink}"
MENTIONED_MEDIA_FIELDS = "id,caption,timestamp,username,permalink"


def writer(thing: dict[str, Any]) -> tuple[str, str]:
    """(id, username) of who wrote a comment or a post; ("", "") when not given."""
    who = thing.get("from")
    user_id = str(who.get("id") or "") if isinstance(who, dict) else ""
    name = str((who.get("username") if isinstance(who, dict) else None)
               or thing.get("username") or "")
    return user_id, name
