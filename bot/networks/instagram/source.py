"""`instagram`: comments on one professional account's media, and media it is tagged in
(`ig_user_id:` in the rules).

A poll reads the account's newest media (`/{ig-user-id}/media`, MAX_MEDIA) and the media
tagging it (`/{ig-user-id}/tags`, MAX_MEDIA). For each media whose `comments_count` changed
since the last poll of this process (all of them after a start), its comments
(`/{media-id}/comments`, newest first, with their `replies` expanded) written since the cursor,
at most MAX_COMMENT_PAGES; a burst beyond that is a gap scoped to the media (bot.networks.gaps:
Graph's `after` cursor), read by the next polls until it is closed.
Instagram gives no change time on media, so the count is what says "something new here".
The media the desk has comment cards on (`follows_conversations`: `SourceState.watch`,
bot.listening.watching) that the newest MAX_MEDIA do not hold, the most recently active, have
their comments read the same way each poll (bot.networks.graph.comments): an answer under an
old media joins the card's thread without the webhook.

Webhook hints (`bot.listening.hints`): comments named by a delivery are read by id; a mention
elsewhere is read through the account (`mentioned_comment` / `mentioned_media`). A mention on a
private account can't be read: a note, no card.

Mentions: a comment (`comment`), a reply in a comment's thread (`reply`), a post tagging the
account (`tag`: someone else's post, which Instagram does not let a business answer; the card
says so). The account's own comments are skipped; a comment the account hid arrives marked
`hidden`. A reply's `in_reply_to_id` is its comment (Instagram threads replies one level
deep), a comment's `conversation_id` its media: an answer under a carded comment joins the
card's thread. The cursor is the newest `timestamp` seen (epoch seconds), read with OVERLAP.

Usage headers, throttling and 190: as `bot.networks.facebook.source` (shared Graph client).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import Fetch, Rejected, SourceState
from bot.networks.gaps import Backfill, Page
from bot.networks.graph.client import GraphClient, GraphError, graph_time
from bot.networks.graph.comments import read_comments, watched
from bot.networks.graph.failures import check_cursor, source_error
from bot.networks.graph.pacing import UsagePacer
from bot.networks.graph.webhook import Hint, PendingHints
from bot.networks.instagram.client import (
    COMMENT_FIELDS,
    MEDIA_FIELDS,
    MENTION_FIELDS,
    MENTIONED_ELSEWHERE,
    MENTIONED_MEDIA_FIELDS,
    NOBODY,
    NOT_A_COMMENT,
    REPLY_FIELDS,
    WWW,
    writer,
)
from bot.networks.rejects import parse_into, rejected_post

log = logging.getLogger(__name__)

MAX_MEDIA = 25
COMMENT_PAGE = 50
MAX_COMMENT_PAGES = 2
OVERLAP = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(hours=24)
TOKEN = "META_PAGE_ACCESS_TOKEN"
MAX_HINTS = 50


class InstagramSource:
    """`type: instagram` — comments and tags of the account `spec.ig_user_id`."""

    follows_conversations = True  # the desk's media beyond the newest MAX_MEDIA

    def __init__(self, spec: SourceSpec, brand: Brand, graph: GraphClient, *,
                 max_media: int = MAX_MEDIA, max_comment_pages: int = MAX_COMMENT_PAGES,
                 comment_page: int = COMMENT_PAGE) -> None:
        self.spec = spec
        self.brand = brand
        self.graph = graph
        self.account = spec.ig_user_id or ""
        self.max_media = max_media
        self.max_comment_pages = max_comment_pages
        self.comment_page = comment_page
        self.counts: dict[str, int] = {}  # media id → comments_count at the last poll
        self.pacer = UsagePacer()  # near Meta's limit: every other poll is skipped
        self.pending = PendingHints()  # from the webhook: objects to read by id

    def accepts(self, hint: Hint) -> bool:
        return hint.object == "instagram" and hint.account == self.account

    def hint(self, hint: Hint) -> None:
        self.pending.add(hint)

    @property
    def where(self) -> str:
        return f"instagram account {self.account}"

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        slowed = self.pacer.check(self.graph.usage, self.where, state, now)
        if slowed is not None:
            return slowed
        cursor = int(state.cursor) if state.cursor and state.cursor.isdigit() else None
        since = (datetime.fromtimestamp(cursor, UTC) - OVERLAP if cursor is not None
                 else now - FIRST_LOOKBACK)
        found: list[Mention] = []
        notes: list[str] = []
        reads = 0
        counts: dict[str, int] = {}
        rejected: list[Rejected] = []
        hints = self.pending.take(MAX_HINTS)
        # Comments, per media: newest first down to `since`; a burst beyond the page cap is a
        # gap scoped to the media, read by the next polls (bot.networks.gaps).
        media_by_id: dict[str, dict[str, Any]] = {}
        run: Backfill[tuple[dict[str, Any], dict[str, Any]]] = Backfill.of(
            partial(self._comment_page, notes, media_by_id), state.backfill)
        floor = str(int(since.timestamp()))
        try:
            hinted = self._hinted(hints, notes, rejected)
            reads += len(hints)
            media = next(self.graph.pages(f"{self.account}/media", max_pages=1,
                                          fields=MEDIA_FIELDS, limit=self.max_media), [])
            reads += len(media)
            media_by_id.update((str(m.get("id")), m) for m in media if m.get("id"))
            for item in media:
                count = item.get("comments_count")
                counts[str(item.get("id") or "")] = count if isinstance(count, int) else -1
            changed = [m for m, n in counts.items()
                       if m and n != 0 and n != self.counts.get(m)]
            # Older media have no count to compare: read each poll, 1 request mostly.
            read_comments(run, [*changed, *watched(state.watch, media_by_id)], floor=floor,
                          cursor=cursor, pages=self.max_comment_pages, noun="media",
                          notes=notes)
            run.read_gaps(self.max_comment_pages)
            tags = next(self.graph.pages(f"{self.account}/tags", max_pages=1,
                                         fields=MEDIA_FIELDS, limit=self.max_media), [])
            reads += len(tags)
            for item in tags:
                at = graph_time(item.get("timestamp"))
                if at is None or at >= since:
                    parse_into("instagram", found, rejected, item, self.tag_mention, item)
        except GraphError as exc:
            self.pending.put_back(hints)
            raise source_error(exc, where=self.where, token=TOKEN, now=now,
                               usage=self.graph.usage) from exc
        reads += len(run.items)
        found.extend(self._comment_mentions(run.items, rejected))
        self.counts = counts  # only after a whole poll: a failed one reads them all again
        newest = max((m.created_at.timestamp() for m in found if m.created_at), default=None)
        keep = max(filter(None, [newest, cursor]), default=None)
        polled = {m.external_id for m in found}
        found.extend(m for m in hinted if m.external_id not in polled)
        found.sort(key=lambda m: m.created_at or now)
        return Fetch(mentions=found,
                     state=SourceState(cursor=str(int(keep)) if keep is not None else None,
                                       backfill=run.state()),
                     reads=reads, notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items)

    def _hinted(self, hints: list[Hint], notes: list[str],
                rejected: list[Rejected]) -> list[Mention]:
        """The objects the webhook named, read by id with our token. A mention on a private
        account, or anything deleted since, is a note: Meta won't show it to us."""
        out: list[Mention] = []
        for h in hints:
            try:
                mention = self._read_hint(h)
            except GraphError as exc:
                if exc.gone or (exc.denied and not exc.token_expired):
                    notes.append(f"{h.kind} {h.object_id} from the webhook can't be read "
                                 f"(deleted, or a private account): {exc.detail}")
                    continue
                raise
            except Exception as exc:  # read, but unreadable: kept aside, the rest goes on
                rejected.append(rejected_post("instagram", {"id": h.object_id, "hint": h.kind},
                                              exc))
                continue
            if mention is not None:
                out.append(mention)
        return out

    def _read_hint(self, h: Hint) -> Mention | None:
        if h.kind == "comment":
            comment = self.graph.get(h.object_id, fields=f"{COMMENT_FIELDS},media{{id,permalink}}")
            if not comment.get("id") or writer(comment)[0] == self.account:
                return None
            media = comment.get("media") if isinstance(comment.get("media"), dict) else None
            return self.comment_mention(comment, media or {"id": h.post_id}, parent=None)
        if h.kind == "mention_comment":
            body = self.graph.get(self.account, fields=(
                f"mentioned_comment.comment_id({h.object_id}){{{MENTION_FIELDS}}}"))
            found = body.get("mentioned_comment")
            if not isinstance(found, dict) or not found.get("id"):
                return None
            where = found.get("media")
            where = where if isinstance(where, dict) else {}
            return self._mention(found, {"kind": "mention_comment",
                                         "ig_user_id": self.account,
                                         "media_id": str(where.get("id") or ""),
                                         "no_reply": MENTIONED_ELSEWHERE},
                                 url=str(where.get("permalink") or WWW))
        body = self.graph.get(self.account, fields=(
            f"mentioned_media.media_id({h.object_id}){{{MENTIONED_MEDIA_FIELDS}}}"))
        media = body.get("mentioned_media")
        if not isinstance(media, dict) or not media.get("id"):
            return None
        return self.tag_mention(media)

    def _comment_page(self, notes: list[str], media_by_id: dict[str, dict[str, Any]],
                      after: str | None, floor: str | None, media_id: str | None
                      ) -> Page[tuple[dict[str, Any], dict[str, Any]]]:
        """One page of a media's comments (their replies expanded) from Graph's `after`
        cursor, newest first. A media deleted meanwhile has none left: a note."""
        media = media_by_id.get(str(media_id), {"id": media_id})
        try:
            comments, nxt = self.graph.page(f"{media_id}/comments", after,
                                            fields=f"{COMMENT_FIELDS},replies{{{REPLY_FIELDS}}}",
                                            limit=self.comment_page)
        except GraphError as exc:
            check_cursor(exc, after, "instagram")
            if not exc.gone:
                raise
            notes.append(f"media {media_id} was deleted before its comments were read")
            return Page([], next=None)
        times = [t.timestamp() for t in (graph_time(c.get("timestamp")) for c in comments)
                 if t is not None]
        low = int(floor) if floor is not None else None
        return Page([(c, media) for c in comments], next=nxt,
                    reached=low is not None and any(t < low for t in times),
                    oldest=str(int(min(times))) if times else None)

    def _comment_mentions(self, items: list[tuple[tuple[dict[str, Any], dict[str, Any]],
                                                  str | None]],
                          rejected: list[Rejected]) -> list[Mention]:
        """The comments and their replies read, each newer than its floor and not the
        account's own, once."""
        out: list[Mention] = []
        seen: set[str] = set()
        for (comment, media), floor in items:
            replies = comment.get("replies")
            replies = replies.get("data") if isinstance(replies, dict) else None
            replies = replies if isinstance(replies, list) else []
            for thing in [comment, *[r for r in replies if isinstance(r, dict)]]:
                at = graph_time(thing.get("timestamp"))
                if floor is not None and at is not None and at.timestamp() < int(floor):
                    continue
                tid = str(thing.get("id") or "")
                if tid and tid in seen:
                    continue
                seen.add(tid)
                if writer(thing)[0] != self.account:
                    parent = str(comment.get("id") or "") if thing is not comment else None
                    parse_into("instagram", out, rejected, thing, self.comment_mention,
                               thing, media, parent=parent)
        return out

    def comment_mention(self, comment: dict[str, Any], media: dict[str, Any], *,
                        parent: str | None) -> Mention:
        parent = parent or (str(comment["parent_id"]) if comment.get("parent_id") else None)
        extra = {"kind": "reply" if parent else "comment", "ig_user_id": self.account,
                 "media_id": str(media.get("id") or "")}
        if parent:
            extra["parent_id"] = parent
        if comment.get("hidden"):
            extra["hidden"] = "1"
        return self._mention(comment, extra, url=str(media.get("permalink") or WWW),
                             parent=parent, conversation=extra["media_id"] or None)

    def tag_mention(self, media: dict[str, Any]) -> Mention:
        extra = {"kind": "tag", "ig_user_id": self.account, "media_id": str(media["id"]),
                 "no_reply": NOT_A_COMMENT}
        return self._mention(media, extra, url=str(media.get("permalink") or WWW),
                             text_key="caption")

    def _mention(self, thing: dict[str, Any], extra: dict[str, str], *, url: str,
                 text_key: str = "text", parent: str | None = None,
                 conversation: str | None = None) -> Mention:
        if not thing.get("id"):
            raise ValueError("no id")
        created = graph_time(thing.get("timestamp"))
        if created is None:  # a post without a time would never leave the cursor's order
            raise ValueError(f"timestamp is not a time: {thing.get('timestamp')!r:.60}")
        user_id, name = writer(thing)
        return Mention(
            network="instagram",
            external_id=str(thing["id"]),
            text=str(thing.get(text_key) or ""),
            author=Author(handle=name or NOBODY, name=name or NOBODY,
                          external_id=user_id or None),
            url=url,
            created_at=created,
            source_id=self.spec.id,
            mentions_brand=True,  # on the brand's media, or tagging it
            in_reply_to_id=parent,
            conversation_id=conversation,
            extra=extra,
        )
