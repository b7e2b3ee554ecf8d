"""`google_play_reviews`: the recent reviews of one app (`package:` in the rules), through
`reviews.list` of androidpublisher v3.

Google lists the reviews with a comment created or changed in the last week, the most
recently created or changed first, `maxResults` a page with a `tokenPagination` token to the
next. A poll reads pages until it reaches the cursor (the newest `lastModified` it has seen,
in epoch seconds) or MAX_PAGES; the first poll (no cursor) reads one page: the desk starts
with the latest reviews, not a week of them. Reviews are returned oldest first. A burst
larger than the cap leaves a gap (bot.networks.gaps: Google's page `token` to resume from, the
old cursor its floor) that the next polls read with the pages the new reviews leave over.

One mention per review, `external_id` = the review id; the review's star rating, app version,
device and language go into `Mention.extra` (the rating feeds the score:
`bot.domain.scoring.rating`). A review the author edits after the brand replied is a new
question: it comes back with a newer `lastModified` than our reply, and is stored as a new
mention `<review id>:edited:<seconds>` marked `edited_after_reply` (answering it edits our one
reply). An edit before any reply is the same review to the desk (its card is already there).

Failures: a 400 for a gap's page token (expired) → the gap is read again from the newest
page (bot.networks.gaps.TokenRefused); 429 or a 403 quota reason → `RateLimited` (until Retry-After, else QUOTA_WAIT);
401/403 and a key the token endpoint refuses → `SourceAuthError` (the source is parked with
the reason); 5xx, timeouts, no connection → `SourceUnavailable` (backoff).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

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
from bot.networks.google_play.client import PlayApi, comments_of, play_error, seconds_of
from bot.networks.rejects import rejected as reject

log = logging.getLogger(__name__)

PAGE_LIMIT = 100  # reviews per page (the API caps maxResults)
MAX_PAGES = 4  # per poll: at most 48 of the 200 reads an hour at the default every (5m)
QUOTA_WAIT = timedelta(hours=1)  # Google counts review GETs per hour
READS_PER_HOUR = 200  # Google's quota of review GETs an hour, per app
REPLY_EXCERPT = 500  # characters of an existing developer reply kept for the card


def review_url(package: str, review_id: str) -> str:
    return f"https://play.google.com/store/apps/details?id={package}&reviewId={review_id}"


def lang_of(reviewer_language: str | None) -> str | None:
    """`en_GB`, `pt-BR` → `en`, `pt` (the device's language, the best guess Google gives)."""
    if not reviewer_language:
        return None
    return reviewer_language.replace("-", "_").split("_")[0].lower() or None


def _modified(review: dict[str, Any]) -> int | None:
    """When the review's text last changed (epoch seconds); None when it can't be read."""
    try:
        return seconds_of(comments_of(review)[0].get("lastModified"))
    except (AttributeError, TypeError):  # a comment that is not an object
        return None


class GooglePlaySource:
    """`type: google_play_reviews` — reviews of the app `spec.package`."""

    def __init__(self, spec: SourceSpec, brand: Brand, api: PlayApi, *,
                 page_limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.api = api
        self.package = spec.package or ""
        self.page_limit = page_limit
        self.max_pages = max_pages

    @property
    def backfill_every(self) -> timedelta:
        """How soon to poll again while a gap is open (bot.listening.jobs.backfill_every): a
        full poll as often as 90 % of Google's hourly quota allows (80 s at 4 pages), not the
        15 s default that would spend the hour's reads in 12 minutes."""
        return QUOTA_WAIT * self.max_pages / (0.9 * READS_PER_HOUR)

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        cursor = int(state.cursor) if state.cursor and state.cursor.isdigit() else None
        notes: list[str] = []
        pages = 1 if cursor is None else self.max_pages
        run: Backfill[dict[str, Any]] = Backfill.of(partial(self._page, now), state.backfill)
        if run.read_new(str(cursor) if cursor is not None else None, pages):
            notes.append("first poll: read the newest page only" if cursor is None else
                         f"page cap reached ({pages} pages of {self.page_limit}): older "
                         "changed reviews are read by the next polls")
        run.read_gaps(self.max_pages - run.pages)
        notes.extend(run.refusal_notes("Google Play"))
        newest = cursor
        mentions: list[Mention] = []
        rejected: list[Rejected] = []
        seen: set[tuple[str, int]] = set()
        for review, floor in reversed(run.items):  # Google lists newest first
            try:
                modified = _modified(review)
                if not review.get("reviewId") or modified is None:
                    raise ValueError("a review without a reviewId or a lastModified time")
                if floor is not None and modified < int(floor):
                    continue  # already seen (the cursor's second is read again; dedupe drops it)
                if (str(review["reviewId"]), modified) in seen:
                    continue  # read twice: new reviews moved the pages down under a gap's token
                seen.add((str(review["reviewId"]), modified))
                newest = modified if newest is None else max(newest, modified)
                mentions.append(self._normalise(review))
            except Exception as exc:  # one unreadable review must not fail the page
                rejected.append(reject("google_play", review, exc, review.get("reviewId")))
        return Fetch(mentions=mentions,
                     state=SourceState(cursor=str(newest) if newest is not None else None,
                                       backfill=run.state()),
                     reads=len(run.items), notes=notes, rejected=rejected,
                     backfill_reads=run.backfill_items)

    def _page(self, now: datetime, token: str | None, floor: str | None, scope: str | None
              ) -> Page[dict[str, Any]]:
        """One page of reviews from Google's `token`, newest changed first."""
        body = self._list(now, token)
        page = [r for r in body.get("reviews") or () if isinstance(r, dict)]
        times = [t for t in map(_modified, page) if t is not None]
        return Page(page, next=(body.get("tokenPagination") or {}).get("nextPageToken"),
                    reached=floor is not None and any(t <= int(floor) for t in times),
                    oldest=str(min(times)) if times else None)

    def _list(self, now: datetime, token: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"packageName": self.package, "maxResults": self.page_limit}
        if token:
            params["token"] = token
        try:
            return self.api.execute(self.api.reviews().list(**params))
        except Exception as exc:
            error = play_error(exc)
            if error is None:
                raise
            where = f"google play {self.package}"
            if token and error.status == 400:  # an expired token: the gap is read again
                raise TokenRefused(f"{where}: {error.detail}") from exc
            if error.quota:
                wait = waits.seconds(error.retry_after, default=QUOTA_WAIT, what=where)
                raise RateLimited(now + wait, f"{where}: quota exhausted ({error.detail})"
                                  ) from exc
            if error.auth:
                raise SourceAuthError(f"{where}: access refused ({error.detail}); check "
                                      "GOOGLE_PLAY_SERVICE_ACCOUNT_JSON and that the service "
                                      "account may read and reply to reviews") from exc
            if error.status == 404:
                raise SourceAuthError(f"{where}: no such app ({error.detail}); check the "
                                      "source's package") from exc
            raise SourceUnavailable(f"{where}: {error.detail}") from exc

    def _normalise(self, review: dict[str, Any]) -> Mention:
        user, developer = comments_of(review)
        review_id = str(review["reviewId"])
        modified = seconds_of(user.get("lastModified"))
        replied = seconds_of(developer.get("lastModified")) if developer else None
        text = str(user.get("text") or "").replace("\t", "\n\n")  # title TAB body
        extra: dict[str, str] = {"review_id": review_id, "package": self.package}
        rating = user.get("starRating")
        if isinstance(rating, int) and 1 <= rating <= 5:
            extra["rating"] = str(rating)
        for key, field in (("app_version", "appVersionName"), ("device", "device"),
                           ("android_os", "androidOsVersion"),
                           ("reviewer_language", "reviewerLanguage")):
            if user.get(field) not in (None, ""):
                extra[key] = str(user[field])
        if developer.get("text"):
            extra["developer_reply"] = str(developer["text"])[:REPLY_EXCERPT]
        external_id = review_id
        if replied is not None and modified is not None and modified > replied:
            external_id = f"{review_id}:edited:{modified}"
            extra["edited_after_reply"] = "1"
            log.info("source %s: review %s edited after the brand's reply: a new card",
                     self.spec.id, review_id)
        name = str(review.get("authorName") or "")
        return Mention(
            network="google_play",
            external_id=external_id,
            text=text,
            author=Author(handle=name or "A Google user", name=name),
            url=review_url(self.package, review_id),
            created_at=datetime.fromtimestamp(modified, UTC) if modified is not None else None,
            lang=lang_of(user.get("reviewerLanguage")),
            source_id=self.spec.id,
            mentions_brand=True,  # a review of the brand's own app
            extra=extra,
        )
