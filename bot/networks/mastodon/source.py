"""Mastodon: the brand account's mention notifications, through Mastodon.py.

`GET /api/v1/notifications?types[]=mention&since_id=<cursor>&limit=80`, newest first; older pages
are fetched with `max_id` (and the same `since_id`) until a short page, so nothing between the
cursor and now is skipped, then everything is returned oldest first. The cursor is the newest
notification id seen. The first poll (no cursor) reads one page only: the desk starts with the
latest mentions, not the account's whole history. A burst larger than MAX_PAGES pages leaves a
gap (bot.networks.gaps): the newest mentions are read, the cursor moves to the newest, and the
next polls read the gap (`since_id` = the old cursor, `max_id` = the oldest read) with the pages
the new mentions leave over, until it is closed.

Mastodon.py is built with `ratelimit_method="throw"`, so it never sleeps in our thread; its errors
are mapped onto the three `bot.networks.base` exceptions. The 429 reset time is read from the
response's `X-RateLimit-Reset` header (an ISO 8601 time on Mastodon, epoch seconds on some other
servers), captured with a requests response hook on the client's session, else from
`api.ratelimit_reset`.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.domain.conversation import flag_by_brand
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
from bot.networks.gaps import Backfill, Page
from bot.networks.htmltext import html_to_text
from bot.networks.mastodon.client import error_detail, error_status, value_of
from bot.networks.rejects import rejected as reject

PAGE_LIMIT = 80  # the API's maximum
MAX_PAGES = 10  # per poll: 800 mentions; 10 of the 300 requests allowed per 5 minutes
RATE_WINDOW = timedelta(minutes=5)  # Mastodon's default: 300 requests per 5 minutes


def _id_key(value: str) -> tuple[int, int | str]:
    """Mastodon ids are decimal strings of varying length: compare them as numbers."""
    s = str(value)
    return (0, int(s)) if s.isdigit() else (1, s)


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _parse_reset(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    return _utc(value)


class MastodonSource:
    """`type: mastodon_mentions` — mentions of the brand account on its own instance."""

    def __init__(self, spec: SourceSpec, brand: Brand, api: Mastodon, *,
                 page_limit: int = PAGE_LIMIT, max_pages: int = MAX_PAGES) -> None:
        self.spec = spec
        self.brand = brand
        self.api = api
        self.page_limit = page_limit
        self.max_pages = max_pages
        self._last_headers: threading.local = threading.local()
        session = getattr(api, "session", None)
        if isinstance(session, requests.Session):
            session.hooks.setdefault("response", []).append(self._remember_headers)

    def _remember_headers(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_headers.value = response.headers

    def fetch(self, state: SourceState, *, now: datetime) -> Fetch:
        since_id = state.cursor or None
        pages = 1 if since_id is None else self.max_pages
        notes: list[str] = []
        run: Backfill[Any] = Backfill.of(partial(self._page, now), state.backfill)
        # A gap's token is the `max_id` to read below (gaps written before it had none).
        run.gaps = [g if g.token else dataclasses.replace(g, token=g.older_than)
                    for g in run.gaps]
        if run.read_new(since_id, pages):
            if since_id is None:
                notes.append("first poll: read the newest page only")
            else:
                # A burst larger than the cap: the newest mentions first; the ones between
                # the cursor and the oldest read are a gap the next polls read.
                notes.append(f"page cap reached ({pages} pages of {self.page_limit}): mentions "
                             f"older than notification {run.gaps[0].older_than} are read by "
                             "the next polls")
        run.read_gaps(self.max_pages - run.pages)
        notifications = [n for n, _ in run.items]
        backfilled = run.backfill_items

        seen: set[str] = set()
        mentions: list[Mention] = []
        newest = since_id
        for n in notifications:
            nid = str(value_of(n, "id"))
            if newest is None or _id_key(nid) > _id_key(newest):
                newest = nid
        skipped_own = 0
        rejected: list[Rejected] = []
        for n in sorted(notifications, key=lambda n: _id_key(value_of(n, "id"))):
            nid = str(value_of(n, "id"))
            if nid in seen:
                continue
            seen.add(nid)
            if value_of(n, "type") != "mention" or not value_of(n, "status"):
                continue
            try:
                mention = self._normalise(n)
            except Exception as exc:  # one unreadable post must not fail the page
                rejected.append(reject("mastodon", n, exc, value_of(value_of(n, "status"), "id")))
                continue
            if self._is_brand(mention.author.handle):
                if mention.in_reply_to_id:  # maybe a colleague answering outside socialbot
                    mentions.append(flag_by_brand(mention))
                else:
                    skipped_own += 1
                continue
            mentions.append(mention)
        if skipped_own:
            notes.append(f"{skipped_own} of the brand's own posts skipped")
        return Fetch(mentions=mentions, state=SourceState(cursor=newest, backfill=run.state()),
                     reads=len(seen), notes=notes, rejected=rejected, backfill_reads=backfilled)

    def _page(self, now: datetime, max_id: str | None, since_id: str | None,
              scope: str | None) -> Page[Any]:
        """One page newest first between the bounds (exclusive): a short page is the last."""
        page = self._call(now, since_id=since_id, max_id=max_id)
        oldest = str(min((value_of(n, "id") for n in page), key=_id_key)) if page else None
        return Page(page, next=oldest if len(page) >= self.page_limit else None, oldest=oldest)

    def _call(self, now: datetime, **params: Any) -> list[Any]:
        self._last_headers.value = None
        try:
            page = self.api.notifications(types=["mention"], limit=self.page_limit, **params)
        except MastodonRatelimitError as exc:
            raise RateLimited(self._reset_at(now), f"mastodon: {exc}") from exc
        except MastodonUnauthorizedError as exc:
            raise SourceAuthError(f"mastodon: access token refused (401): {error_detail(exc)}"
                                  ) from exc
        except MastodonNotFoundError as exc:
            raise SourceAuthError("mastodon: notifications endpoint not found (404): check "
                                  f"MASTODON_API_BASE_URL: {error_detail(exc)}") from exc
        except MastodonServerError as exc:
            raise SourceUnavailable(f"mastodon: server error {error_status(exc)}: "
                                    f"{error_detail(exc)}") from exc
        except MastodonNetworkError as exc:
            raise SourceUnavailable(f"mastodon: {exc}") from exc
        except MastodonAPIError as exc:
            status = error_status(exc)
            if status in (401, 403):
                raise SourceAuthError(f"mastodon: access refused ({status}): {error_detail(exc)}"
                                      ) from exc
            if isinstance(status, int) and 400 <= status < 500 and status not in (408, 429):
                raise SourceAuthError(f"mastodon: request refused ({status}): {error_detail(exc)}"
                                      ) from exc
            raise SourceUnavailable(f"mastodon: API error {status}: {error_detail(exc)}") from exc
        except MastodonError as exc:
            raise SourceUnavailable(f"mastodon: {exc}") from exc
        if not isinstance(page, list):
            raise SourceUnavailable("mastodon: expected a list of notifications, got "
                                    f"{type(page).__name__}")
        return page

    def _reset_at(self, now: datetime) -> datetime:
        headers = getattr(self._last_headers, "value", None)
        reset = _parse_reset(headers.get("X-RateLimit-Reset")) if headers is not None else None
        if reset is None and getattr(self.api, "ratelimit_reset", None):
            reset = datetime.fromtimestamp(float(self.api.ratelimit_reset), UTC)
        if reset is None or reset <= now:
            reset = now + RATE_WINDOW
        return reset

    def _is_brand(self, acct: str) -> bool:
        own = (self.brand.mastodon_acct or "").lstrip("@").lower()
        if not own:
            return False
        acct = acct.lower()
        # The brand's own notifications show local accounts without the instance part.
        return acct == own or acct == own.split("@")[0]

    def _normalise(self, notification: Any) -> Mention:
        status = value_of(notification, "status")
        account = value_of(status, "account") or value_of(notification, "account") or {}
        text = html_to_text(value_of(status, "content", ""))
        spoiler = value_of(status, "spoiler_text", "")
        if spoiler:
            text = f"CW: {spoiler}\n\n{text}"
        acct = str(value_of(account, "acct", "") or value_of(account, "username", ""))
        extra = {"notification_id": str(value_of(notification, "id")),
                 "visibility": str(value_of(status, "visibility", "public"))}
        if value_of(status, "uri"):
            extra["uri"] = str(value_of(status, "uri"))
        if value_of(status, "in_reply_to_account_id"):
            extra["in_reply_to_account_id"] = str(value_of(status, "in_reply_to_account_id"))
        in_reply_to = value_of(status, "in_reply_to_id")
        return Mention(
            network="mastodon",
            external_id=str(value_of(status, "id")),
            text=text,
            author=Author(
                handle=acct,
                name=str(value_of(account, "display_name", "")
                         or value_of(account, "username", "")),
                followers=int(value_of(account, "followers_count", 0) or 0),
                external_id=str(value_of(account, "id")) if value_of(account, "id") else None,
                verified=False,
            ),
            url=value_of(status, "url") or value_of(status, "uri"),
            created_at=(_utc(value_of(status, "created_at"))
                        or _utc(value_of(notification, "created_at"))),
            lang=value_of(status, "language"),
            source_id=self.spec.id,
            mentions_brand=True,  # a mention notification: the post names the brand account
            in_reply_to_id=str(in_reply_to) if in_reply_to else None,
            extra=extra,
        )
