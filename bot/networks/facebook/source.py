"""`facebook_page`: what people write on and about one Page (`page_id:` in the rules).

A poll reads the Page's newest posts (`/{page-id}/feed`: its own and visitors' posts) and the
posts it is tagged in (`/{page-id}/tagged`), MAX_POSTS of each; then, for every post changed
since the cursor (`updated_time` moves when someone comments), its comments and replies
newest first (`/{post-id}/comments?filter=stream`, every level in one list), until one is
older than the cursor or MAX_COMMENT_PAGES; a burst beyond that is a gap scoped to the post
(bot.networks.gaps: Graph's `after` cursor), read by the next polls with MAX_COMMENT_PAGES
pages each until it is closed. Comments on older posts reach the desk through the webhook
(`bot.networks.facebook` hints) and, for the posts the desk has comment cards on
(`follows_conversations`: `SourceState.watch`, bot.listening.watching), through polling too:
the most recently active such posts outside the newest MAX_POSTS have their comments read the
same way each poll (bot.networks.graph.comments), so a customer answering under an old post
joins the card's thread without the webhook.

Mentions: a visitor's post (`visitor_post`), a post tagging the Page (`tag`), a comment
(`comment`) or a reply to one (`reply`), `external_id` the Graph id. The Page's own posts and
comments are skipped. A comment the Page hid is still a mention, marked `hidden` (the card
says so). A post deleted between the two reads is skipped with a note. The cursor is the newest
`created_time` seen, in epoch seconds; each poll reads OVERLAP before it (Meta's lists are
eventually consistent; the duplicates are dropped by their id). The first poll reads back
FIRST_LOOKBACK.

Webhook hints (`bot.listening.hints`): the objects a delivery named are read by id first
(`GET /{id}`), whatever post they are on; one deleted or not shown to us is a note.

Meta's usage headers slow polling before the limit: from 80 % of the allowance every other
poll is skipped, at 100 % polls wait until Meta's estimate (`bot.networks.graph.usage`).
Errors: `bot.networks.graph.failures` (190: parked with the fix).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import Fetch, Rejected, SourceState
from bot.networks.facebook.client import (
    COMMENT_FIELDS,
    NOBODY,
    POST_FIELDS,
    WWW,
    author_of,
    parent_id,
)
from bot.networks.gaps import Backfill, Page
from bot.networks.graph.client import GraphClient, GraphError, graph_time
from bot.networks.graph.comments import read_comments, watched
from bot.networks.graph.failures import check_cursor, source_error
from bot.networks.graph.pacing import UsagePacer
from bot.networks.graph.webhook import Hint, PendingHints
from bot.networks.rejects import parse_into

log = logging.getLogger(__name__)

MAX_POSTS = 25  # per edge a poll: the Page's newest posts and tags
COMMENT_PAGE = 100
MAX_COMMENT_PAGES = 3  # per post a poll
OVERLAP = timedelta(minutes=2)
FIRST_LOOKBACK = timedelta(hours=24)
TOKEN = "META_PAGE_ACCESS_TOKEN"
MAX_HINTS = 50  # objects named by the webhook read per poll; the rest wait for the next


class FacebookPageSource:
    """`type: facebook_page` — comments, visitor posts and tags of the Page `spec.page_id`."""

    follows_conversations = True  # the desk's posts beyond the newest MAX_POSTS

    def __init__(self, spec: SourceSpec, brand: Brand, graph: GraphClient, *,
                 max_posts: int = MAX_POSTS, max_comment_pages: int = MAX_COMMENT_PAGES,
                 comment_page: int = COMMENT_PAGE) -> None:
        self.spec = spec
        self.brand = brand
        self.graph = graph
        self.page_id = spec.page_id or ""
        self.max_posts = max_posts
        self.max_comment_pages = max_comment_pages
        self.comment_page = comment_page
        self.pacer = UsagePacer()  # near Meta's limit: every other poll is skipped
        self.pending = PendingHints()  # from the webhook: objects to read by id

    def accepts(self, hint: Hint) -> bool:
        return hint.object == "page" and hint.account == self.page_id

    def hint(self, hint: Hint) -> None:
        self.pending.add(hint)

    @property
    def where(self) -> str:
        return f"facebook page {self.page_id}"

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        slowed = self.pacer.check(self.graph.usage, self.where, state, now)
        if slowed is not None:
            return slowed
        cursor = _epoch(state.cursor)
        since = (datetime.fromtimestamp(cursor, UTC) - OVERLAP if cursor is not None
                 else now - FIRST_LOOKBACK)
        notes: list[str] = []
        reads = 0
        found: list[Mention] = []
        rejected: list[Rejected] = []
        hints = self.pending.take(MAX_HINTS)
        # Comments, per post: newest first down to `since`; a post's burst beyond the page cap
        # is a gap scoped to the post, read by the next polls (bot.networks.gaps).
        run: Backfill[tuple[dict[str, Any], dict[str, Any]]] = Backfill.of(
            partial(self._comment_page, notes), state.backfill)
        floor = str(int(since.timestamp()))
        try:
            hinted = self._hinted(hints, notes, rejected)
            reads += len(hints)
            feed = self._listing("feed", "visitor_post", since, found, rejected)
            changed = [str(p["id"]) for p in feed
                       if p.get("id") and (graph_time(p.get("updated_time")) or now) >= since]
            listed = {str(p.get("id")) for p in feed}
            read_comments(run, [*changed, *watched(state.watch, listed)], floor=floor,
                          cursor=cursor, pages=self.max_comment_pages, noun="post", notes=notes)
            tagged = self._listing("tagged", "tag", since, found, rejected)
            reads += len(feed) + len(tagged)
            run.read_gaps(self.max_comment_pages)
        except GraphError as exc:
            self.pending.put_back(hints)
            raise source_error(exc, where=self.where, token=TOKEN, now=now,
                               usage=self.graph.usage) from exc
        reads += len(run.items)
        found.extend(self._comment_mentions(run.items, rejected))
        newest = max((m.created_at.timestamp() for m in found if m.created_at), default=None)
        keep = max(filter(None, [newest, cursor]), default=None)
        # What a hint named comes once even when the poll read it too (the ingest's unique
        # id would drop the second anyway).
        polled = {m.external_id for m in found}
        found.extend(m for m in hinted if m.external_id not in polled)
        found.sort(key=lambda m: m.created_at or now)
        return Fetch(mentions=found,
                     state=SourceState(cursor=str(int(keep)) if keep is not None else None,
                                       backfill=run.state()),
                     reads=reads, notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items)

    def _listing(self, edge: str, kind: str, since: datetime, found: list[Mention],
                 rejected: list[Rejected]) -> list[dict[str, Any]]:
        """The Page's newest posts of `edge` (one page); those of others since `since` are
        mentions of `kind`."""
        posts = next(self.graph.pages(f"{self.page_id}/{edge}", max_pages=1, fields=POST_FIELDS,
                                      limit=self.max_posts), [])
        for post in posts:
            created = graph_time(post.get("created_time"))
            if author_of(post)[0] != self.page_id and (created is None or created >= since):
                parse_into("facebook", found, rejected, post, self.post_mention, post, kind)
        return posts

    def _hinted(self, hints: list[Hint], notes: list[str],
                rejected: list[Rejected]) -> list[Mention]:
        """The objects the webhook named, read by id with our token (the delivery's own text
        is never used). One that is gone or that Meta won't show us is a note, not a failure."""
        out: list[Mention] = []
        for h in hints:
            try:
                if h.kind == "comment":
                    comment = self.graph.get(h.object_id, fields=COMMENT_FIELDS)
                    if comment.get("id") and author_of(comment)[0] != self.page_id:
                        parse_into("facebook", out, rejected, comment, self.comment_mention,
                                   comment, {"id": h.post_id})
                else:
                    post = self.graph.get(h.object_id, fields=POST_FIELDS)
                    if post.get("id") and author_of(post)[0] != self.page_id:
                        parse_into("facebook", out, rejected, post, self.post_mention, post,
                                   "visitor_post")
            except GraphError as exc:
                if exc.gone or (exc.denied and not exc.token_expired):
                    notes.append(f"{h.kind} {h.object_id} from the webhook can't be read "
                                 f"(deleted, or not shown to us): {exc.detail}")
                    continue
                raise
        return out

    def _comment_page(self, notes: list[str], after: str | None, floor: str | None,
                      post_id: str | None) -> Page[tuple[dict[str, Any], dict[str, Any]]]:
        """One page of a post's comments and replies from Graph's `after` cursor, newest first
        (every level in one list). A post deleted meanwhile has none left: a note."""
        post = {"id": post_id}
        try:
            comments, nxt = self.graph.page(f"{post_id}/comments", after, filter="stream",
                                            order="reverse_chronological",
                                            fields=COMMENT_FIELDS, limit=self.comment_page)
        except GraphError as exc:
            check_cursor(exc, after, "facebook")
            if not exc.gone:
                raise
            log.info("source %s: post %s is gone: %s", self.spec.id, post_id, exc.detail)
            notes.append(f"post {post_id} was deleted before its comments were read")
            return Page([], next=None)
        times = [t.timestamp() for t in (graph_time(c.get("created_time")) for c in comments)
                 if t is not None]
        low = int(floor) if floor is not None else None
        return Page([(c, post) for c in comments], next=nxt,
                    reached=low is not None and any(t < low for t in times),
                    oldest=str(int(min(times))) if times else None)

    def _comment_mentions(self, items: list[tuple[tuple[dict[str, Any], dict[str, Any]],
                                                  str | None]],
                          rejected: list[Rejected]) -> list[Mention]:
        """The comments read, each newer than its floor and not the Page's own, once."""
        out: list[Mention] = []
        seen: set[str] = set()
        for (comment, post), floor in items:
            created = graph_time(comment.get("created_time"))
            if floor is not None and created is not None and created.timestamp() < int(floor):
                continue
            cid = str(comment.get("id") or "")
            if cid and cid in seen:
                continue
            seen.add(cid)
            if author_of(comment)[0] != self.page_id:
                parse_into("facebook", out, rejected, comment, self.comment_mention, comment,
                           post)
        return out

    def post_mention(self, post: dict[str, Any], kind: str) -> Mention:
        post_id = str(post["id"])
        return self._mention(post, kind=kind, post_id=post_id,
                             url=str(post.get("permalink_url") or f"{WWW}/{post_id}"))

    def comment_mention(self, comment: dict[str, Any], post: dict[str, Any]) -> Mention:
        comment_id = str(comment["id"])
        parent = parent_id(comment)
        post_id = str(post.get("id") or "")
        url = str(comment.get("permalink_url")
                  or f"{post.get('permalink_url') or f'{WWW}/{post_id}'}"
                     f"?comment_id={comment_id}")
        return self._mention(comment, kind="reply" if parent else "comment", post_id=post_id,
                             url=url, parent=parent)

    def _mention(self, thing: dict[str, Any], *, kind: str, post_id: str, url: str,
                 parent: str | None = None) -> Mention:
        if not thing.get("id"):
            raise ValueError("no id")
        created = graph_time(thing.get("created_time"))
        if created is None:  # a post without a time would never leave the cursor's order
            raise ValueError(f"created_time is not a time: {thing.get('created_time')!r:.60}")
        author_id, name = author_of(thing)
        text = str(thing.get("message") or "")
        extra = {"kind": kind, "page_id": self.page_id, "post_id": post_id}
        if parent:
            extra["parent_id"] = parent
        if thing.get("is_hidden"):
            extra["hidden"] = "1"
        attachment = thing.get("attachment")
        if not text and isinstance(attachment, dict):
            text = f"[{attachment.get('type') or 'attachment'} without text]"
        return Mention(
            network="facebook",
            external_id=str(thing["id"]),
            text=text,
            author=Author(handle=name or NOBODY, name=name or NOBODY,
                          external_id=author_id or None),
            url=url,
            created_at=created,
            source_id=self.spec.id,
            mentions_brand=True,  # on the brand's own Page, or tagging it
            # The thread structure conversations read (bot.domain.conversation): a reply's
            # parent comment, and the post the comments are under.
            in_reply_to_id=parent,
            conversation_id=post_id if post_id and post_id != str(thing["id"]) else None,
            extra=extra,
        )


def _epoch(cursor: str | None) -> int | None:
    return int(cursor) if cursor and cursor.isdigit() else None
