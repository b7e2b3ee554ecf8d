"""`app_store_reviews`: the newest customer reviews of one app (`app_id:` in the rules, the
app's numeric Apple ID), through `GET /v1/apps/{id}/customerReviews` of App Store Connect.

Apple lists every review the app ever had; `sort=-createdDate` puts the newest first and
`include=response` brings our response to each along (in `included`). A poll reads pages of
PAGE_LIMIT, following `links.next`, until it reaches the cursor (the newest `createdDate` it
has seen, epoch seconds) or MAX_PAGES. The first poll (no cursor) reads one page and keeps the
reviews of the last FIRST_POLL_WINDOW: the desk starts with this week, not the app's history.
Reviews are returned oldest first. A burst larger than the cap leaves a gap (bot.networks.gaps:
Apple's `links.next` to resume from, the old cursor its floor) that the next polls read with
the pages the new reviews leave over, until it is closed.

One mention per review, `external_id` = the review id; its rating, territory and title, and
our response if there is one (its text and state), go into `Mention.extra` (the rating feeds
the score: `bot.domain.scoring.rating`). A customer who edits a review gets a new
`createdDate`; when that is newer than our response, it is a new question and is stored as a
new mention `<review id>:edited:<seconds>` marked `edited_after_reply` (answering it replaces
our one response). An edit before any response is the same review to the desk.

Failures: 429 / RATE_LIMIT_EXCEEDED → `RateLimited` (until Retry-After, else RATE_LIMIT_WAIT);
401/403 and key settings that cannot sign → `SourceAuthError` (the source is parked with the
reason); 404 → `SourceAuthError` (no such app for this key); 5xx, timeouts, no connection →
`SourceUnavailable` (backoff).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.domain import waits
from bot.domain.mention import Author, Mention
from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.app_store.client import (
    AscApi,
    AscError,
    app_url,
    parse_time,
    response_of,
    responses_by_id,
)
from bot.networks.base import (
    Fetch,
    RateLimited,
    Rejected,
    SourceAuthError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.gaps import Backfill, Page
from bot.networks.rejects import rejected as reject

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # reviews a page (Apple allows 200; 100 keeps a page's answer small)
MAX_PAGES = 3  # per poll
FIRST_POLL_WINDOW = timedelta(days=7)
RATE_LIMIT_WAIT = timedelta(minutes=15)  # Apple's limit is a rolling hour and sends no reset
REPLY_EXCERPT = 500  # characters of an existing response kept for the card
REVIEW_FIELDS = "rating,title,body,reviewerNickname,createdDate,territory,response"
RESPONSE_FIELDS = "responseBody,lastModifiedDate,state"


class AppStoreSource:
    """`type: app_store_reviews` — reviews of the app `spec.app_id`."""

    def __init__(self, spec: SourceSpec, brand: Brand, api: AscApi, *,
                 page_limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.api = api
        self.app_id = spec.app_id or ""
        self.page_limit = page_limit
        self.max_pages = max_pages

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        cursor = int(state.cursor) if state.cursor and state.cursor.isdigit() else None
        notes: list[str] = []
        pages = 1 if cursor is None else self.max_pages
        # A page's reviews carry the page's responses by id: a review is read in the guarded
        # loop below.
        run: Backfill[tuple[dict[str, Any], dict[str, dict[str, Any]]]] = Backfill.of(
            partial(self._reviews, now), state.backfill)
        if run.read_new(str(cursor) if cursor is not None else None, pages) and cursor is not None:
            notes.append(f"page cap reached ({pages} pages of {self.page_limit}): older "
                         "new reviews are read by the next polls")
        run.read_gaps(self.max_pages - run.pages)
        since = None if cursor is not None else int((now - FIRST_POLL_WINDOW).timestamp())
        newest = cursor
        mentions: list[Mention] = []
        rejected: list[Rejected] = []
        seen: set[tuple[str, int]] = set()
        old = 0
        for (review, responses), floor in reversed(run.items):  # Apple lists newest first
            try:
                created = _created(review)
                if not review.get("id") or created is None:
                    raise ValueError("a review without an id or a createdDate")
                newest = created if newest is None else max(newest, created)
                if floor is not None and created < int(floor):
                    continue  # already seen (the cursor's second is read again; dedupe drops it)
                if (str(review["id"]), created) in seen:
                    continue  # read twice: new reviews moved the pages under a gap's cursor
                seen.add((str(review["id"]), created))
                if since is not None and created < since:
                    old += 1
                    continue
                mentions.append(self._normalise(review, response_of(review, responses)))
            except Exception as exc:  # one unreadable review must not fail the page
                rejected.append(reject("app_store", review, exc, review.get("id")))
        if old:
            notes.append(f"first poll: {old} reviews older than {FIRST_POLL_WINDOW.days} days "
                         "left out")
        return Fetch(mentions=mentions,
                     state=SourceState(cursor=str(newest) if newest is not None else None,
                                       backfill=run.state()),
                     reads=len(run.items), notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items)

    def _reviews(self, now: datetime, next_url: str | None, floor: str | None,
                 scope: str | None) -> Page[tuple[dict[str, Any], dict[str, dict[str, Any]]]]:
        """One page from Apple's `links.next` (None: the newest), with its responses."""
        answer = self._page(now, next_url)
        responses = responses_by_id(answer)
        page = [r for r in answer.get("data") or () if isinstance(r, dict)]
        times = [t for t in map(_created, page) if t is not None]
        # Kept as the path on this API (the gap is stored): a host moved in the settings
        # still reads it, and the token is never sent anywhere else (AscApi.call).
        nxt = (answer.get("links") or {}).get("next")
        if isinstance(nxt, str) and nxt.startswith(self.api.base + "/"):
            nxt = nxt[len(self.api.base):]
        return Page([(r, responses) for r in page], next=nxt,
                    reached=floor is not None and any(t <= int(floor) for t in times),
                    oldest=str(min(times)) if times else None)

    def _page(self, now: datetime, next_url: str | None) -> dict[str, Any]:
        where = f"app store {self.app_id}"
        try:
            if next_url:
                return self.api.call("GET", next_url)
            return self.api.call("GET", f"/v1/apps/{self.app_id}/customerReviews", params={
                "sort": "-createdDate", "limit": self.page_limit, "include": "response",
                "fields[customerReviews]": REVIEW_FIELDS,
                "fields[customerReviewResponses]": RESPONSE_FIELDS})
        except AscError as exc:
            if exc.rate_limited:
                wait = waits.seconds(exc.retry_after, default=RATE_LIMIT_WAIT, what=where)
                raise RateLimited(now + wait, f"{where}: rate limited ({exc.detail})") from exc
            if exc.auth:
                raise SourceAuthError(
                    f"{where}: access refused ({exc.detail}); check APP_STORE_KEY_ID, "
                    "APP_STORE_ISSUER_ID and the private key, and that the key's role may "
                    "read and answer reviews (Customer Support, App Manager or Admin)"
                ) from exc
            if exc.status == 404:
                raise SourceAuthError(f"{where}: no such app for this key ({exc.detail}); "
                                      "check the source's app_id (the app's Apple ID)") from exc
            raise SourceUnavailable(f"{where}: {exc.detail}") from exc

    def _normalise(self, review: dict[str, Any], response: dict[str, Any] | None) -> Mention:
        attrs = review.get("attributes") or {}
        review_id = str(review["id"])
        created = _created(review) or 0
        title = str(attrs.get("title") or "").strip()
        body = str(attrs.get("body") or "").strip()
        text = f"{title}\n\n{body}" if title and body else title or body
        extra: dict[str, str] = {"review_id": review_id, "app_id": self.app_id}
        rating = attrs.get("rating")
        if isinstance(rating, int) and 1 <= rating <= 5:
            extra["rating"] = str(rating)
        if attrs.get("territory"):
            extra["territory"] = str(attrs["territory"])
        if title:
            extra["title"] = title
        external_id = review_id
        if response is not None:
            said = response.get("attributes") or {}
            extra["response_id"] = str(response.get("id"))
            if said.get("responseBody"):
                extra["developer_reply"] = str(said["responseBody"])[:REPLY_EXCERPT]
            if said.get("state"):
                extra["response_state"] = str(said["state"])
            answered = parse_time(said.get("lastModifiedDate"))
            if answered is not None and created > answered.timestamp():
                external_id = f"{review_id}:edited:{created}"
                extra["edited_after_reply"] = "1"
                log.info("source %s: review %s edited after the brand's response: a new card",
                         self.spec.id, review_id)
        name = str(attrs.get("reviewerNickname") or "")
        return Mention(
            network="app_store",
            external_id=external_id,
            text=text,
            author=Author(handle=name or "An App Store user", name=name),
            url=app_url(self.app_id),
            created_at=datetime.fromtimestamp(created, UTC),
            lang=None,  # Apple gives the territory, not the language: detected from the text
            source_id=self.spec.id,
            mentions_brand=True,  # a review of the brand's own app
            extra=extra,
        )


def _created(review: dict[str, Any]) -> int | None:
    """When the review was written (epoch seconds); None when it can't be read."""
    attributes = review.get("attributes")
    at = parse_time(attributes.get("createdDate")) if isinstance(attributes, dict) else None
    return int(at.timestamp()) if at is not None else None
