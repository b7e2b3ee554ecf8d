"""Meta's webhook deliveries read as hints: which object to fetch, never what it says.

A delivery (`POST /meta/webhook`, signed: `bot.kit.webhooks`) names objects that changed:

    {"object": "page", "entry": [{"id": "<page id>", "time": 1764965000, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add", "comment_id": "…",
                                    "post_id": "…", "parent_id": "…", "message": "…"}}]}]}
    {"object": "instagram", "entry": [{"id": "<ig user id>", "changes": [
        {"field": "comments", "value": {"id": "<comment id>", "text": "…",
                                        "media": {"id": "…"}}},
        {"field": "mentions", "value": {"media_id": "…", "comment_id": "…"}}]}]}

`hints_of` keeps only the ids: the source then reads the object from the Graph API with its
own token, so a forged or replayed delivery cannot put words on a card (at worst it makes the
bot read a real object again, which the mention's unique id turns into nothing), and a
delivery Meta retries is the same hint twice. Anything else in a delivery is ignored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

MAX_HINTS = 200  # per delivery: Meta batches up to 1,000 changes; more waits for the poll
FEED_ITEMS = ("comment", "post", "status", "photo", "video", "share")


@dataclass(frozen=True, slots=True)
class Hint:
    """One object a delivery says changed. `account`: the Page or Instagram account id."""

    object: str  # page | instagram
    account: str
    kind: str  # comment | post | mention_comment | mention_media
    object_id: str
    post_id: str = ""  # the Page post a comment is on / the media a mention is in


def hints_of(payload: Any) -> list[Hint]:
    if not isinstance(payload, dict) or payload.get("object") not in ("page", "instagram"):
        return []
    out: list[Hint] = []
    for entry in payload.get("entry") or ():
        if not isinstance(entry, dict) or not str(entry.get("id") or "").isdigit():
            continue
        for change in entry.get("changes") or ():
            if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
                continue
            hint = _hint(str(payload["object"]), str(entry["id"]), str(change.get("field")),
                         change["value"])
            if hint is not None and hint.object_id and len(out) < MAX_HINTS:
                out.append(hint)
    return list(dict.fromkeys(out))  # a batch naming one object twice is one hint


def _hint(obj: str, account: str, field: str, value: dict[str, Any]) -> Hint | None:
    def ident(key: str) -> str:
        v = value.get(key)
        text = str(v) if isinstance(v, str | int) else ""
        return text if text.replace("_", "").isdigit() else ""  # ids only: digits and _

    if obj == "page" and field == "feed" and value.get("verb") == "add":
        if value.get("item") == "comment":
            return Hint(obj, account, "comment", ident("comment_id"), ident("post_id"))
        if value.get("item") in FEED_ITEMS:
            return Hint(obj, account, "post", ident("post_id"))
    if obj == "instagram" and field == "comments":
        media = value.get("media")
        media_id = str(media.get("id") or "") if isinstance(media, dict) else ""
        return Hint(obj, account, "comment", ident("id"),
                    media_id if media_id.isdigit() else "")
    if obj == "instagram" and field == "mentions":
        if ident("comment_id"):
            return Hint(obj, account, "mention_comment", ident("comment_id"), ident("media_id"))
        return Hint(obj, account, "mention_media", ident("media_id"), ident("media_id"))
    return None


class PendingHints:
    """A source's hints not yet read, shared by the webhook's thread and the poll's: taken
    at the start of a poll and put back when the poll fails, so a failed poll loses none."""

    def __init__(self, limit: int = 500) -> None:
        self._lock = threading.Lock()
        self._hints: dict[Hint, None] = {}
        self.limit = limit  # beyond it the oldest are dropped: the polls read them anyway

    def add(self, hint: Hint) -> None:
        with self._lock:
            self._hints[hint] = None
            while len(self._hints) > self.limit:
                self._hints.pop(next(iter(self._hints)))

    def take(self, most: int) -> list[Hint]:
        with self._lock:
            taken = list(self._hints)[:most]
            for h in taken:
                del self._hints[h]
            return taken

    def put_back(self, hints: list[Hint]) -> None:
        for h in hints:
            self.add(h)
