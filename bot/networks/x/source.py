"""X (Twitter) API v2 sources through tweepy's `Client`: the brand's mentions and recent search.

    XMentionsSource   GET /2/users/:id/mentions   (`get_users_mentions`, paginated by
                      `pagination_token`; at most the latest 800 mentions are reachable)
    XSearchSource     GET /2/tweets/search/recent (`search_recent_tweets`, paginated by
                      `next_token`; only the last 7 days are searchable)

Both ask for the author expansion with `public_metrics`, use the saved cursor as `since_id`
(the first run is bounded by `start_time = now - BACKFILL`), follow at most `MAX_PAGES` pages,
skip retweets and the brand's own posts, and return mentions oldest first. The new cursor is
the largest post id X returned, so a post is never asked for twice. While a gap is open, the
urgent search (`urgent` cues, bot.networks.x.urgent) asks recent search for the gap's P1s first.

Failures become the exceptions of `bot.networks.base`: 429 → `RateLimited` at the reset time X
gives (`x-rate-limit-reset`); 401/403, and 400/404 (a query or account X refuses: only a rules
change helps) → `SourceAuthError`; 5xx, other HTTP errors, timeouts and connection errors →
`SourceUnavailable`. When an error stops a multi-page poll, the posts already read (and billed)
are on the exception as `reads`. The client (`build_x_client`) and the log redaction are in
`bot.networks.x.client`, shared with the publisher.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from bot.domain import waits
from bot.domain.conversation import flag_by_brand
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.domain.rules.urgent import Cue
from bot.networks.base import (
    Fetch,
    RateLimited,
    Rejected,
    SourceAuthError,
    SourceError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.gaps import Gap, dump, load
from bot.networks.rejects import rejected as reject
from bot.networks.x.client import REDACTOR, as_page, problem, ref_ids
from bot.networks.x.urgent import queries

log = logging.getLogger(__name__)

BACKFILL = timedelta(hours=24)  # how far back the first poll (no cursor) reaches
SEARCH_WINDOW = timedelta(days=7)  # recent search refuses start_time/since_id older than this
SEARCH_WINDOW_MARGIN = timedelta(minutes=5)  # stay clear of the edge (clock skew, request time)
MAX_PAGES = 5  # page cap per poll: at most MAX_PAGES * PAGE_SIZE posts read (and billed)
PAGE_SIZE = 100  # max_results: the most X allows on both endpoints
RATE_LIMIT_FALLBACK = timedelta(minutes=15)  # a 429 without x-rate-limit-reset: X's window
# X's documented limits on both read endpoints (mentions timeline, recent search), per 15-min
# window: 450 requests with the app's bearer token, 300 with a user's keys. While a gap is
# open the source polls as often as its page cap allows within them, with RATE_HEADROOM left
# for the regular polls and clock drift: with the bearer token 5 pages every 11.1 s (a storm
# of 30,000 is read in about 11 min instead of 15 at the fixed 15 s), with user keys every
# 16.7 s (15 s would spend the whole window and end in a 429). Two sources on one endpoint
# share its limit: X's 429 then makes the later one wait (bot.listening.polling).
# The urgent search (a gap's P1 candidates first) spends at most one request a poll on recent
# search: for a mentions source that is another endpoint with its own 450 (300), of which a
# poll every 11.1 s (16.7 s) takes 81 (54) — room left for an x_search source's own polls —
# and usually one a gap (a second page only when more than 100 posts match); a search source
# counts it in its own pace (a poll is `max_pages` + 1 requests there).
RATE_WINDOW = timedelta(minutes=15)
REQUESTS_PER_WINDOW_APP = 450
REQUESTS_PER_WINDOW_USER = 300
RATE_HEADROOM = 0.9

EXPANSIONS = ["author_id"]
USER_FIELDS = ["public_metrics", "verified", "name", "username"]
TWEET_FIELDS = ["created_at", "conversation_id", "in_reply_to_user_id", "lang",
                "referenced_tweets", "entities", "author_id"]

# X post ids are snowflakes: milliseconds since the Twitter epoch in the bits above 22.
_SNOWFLAKE_EPOCH_MS = 1288834974657
_HANDLE_CHAR = "A-Za-z0-9_"
_STATUS_URL = re.compile(r"^https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/([A-Za-z0-9_]+)"
                         r"/status(?:es)?/(\d+)", re.IGNORECASE)


# --- normalisation (pure) ------------------------------------------------------------------

def snowflake_time(post_id: str | int) -> datetime:
    """When an X post (or user) id was minted, from the id alone."""
    return datetime.fromtimestamp(((int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS) / 1000, UTC)


def parse_x_time(value: object) -> datetime | None:
    """X's `created_at` ("2024-11-05T07:41:12.000Z") as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)




class BrandMatcher:
    """Whether a post is by the brand, and whether it mentions, replies to or quotes it."""

    def __init__(self, username: str | None, user_id: str | None = None) -> None:
        self.username = (username or "").lstrip("@")
        self.user_id = str(user_id) if user_id else None
        self._lower = self.username.lower()
        self._address = (re.compile(rf"(?<![{_HANDLE_CHAR}@])@{re.escape(self.username)}"
                                    rf"(?![{_HANDLE_CHAR}@])", re.IGNORECASE)
                         if self.username else None)

    def is_brand(self, user_id: object, username: object) -> bool:
        return bool((self.user_id and user_id is not None and str(user_id) == self.user_id)
                    or (self._lower and isinstance(username, str)
                        and username.lower() == self._lower))

    def mentioned_in(self, tweet: Mapping[str, Any],
                     included_tweets: Mapping[str, Mapping[str, Any]]) -> bool:
        raw_entities = tweet.get("entities")
        entities: Mapping[str, Any] = raw_entities if isinstance(raw_entities, Mapping) else {}
        for m in entities.get("mentions") or ():
            if isinstance(m, Mapping) and self.is_brand(m.get("id"), m.get("username")):
                return True
        if self._address and self._address.search(str(tweet.get("text") or "")):
            return True
        if self.user_id and str(tweet.get("in_reply_to_user_id") or "") == self.user_id:
            return True
        return any(self._quotes_brand(qid, entities, included_tweets)
                   for qid in ref_ids(tweet, "quoted"))

    def _quotes_brand(self, quoted_id: str, entities: Mapping[str, Any],
                      included_tweets: Mapping[str, Mapping[str, Any]]) -> bool:
        quoted = included_tweets.get(quoted_id)  # present when referenced_tweets.id is expanded
        if quoted is not None and self.is_brand(quoted.get("author_id"), None):
            return True
        # Without that expansion, X still links the quoted post in entities.urls.
        for url in entities.get("urls") or ():
            if not isinstance(url, Mapping):
                continue
            m = _STATUS_URL.match(str(url.get("expanded_url") or ""))
            if m and m.group(2) == quoted_id and self.is_brand(None, m.group(1)):
                return True
        return False


def normalise_page(page: Mapping[str, Any], *, brand: BrandMatcher, source_id: str | None,
                   rejected: list[Rejected] | None = None) -> list[Mention]:
    """The mentions in one X API v2 page (any order), retweets and the brand's posts left out
    (its replies are kept, flagged `by_brand`, for the conversation they answer). With
    `rejected`, a post that cannot be read (a non-numeric id without `created_at`…) is added
    there instead of failing the page."""
    users = {str(u["id"]): u for u in (page.get("includes") or {}).get("users") or ()
             if isinstance(u, Mapping) and u.get("id") is not None}
    included_tweets = {str(t["id"]): t for t in (page.get("includes") or {}).get("tweets") or ()
                       if isinstance(t, Mapping) and t.get("id") is not None}
    out = []
    for tweet in page.get("data") or ():
        if not isinstance(tweet, Mapping) or tweet.get("id") is None:
            continue
        if ref_ids(tweet, "retweeted"):
            continue
        author_id = str(tweet["author_id"]) if tweet.get("author_id") is not None else None
        user = users.get(author_id or "", {})
        username = str(user.get("username") or "")
        try:
            if brand.is_brand(author_id, username):
                # The brand's own reply may be a colleague answering in the X app: ingest shows
                # it in the conversation's thread ("answered outside socialbot") or drops it.
                if ref_ids(tweet, "replied_to"):
                    out.append(flag_by_brand(_mention(tweet, user, author_id, brand,
                                                      included_tweets, source_id)))
                continue
            out.append(_mention(tweet, user, author_id, brand, included_tweets, source_id))
        except Exception as exc:
            if rejected is None:
                raise
            rejected.append(reject("x", tweet, exc, tweet.get("id")))
    return out


def _mention(tweet: Mapping[str, Any], user: Mapping[str, Any], author_id: str | None,
             brand: BrandMatcher, included_tweets: Mapping[str, Mapping[str, Any]],
             source_id: str | None) -> Mention:
    post_id = str(tweet["id"])
    username = str(user.get("username") or "")
    raw_metrics = user.get("public_metrics")
    metrics: Mapping[str, Any] = raw_metrics if isinstance(raw_metrics, Mapping) else {}
    try:
        followers = max(0, int(metrics.get("followers_count") or 0))
    except (TypeError, ValueError):
        followers = 0
    replied_to = ref_ids(tweet, "replied_to")
    conversation_id = tweet.get("conversation_id")
    return Mention(
        network="x",
        external_id=post_id,
        text=str(tweet.get("text") or ""),
        # A suspended or deleted author is missing from includes.users: keep the id.
        author=Author(handle=username or (author_id or ""), name=str(user.get("name") or ""),
                      followers=followers, external_id=author_id,
                      verified=bool(user.get("verified", False))),
        url=(f"https://x.com/{username}/status/{post_id}" if username
             else f"https://x.com/i/web/status/{post_id}"),
        created_at=parse_x_time(tweet.get("created_at")) or snowflake_time(post_id),
        lang=str(tweet["lang"]) if tweet.get("lang") else None,
        source_id=source_id,
        mentions_brand=brand.mentioned_in(tweet, included_tweets),
        in_reply_to_id=replied_to[0] if replied_to else None,
        conversation_id=str(conversation_id) if conversation_id else None,
    )


# --- calling X -----------------------------------------------------------------------------



def _reset_at(exc: tweepy.TooManyRequests, now: datetime) -> datetime:
    reset = getattr(exc, "reset_time", None)
    if reset is None:
        headers = getattr(exc.response, "headers", None) or {}
        reset = headers.get("x-rate-limit-reset")
    return waits.reset_at(reset, now=now, default=RATE_LIMIT_FALLBACK, what="X")


def call_x(fn: Callable[..., Any], *, now: datetime, what: str, **params: Any) -> dict[str, Any]:
    """One call to X with its failures translated into the `bot.networks.base` exceptions."""
    try:
        return as_page(fn(**params))
    except tweepy.TooManyRequests as exc:
        raise RateLimited(_reset_at(exc, now), f"X {what}: {problem(exc)}") from exc
    except (tweepy.Unauthorized, tweepy.Forbidden) as exc:
        raise SourceAuthError(f"X refused {what} ({exc.response.status_code}): "
                              f"{problem(exc)}") from exc
    except (tweepy.BadRequest, tweepy.NotFound) as exc:
        raise SourceAuthError(f"X rejected {what} ({exc.response.status_code}): "
                              f"{problem(exc)}; check routing_rules.yaml") from exc
    except tweepy.HTTPException as exc:  # 5xx, and the odd 402/409/…
        raise SourceUnavailable(f"X {what} failed ({exc.response.status_code}): "
                                f"{problem(exc)}") from exc
    except requests.RequestException as exc:  # timeouts, connection errors, a non-JSON body
        raise SourceUnavailable(f"X {what} failed: {type(exc).__name__}: "
                                f"{REDACTOR.scrub(str(exc))}") from exc


def _utc(now: datetime) -> datetime:
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


class _XSource(ABC):
    """What both X sources share: the window, pagination, the cap, the cursor."""

    page_param = "pagination_token"
    what = "request"

    def __init__(self, spec: SourceSpec, brand: Brand, client: tweepy.Client, *,
                 brand_user_id: str | None = None, max_pages: int = MAX_PAGES,
                 urgent: tuple[Cue, ...] = ()) -> None:
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self.spec = spec
        self.brand = brand
        self.client = client
        self.brand_user_id = str(brand_user_id) if brand_user_id else None
        self.max_pages = max_pages
        scope = self._urgent_scope()
        # The rules' P1 cues (bot.domain.rules.urgent) as recent-search queries: none, no search.
        self.urgent_queries = queries(scope, urgent) if scope and urgent else []
        self._urgent_resume_at: datetime | None = None  # a 429 on recent search: not before

    def _urgent_scope(self) -> str | None:
        """What the urgent search narrows down (the source's own posts): None, no search."""
        return None

    @property
    def user_auth(self) -> bool:
        # App-only bearer when the client has one; otherwise sign as the brand (OAuth 1.0a).
        return not getattr(self.client, "bearer_token", None)

    @property
    def backfill_every(self) -> timedelta:
        """How soon to poll again while a gap is open (bot.listening.jobs.backfill_every):
        a full poll of `max_pages` requests as often as X's limit for this auth allows."""
        limit = REQUESTS_PER_WINDOW_USER if self.user_auth else REQUESTS_PER_WINDOW_APP
        return RATE_WINDOW * self.requests_per_poll / (limit * RATE_HEADROOM)

    @property
    def requests_per_poll(self) -> int:
        """The most requests one poll makes on this source's endpoint."""
        return self.max_pages

    @abstractmethod
    def _request(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        """One page from this source's endpoint, as a dict."""

    def _window(self, state: SourceState, now: datetime, notes: list[str]) -> dict[str, Any]:
        if state.cursor:
            return {"since_id": state.cursor}
        return {"start_time": now - BACKFILL}

    def _gap_window(self, gap: Gap, now: datetime, notes: list[str]) -> dict[str, Any] | None:
        """The request bounds that read `gap` (None: it is out of this endpoint's reach)."""
        return gap_bounds(gap)

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        """What is new since the cursor (up to the page cap), then, with the pages left, the
        gaps earlier polls left (newest first). A poll that reaches the cap keeps what it
        did not read as a new gap: nothing is skipped, only deferred."""
        now = _utc(now)
        notes: list[str] = []
        run = _Run(self, now)
        window = self._window(state, now, notes)
        newest = int(state.cursor) if state.cursor and state.cursor.isdigit() else None
        gaps = load(state.backfill)
        fresh = run.read(window, self.max_pages)
        if fresh.ids:
            newest = max(fresh.ids) if newest is None else max(newest, *fresh.ids)
        if fresh.more and fresh.oldest is not None:
            start = window.get("start_time")
            gaps.insert(0, Gap(older_than=str(fresh.oldest), newer_than=window.get("since_id"),
                               start_time=start.isoformat() if start else None))
            notes.append(f"page cap reached ({self.max_pages} pages, {run.reads} posts read): "
                         f"posts older than {fresh.oldest} are read by the next polls")
        backfilled = 0
        while gaps and run.pages < self.max_pages:
            bounds = self._gap_window(gaps[0], now, notes)
            if bounds is None:
                gaps.pop(0)
                continue
            part = run.read(bounds, self.max_pages - run.pages)
            backfilled += part.reads
            if part.more and part.oldest is not None:
                gaps[0] = dataclasses.replace(gaps[0], older_than=str(part.oldest))
            else:
                gaps.pop(0)
        # P1 candidates of the gaps (this poll's new one too) first: stored now, carded at
        # once; the backfill reaching them later finds them stored (one row, one card).
        backfilled += self._search_urgent(run, gaps, now)
        ordered = sorted(run.mentions.values(), key=lambda m: int(m.external_id)
                         if m.external_id.isdigit() else 0)
        cursor = str(newest) if newest is not None else state.cursor
        return Fetch(mentions=ordered, state=SourceState(cursor=cursor, backfill=dump(gaps)),
                     reads=run.reads, notes=notes + run.notes, rejected=run.rejected,
                     backfill_reads=backfilled)

    def _urgent_page(self, query: str, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        return call_x(self.client.search_recent_tweets, now=now, what="the urgent search",
                      query=query, **params)

    def _search_urgent(self, run: _Run, gaps: list[Gap], now: datetime) -> int:
        """One recent-search request for the P1 cues in the newest gap not searched yet,
        within its bounds (since_id its floor, until_id its top): posts read. A failure is a
        note, never the poll's: the backlog is read all the same, only not hurried."""
        total = len(self.urgent_queries)
        if not total or (self._urgent_resume_at is not None and now < self._urgent_resume_at):
            return 0
        for i, gap in enumerate(gaps):
            if gap.searched >= total:
                continue
            bounds = search_window(gap, now, run.notes)
            if bounds is None:
                gaps[i] = dataclasses.replace(gap, searched=total)
                continue
            if gap.search_below and gap.search_below.isdigit() and gap.older_than.isdigit():
                bounds["until_id"] = str(min(int(gap.search_below), int(gap.older_than)))
            query = self.urgent_queries[gap.searched]
            try:
                part = run.read(bounds, 1, request=functools.partial(self._urgent_page, query))
            except SourceError as exc:
                run.notes.append(f"urgent search for P1s skipped, the gap is read at the "
                                 f"backlog's pace: {exc}")
                if isinstance(exc, RateLimited):
                    self._urgent_resume_at = exc.reset_at
                elif isinstance(exc, SourceAuthError):  # the query or access refused
                    gaps[i] = dataclasses.replace(gap, searched=total)
                return 0
            more = part.more and part.oldest is not None
            gaps[i] = dataclasses.replace(
                gap, searched=gap.searched + (0 if more else 1),
                search_below=str(part.oldest) if more else None,
                urgent_reads=gap.urgent_reads + part.reads)
            run.notes.append(f"urgent search for P1s in the gap below {gap.older_than}: "
                             f"{part.reads} post(s) read")
            return part.reads
        return 0


def gap_bounds(gap: Gap) -> dict[str, Any]:
    """The request bounds of `gap`: below its top, above its floor (or the first start)."""
    bounds: dict[str, Any] = {"until_id": gap.older_than}
    if gap.newer_than:
        bounds["since_id"] = gap.newer_than
    elif gap.start_time:
        bounds["start_time"] = datetime.fromisoformat(gap.start_time)
    return bounds


def search_window(gap: Gap, now: datetime, notes: list[str]) -> dict[str, Any] | None:
    """`gap_bounds` within recent search's 7 days (None: the gap is older than them)."""
    oldest = now - SEARCH_WINDOW + SEARCH_WINDOW_MARGIN
    if gap.older_than.isdigit() and snowflake_time(gap.older_than) < oldest:
        notes.append(f"a gap older than recent search's 7 days is out of reach: posts "
                     f"before {gap.older_than} were not read")
        return None
    bounds = gap_bounds(gap)
    if str(bounds.get("since_id", "")).isdigit() and snowflake_time(bounds["since_id"]) < oldest:
        del bounds["since_id"]
        bounds["start_time"] = oldest  # X answers 400 to a since_id older than 7 days
    return bounds


@dataclass
class _Part:
    reads: int = 0
    ids: list[int] = field(default_factory=list)
    oldest: int | None = None  # the oldest post id read (the next page starts below it)
    more: bool = False  # X had another page when the page budget ran out


class _Run:
    """One poll's requests: pages read, mentions kept, posts billed, across its reads."""

    def __init__(self, source: _XSource, now: datetime) -> None:
        self.source, self.now = source, now
        self.brand = BrandMatcher(source.brand.x_username, source.brand_user_id)
        self.mentions: dict[str, Mention] = {}
        self.rejected: list[Rejected] = []
        self.notes: list[str] = []
        self.reads = self.pages = 0

    def read(self, bounds: dict[str, Any], max_pages: int, *,
             request: Callable[[dict[str, Any], datetime], dict[str, Any]] | None = None
             ) -> _Part:
        """Pages of the endpoint (or `request`'s) within `bounds`, newest first, at most
        `max_pages`."""
        src = self.source
        request = request or src._request  # noqa: SLF001  # the source's own call
        params: dict[str, Any] = {**bounds, "max_results": PAGE_SIZE, "expansions": EXPANSIONS,
                                  "user_fields": USER_FIELDS, "tweet_fields": TWEET_FIELDS,
                                  "user_auth": src.user_auth}
        part = _Part()
        for _ in range(max_pages):
            try:
                page = request(params, self.now)
            except SourceError as exc:
                exc.reads = self.reads  # type: ignore[attr-defined]  # billed before the failure
                raise
            self.pages += 1
            data = [t for t in page.get("data") or () if isinstance(t, Mapping)]
            self.reads += len(data)
            part.reads += len(data)
            meta = page.get("meta") or {}
            ids = [int(t["id"]) for t in data if str(t.get("id", "")).isdigit()]
            if ids:
                part.oldest = min(ids) if part.oldest is None else min(part.oldest, *ids)
            if str(meta.get("newest_id", "")).isdigit():
                ids.append(int(meta["newest_id"]))
            part.ids.extend(ids)
            for m in normalise_page(page, brand=self.brand, source_id=src.spec.id,
                                    rejected=self.rejected):
                self.mentions.setdefault(m.external_id, m)
            if not data and page.get("errors"):
                self.notes.append(f"X answered without posts: {_errors_text(page['errors'])}")
            token = meta.get("next_token")
            part.more = bool(token)
            if not token:
                break
            params[src.page_param] = token
        return part


def _errors_text(errors: object) -> str:
    if not isinstance(errors, list):
        return str(errors)[:200]
    return "; ".join(str(e.get("detail") or e.get("title") or e) if isinstance(e, dict)
                     else str(e) for e in errors[:3])[:300]


class XMentionsSource(_XSource):
    """Posts that mention the brand account (`brand.x_username`), newest 800 at most."""

    page_param = "pagination_token"
    what = "the mentions timeline"

    def _urgent_scope(self) -> str | None:
        return f"@{self.brand.x_username.lstrip('@')}" if self.brand.x_username else None

    def resolve_brand_user_id(self, now: datetime) -> str:
        """The brand account's numeric id, looked up once by username and then cached."""
        if self.brand_user_id:
            return self.brand_user_id
        if not self.brand.x_username:
            raise SourceAuthError("brand.x_username is not set in routing_rules.yaml: "
                                  f"source {self.spec.id} cannot poll X mentions")
        body = call_x(self.client.get_user, now=_utc(now),
                      what=f"the lookup of @{self.brand.x_username}",
                      username=self.brand.x_username, user_auth=self.user_auth)
        user = body.get("data")
        if not isinstance(user, Mapping) or not user.get("id"):
            raise SourceAuthError(f"X has no account @{self.brand.x_username}"
                                  + (f": {_errors_text(body['errors'])}" if body.get("errors")
                                     else "") + " (brand.x_username in routing_rules.yaml)")
        self.brand_user_id = str(user["id"])
        return self.brand_user_id

    def _request(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        return call_x(self.client.get_users_mentions, now=now, what=self.what,
                      id=self.resolve_brand_user_id(now), **params)


class XSearchSource(_XSource):
    """Recent search (`spec.query`, last 7 days). The brand's id is optional here: when given,
    replies to the brand count as mentioning it even if the text drops the @handle."""

    page_param = "next_token"
    what = "recent search"

    def __init__(self, spec: SourceSpec, brand: Brand, client: tweepy.Client, *,
                 brand_user_id: str | None = None, max_pages: int = MAX_PAGES,
                 urgent: tuple[Cue, ...] = ()) -> None:
        if not spec.query:
            raise ValueError(f"source {spec.id}: an x_search source needs a query")
        super().__init__(spec, brand, client, brand_user_id=brand_user_id, max_pages=max_pages,
                         urgent=urgent)

    def _window(self, state: SourceState, now: datetime, notes: list[str]) -> dict[str, Any]:
        oldest = now - SEARCH_WINDOW + SEARCH_WINDOW_MARGIN
        if state.cursor and state.cursor.isdigit() and snowflake_time(state.cursor) < oldest:
            # X answers 400 to a since_id older than 7 days: restart from the window's edge.
            notes.append(f"cursor {state.cursor} is older than recent search's 7 days; "
                         f"posts before {oldest:%Y-%m-%d %H:%M}Z are out of reach")
            return {"start_time": oldest}
        return super()._window(state, now, notes)

    def _request(self, params: dict[str, Any], now: datetime) -> dict[str, Any]:
        return call_x(self.client.search_recent_tweets, now=now, what=self.what,
                      query=self.spec.query, **params)

    def _gap_window(self, gap: Gap, now: datetime, notes: list[str]) -> dict[str, Any] | None:
        return search_window(gap, now, notes)

    def _urgent_scope(self) -> str | None:
        return f"({self.spec.query})" if self.spec.query else None

    @property
    def requests_per_poll(self) -> int:
        return self.max_pages + (1 if self.urgent_queries else 0)  # one endpoint for both
