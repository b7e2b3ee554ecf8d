"""Reddit: the brand account's inbox, and keyword search, through PRAW.

`reddit_mentions`: `GET /message/inbox?mark=false` (comments that write u/<brand> and replies
to the brand's comments and posts: a customer answering our reply comes back into the card's
thread), newest first, leaving Reddit's unread marks to the people who use the inbox. Private
messages there are skipped with a note (answering them is not a comment reply).
`reddit_search`: `GET /r/<a+b+c or all>/search?q=…&sort=new&restrict_sr=on` (posts only:
Reddit's search API does not search comments), newest first.

Both read newest first and stop at the first item older than the cursor, the `created_utc`
of the newest item already read (inclusive: the item at the cursor comes again and ingest's
dedupe drops it). Pages of PAGE_LIMIT are read until then, at most MAX_PAGES a poll; the first
poll (no cursor) reads one page: the desk starts with the latest, not the account's history.
A burst larger than the cap leaves a gap (bot.networks.gaps: the `after` fullname to resume
from, the old cursor its floor) that the next polls read with the pages the new items leave
over, until it is closed. Reddit lists nothing after a removed post: an empty page after a
gap's fullname has the gap read again from the newest page (bot.networks.gaps.TokenRefused).

Normalised: `external_id` is the fullname (`t1_…` comment, `t3_…` post), the thread is Reddit's
tree: `conversation_id` is the post (`link_id`), `in_reply_to_id` the parent (`parent_id`).
A deleted or removed item (`[deleted]` author or body) is skipped with a note; so are the
brand's own comments.

Errors: 429 → `RateLimited` until `Retry-After`/`X-Ratelimit-Reset`; fewer requests left in the
window than a poll may make → `RateLimited` before calling (prawcore would sleep); 401/403 and a
refused token (`invalid_grant`) → `SourceAuthError`; 5xx, timeouts → `SourceUnavailable`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import praw
from praw.exceptions import PRAWException
from prawcore.exceptions import (
    Forbidden,
    InsufficientScope,
    InvalidToken,
    NotFound,
    OAuthException,
    PrawcoreException,
    Redirect,
    RequestException,
    ResponseException,
    ServerError,
    TooManyRequests,
)

from bot.domain import waits
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.base import (
    Fetch,
    RateLimited,
    Rejected,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.gaps import Backfill, Page, TokenRefused
from bot.networks.reddit.client import (
    RATE_WINDOW,
    RateWindow,
    author_name,
    field,
    link_of,
    permalink,
    utc,
)
from bot.networks.rejects import rejected as reject

PAGE_LIMIT = 100  # the API's maximum
MAX_PAGES = 3  # per poll
FIRST_PAGE = 25  # the first poll reads this many, newest first
DELETED = ("[deleted]", "[removed]")


def _cursor(state: SourceState) -> float | None:
    try:
        return float(state.cursor) if state.cursor else None
    except ValueError:  # a cursor of another format: start again from the newest page
        return None


def _created(thing: Any) -> float | None:
    """`created_utc` as epoch seconds; None when Reddit sent something else (the item is then
    read on, and its parser rejects it)."""
    value = field(thing, "created_utc")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _reset_of(exc: ResponseException, now: datetime) -> datetime:
    headers = exc.response.headers
    for name in ("retry-after", "x-ratelimit-reset"):  # both in seconds from now
        value = headers.get(name)
        if value is not None:
            wait = waits.seconds(value, default=RATE_WINDOW, what=f"reddit ({name})")
            return now + max(wait, timedelta(seconds=1))
    return now + RATE_WINDOW


def call_reddit(what: str, now: datetime, fn: Callable[[], Any]) -> Any:
    """Run one PRAW call, mapping its errors onto the `bot.networks.base` exceptions."""
    try:
        return fn()
    except TooManyRequests as exc:
        raise RateLimited(_reset_of(exc, now), f"reddit {what}") from exc
    except (Forbidden, InsufficientScope, InvalidToken) as exc:
        raise SourceAuthError(f"reddit: {what} refused ({exc.response.status_code}): check the "
                              "app's scopes and that the account may read it") from exc
    except OAuthException as exc:
        raise SourceAuthError(f"reddit: the token was refused ({exc.error}"
                              f"{': ' + exc.description if exc.description else ''}): check "
                              "REDDIT_REFRESH_TOKEN or REDDIT_USERNAME/REDDIT_PASSWORD") from exc
    except ServerError as exc:
        raise SourceUnavailable(f"reddit: server error {exc.response.status_code}") from exc
    except (NotFound, Redirect) as exc:
        raise SourceAuthError(f"reddit: {what} not found ({exc.response.status_code}): a "
                              "subreddit that does not exist, is private or was banned?") from exc
    except ResponseException as exc:
        status = exc.response.status_code
        if status == 401:
            raise SourceAuthError("reddit: REDDIT_CLIENT_ID/REDDIT_CLIENT_SECRET refused (401)"
                                  ) from exc
        raise SourceUnavailable(f"reddit: {what} failed ({status})") from exc
    except RequestException as exc:
        raise SourceUnavailable(f"reddit: {what}: {exc.original_exception}") from exc
    except (PrawcoreException, PRAWException) as exc:
        raise SourceUnavailable(f"reddit: {what}: {exc}") from exc


class RedditSource:
    """What both Reddit source types share: paging newest first down to the cursor."""

    network = "reddit"

    def __init__(self, spec: SourceSpec, brand: Brand, reddit: praw.Reddit,
                 window: RateWindow | None = None, *, page_limit: int = PAGE_LIMIT,
                 max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.reddit = reddit
        self.window = window or RateWindow()
        self.page_limit = page_limit
        self.max_pages = max_pages

    def listing(self, limit: int, params: dict[str, str]) -> Iterator[Any]:
        raise NotImplementedError

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        since = _cursor(state)
        floor = repr(since) if since is not None else None
        pages = 1 if since is None else self.max_pages
        blocked = self.window.blocked_until(now, need=pages)
        if blocked is not None:
            raise RateLimited(blocked, f"reddit: {self.window.remaining:.0f} requests left in "
                                       "this window")
        limit = min(FIRST_PAGE, self.page_limit) if since is None else self.page_limit
        run: Backfill[Any] = Backfill.of(partial(self._page, limit=limit), state.backfill)
        notes: list[str] = []

        def read() -> None:
            if run.read_new(floor, pages) and since is not None:
                notes.append(f"page cap reached ({pages} pages of {self.page_limit}): older "
                             "items since the last poll are read by the next polls")
            run.read_gaps(self.max_pages - run.pages)

        call_reddit(self.spec.type, now, read)
        notes.extend(run.refusal_notes("Reddit"))
        things: list[Any] = []
        seen: set[str] = set()
        for thing, low in run.items:
            created = _created(thing)
            if low is not None and created is not None and created < float(low):
                continue  # at or older than the floor: read before
            name = str(field(thing, "name", "") or "")
            if name and name in seen:
                continue
            seen.add(name)
            things.append(thing)
        newest = max((c for c in map(_created, things) if c is not None), default=since)
        if since is not None and newest is not None:
            newest = max(newest, since)
        rejected: list[Rejected] = []
        mentions, skipped = self.normalise_all(things, rejected)
        notes.extend(skipped)
        return Fetch(mentions=mentions,
                     state=SourceState(cursor=repr(newest) if newest is not None else None,
                                       backfill=run.state()),
                     reads=len(run.items), notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items)

    def _page(self, token: str | None, floor: str | None, scope: str | None, *, limit: int
              ) -> Page[Any]:
        """One listing page of `limit` after the fullname `token` (Reddit's `after`)."""
        things = list(self.listing(limit, {"after": token} if token else {}))
        if token and not things:  # the post we page after was removed: Reddit lists nothing
            raise TokenRefused(f"reddit: nothing listed after {token}")
        low = float(floor) if floor is not None else None
        times = [c for c in map(_created, things) if c is not None]
        last = str(field(things[-1], "name", "") or "") if things else ""
        return Page(things, next=last if len(things) >= limit and last else None,
                    reached=low is not None and any(c < low for c in times),
                    oldest=repr(min(times)) if times else None)

    def normalise_all(self, things: list[Any], rejected: list[Rejected] | None = None
                      ) -> tuple[list[Mention], list[str]]:
        """The items as mentions, oldest first; one the parser refuses goes to `rejected`
        (without that list, it raises)."""
        mentions: list[Mention] = []
        deleted = own = messages = 0
        own_name = (self.brand.reddit_username or "").lower()
        for thing in sorted(things, key=lambda t: _created(t) or 0.0):
            try:
                if str(field(thing, "name", "")).startswith("t4_"):
                    messages += 1
                    continue
                author = author_name(thing)
                if author is None or self.text_of(thing).strip() in DELETED:
                    deleted += 1
                    continue
                if own_name and author.lower() == own_name:
                    own += 1
                    continue
                mentions.append(self.normalise(thing, author))
            except Exception as exc:  # one unreadable item must not fail the page
                if rejected is None:
                    raise
                raw = {k: v for k, v in vars(thing).items() if not k.startswith("_")} \
                    if hasattr(thing, "__dict__") else thing
                rejected.append(reject("reddit", raw, exc, field(thing, "name", None)))
        notes = []
        if deleted:
            notes.append(f"{deleted} deleted or removed item(s) skipped")
        if own:
            notes.append(f"{own} of the brand's own item(s) skipped")
        if messages:
            notes.append(f"{messages} private message(s) skipped: answer them in Reddit's "
                         "inbox")
        return mentions, notes

    @staticmethod
    def text_of(thing: Any) -> str:
        if str(field(thing, "name", "")).startswith("t3_"):
            title, body = str(field(thing, "title", "")), str(field(thing, "selftext", ""))
            if body.strip() in DELETED:
                return body
            link = "" if field(thing, "is_self", True) else str(field(thing, "url", ""))
            return "\n\n".join(p for p in (title, body, link) if p)
        return str(field(thing, "body", ""))

    def normalise(self, thing: Any, author: str) -> Mention:
        fullname = str(field(thing, "name", "") or f"t1_{field(thing, 'id')}")
        is_post = fullname.startswith("t3_")
        link = fullname if is_post else link_of(thing)
        parent = None if is_post else field(thing, "parent_id")
        text = self.text_of(thing)
        own = (self.brand.reddit_username or "").lower()
        extra = {"kind": "post" if is_post else "comment",
                 "subreddit": str(field(thing, "subreddit", ""))}
        if link:
            extra["link_id"] = link
        if parent:
            extra["parent_id"] = str(parent)
        return Mention(
            network="reddit", external_id=fullname, text=text,
            author=Author(handle=author, name=author,
                          external_id=str(field(thing, "author_fullname", "")) or None),
            url=permalink(thing), created_at=created_at(thing),
            source_id=self.spec.id,
            mentions_brand=self.spec.type == "reddit_mentions" or bool(
                own and f"u/{own}" in text.lower()),
            in_reply_to_id=str(parent) if parent else None,
            conversation_id=link, extra=extra)


def created_at(thing: Any) -> datetime:
    """When the item was written; raises ValueError when Reddit did not say (a post without
    a time would never leave the desk's SLA order, nor the cursor's)."""
    at = utc(field(thing, "created_utc"))
    if at is None:
        raise ValueError(f"created_utc is not a time: {field(thing, 'created_utc')!r:.60}")
    return at


class RedditMentionsSource(RedditSource):
    """`type: reddit_mentions` — the brand account's inbox: comments that write u/<brand
    account> and replies to its comments and posts."""

    def listing(self, limit: int, params: dict[str, str]) -> Iterator[Any]:
        return self.reddit.inbox.all(limit=limit, params={"mark": "false", **params})


class RedditSearchSource(RedditSource):
    """`type: reddit_search` — posts matching `query` in `subreddits` (or all of Reddit)."""

    def listing(self, limit: int, params: dict[str, str]) -> Iterator[Any]:
        where = "+".join(self.spec.subreddits) or "all"
        return self.reddit.subreddit(where).search(self.spec.query or "", sort="new",
                                                   time_filter="all", limit=limit, params=params)
