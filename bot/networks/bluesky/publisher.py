"""Bluesky (atproto): reply, like, repost, and finding our own reply afterwards.

- reply:  `com.atproto.repo.createRecord` of an `app.bsky.feed.post` whose `reply` holds two
          strong refs (uri + cid): `parent`, the mention itself, and `root`, its thread's first
          post (the mention when it starts a thread). Both come from the mention's `extra`,
          kept by the Bluesky sources. URLs in the text get link facets (byte offsets), so they
          are clickable. No idempotency key exists: a repeat would post twice.
- like / repost: `app.bsky.feed.like` / `app.bsky.feed.repost` records with a strong ref.
- lookup: `app.bsky.feed.getAuthorFeed` (the brand, `posts_with_replies`), newest first, until
          a post older than the send intent: our reply is the post whose `reply.parent.uri` is
          the mention.

The shared `BlueskySession` provides login and session reuse (createSession is rate-limited);
records are written to the session's DID.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import httpx
from atproto import Client, models
from atproto.exceptions import (
    AtProtocolError,
    BadRequestError,
    InvokeTimeoutError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    UnauthorizedError,
)

from bot.domain.tweet_text import extract_urls
from bot.networks.base import ErrorKind, Lookup, Published, PublishError, Target
from bot.networks.bluesky.client import (
    BlueskySession,
    field_of,
    is_token_error,
    post_url,
    utc_time,
)

LOOKUP_PAGES = 5
LOOKUP_PAGE_SIZE = 100
CLOCK_SLACK = timedelta(minutes=1)
T = TypeVar("T")


def link_facets(text: str) -> list[models.AppBskyRichtextFacet.Main]:
    """A link facet for every URL with a scheme; Bluesky indexes facets by UTF-8 byte."""
    facets = []
    for url in extract_urls(text, without_scheme=False):
        byte_start = len(text[:url.start].encode("utf-8"))
        byte_end = byte_start + len(text[url.start:url.end].encode("utf-8"))
        facets.append(models.AppBskyRichtextFacet.Main(
            index=models.AppBskyRichtextFacet.ByteSlice(byte_start=byte_start,
                                                        byte_end=byte_end),
            features=[models.AppBskyRichtextFacet.Link(uri=url.url)]))
    return facets


def _ref(uri: str | None, cid: str | None) -> models.ComAtprotoRepoStrongRef.Main:
    return models.ComAtprotoRepoStrongRef.Main(uri=uri, cid=cid)


class BlueskyPublisher:
    network = "bluesky"
    retry_window: timedelta | None = None

    def __init__(self, bluesky: BlueskySession) -> None:
        self.bluesky = bluesky

    def _subject(self, target: Target) -> tuple[str, str]:
        uri = target.extra.get("uri") or target.external_id
        cid = target.extra.get("cid")
        if not uri or not cid:
            raise PublishError("rejected", "this Bluesky mention has no cid stored (it was "
                               "ingested before the bot kept them): reply from the Bluesky app")
        return uri, cid

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        uri, cid = self._subject(target)
        root = _ref(target.extra.get("root_uri") or uri, target.extra.get("root_cid") or cid)
        reply_ref = models.AppBskyFeedPost.ReplyRef(root=root, parent=_ref(uri, cid))
        facets = link_facets(text) or None
        created = self._call("reply", lambda client: client.send_post(
            text, profile_identify=self._did(client), reply_to=reply_ref, facets=facets))
        return Published(created.uri, post_url(self.bluesky.handle, created.uri))

    def like(self, target: Target) -> None:
        uri, cid = self._subject(target)
        self._call("like", lambda client: client.app.bsky.feed.like.create(
            self._did(client), models.AppBskyFeedLike.Record(
                subject=_ref(uri, cid), created_at=client.get_current_time_iso())))

    def repost(self, target: Target) -> None:
        uri, cid = self._subject(target)
        self._call("repost", lambda client: client.app.bsky.feed.repost.create(
            self._did(client), models.AppBskyFeedRepost.Record(
                subject=_ref(uri, cid), created_at=client.get_current_time_iso())))

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        parent = target.extra.get("uri") or target.external_id
        oldest = (since - CLOCK_SLACK).astimezone(UTC)
        cursor: str | None = None
        read = 0
        for _ in range(LOOKUP_PAGES):
            page = self._call("lookup", partial(self._feed_page, cursor=cursor))
            reached_older = False
            for item in page.feed or []:
                post = field_of(item, "post")
                if field_of(item, "reason") is not None:  # a repost by the brand, not its post
                    continue
                read += 1
                record = field_of(post, "record")
                if field_of(field_of(field_of(record, "reply"), "parent"), "uri") == parent:
                    uri = str(field_of(post, "uri"))
                    return Lookup(Published(uri, post_url(self.bluesky.handle, uri)),
                                  complete=True, note=f"found among {read} recent posts")
                posted = utc_time(field_of(record, "created_at", "createdAt")) or utc_time(
                    field_of(post, "indexed_at", "indexedAt"))
                if posted is not None and posted < oldest:
                    reached_older = True
            if reached_older or not page.cursor:
                return Lookup(None, complete=True,
                              note=f"no reply to {parent} among the brand's {read} posts since "
                                   f"{since:%Y-%m-%d %H:%M}Z")
            cursor = page.cursor
        return Lookup(None, complete=False,
                      note=f"more than {read} posts since {since:%Y-%m-%d %H:%M}Z: not all read")

    def _feed_page(self, client: Client, cursor: str | None
                   ) -> models.AppBskyFeedGetAuthorFeed.Response:
        return client.get_author_feed(actor=self._did(client), filter="posts_with_replies",
                                      limit=LOOKUP_PAGE_SIZE, cursor=cursor)

    def _did(self, client: Client) -> str:
        did = self.bluesky.did or (client.me.did if client.me else None)
        if not did:
            raise PublishError("auth", "Bluesky session has no account DID")
        return did

    def _call(self, what: str, fn: Callable[[Client], T]) -> T:
        try:
            return self.bluesky.call(fn)
        except PublishError:
            raise
        except RateLimitExceededError as exc:
            raise PublishError("unavailable", f"Bluesky rate limit reached: {exc}") from exc
        except UnauthorizedError as exc:
            raise PublishError("auth", f"Bluesky refused the credentials: {exc}") from exc
        except BadRequestError as exc:
            if is_token_error(exc):
                raise PublishError("auth", f"Bluesky refused the session: {exc}") from exc
            raise PublishError("rejected", f"Bluesky rejected the {what}: {_message(exc)}"
                               ) from exc
        except InvokeTimeoutError as exc:
            never = isinstance(exc.__cause__, httpx.ConnectTimeout | httpx.PoolTimeout)
            raise PublishError(_unsure(what, never), f"Bluesky {what} timed out: "
                               f"{type(exc.__cause__).__name__}") from exc
        except NetworkError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status == 413:
                raise PublishError("rejected", f"Bluesky: the {what} is too large (413)") from exc
            never = isinstance(exc.__cause__, httpx.ConnectError)
            raise PublishError(_unsure(what, never), f"Bluesky {what} failed: "
                               f"{type(exc.__cause__ or exc).__name__} {status or ''}".rstrip()
                               ) from exc
        except httpx.TransportError as exc:  # one atproto passes on: a reset, no status line
            raise PublishError(_unsure(what, False), f"Bluesky {what} failed: "
                               f"{type(exc).__name__}") from exc
        except RequestErrorBase as exc:  # other statuses: 5xx, 404, …
            status = exc.response.status_code if exc.response is not None else None
            if status is not None and 400 <= status < 500:
                raise PublishError("rejected", f"Bluesky rejected the {what} ({status}): "
                                   f"{_message(exc)}") from exc
            raise PublishError(_unsure(what, False), f"Bluesky {what} failed ({status}): "
                               f"{_message(exc)}") from exc
        except AtProtocolError as exc:  # login required, a malformed answer, …
            raise PublishError(_unsure(what, False), f"Bluesky {what} failed: "
                               f"{type(exc).__name__}: {exc}") from exc


def _unsure(what: str, never_sent: bool) -> ErrorKind:
    return "maybe_sent" if what == "reply" and not never_sent else "unavailable"


def _message(exc: RequestErrorBase) -> str:
    content = exc.response.content if exc.response is not None else None
    parts = [str(field_of(content, k)) for k in ("error", "message") if field_of(content, k)]
    return ": ".join(parts) or str(exc)
