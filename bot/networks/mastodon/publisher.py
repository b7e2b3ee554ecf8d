"""Mastodon (Mastodon.py): reply, favourite, boost, and finding our own reply afterwards.

- reply:  `POST /api/v1/statuses` with `status`, `in_reply_to_id` and the header
          `Idempotency-Key: reply:<draft id>`. Mastodon remembers a key for an hour and answers
          a repeat with the status it already created, so within that hour a retry with the
          same key is safe: it cannot post twice. The reply never widens the audience: it takes
          the mention's visibility (a `direct` mention gets a `direct` reply).
- like / repost: `POST /api/v1/statuses/:id/favourite` / `reblog` (idempotent on the server).
- lookup: `GET /api/v1/statuses/:id/context`: our reply is a descendant whose
          `in_reply_to_id` is the mention and whose account is ours (`verify_credentials`).

Errors: 422 (too long, …), 404 (the post is gone) and other 4xx → rejected; 401/403 → auth;
429 (or Mastodon.py's own "rate limit reached" before sending) → unavailable; 5xx and a timeout
after sending → maybe_sent; a connection never made → unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonIllegalArgumentError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.networks.base import (
    ErrorKind,
    Lookup,
    Published,
    PublishError,
    Target,
    connection_never_made,
)
from bot.networks.mastodon.client import error_detail, error_status, value_of

# Mastodon keeps an Idempotency-Key for 3,600 s; stay clear of the edge.
IDEMPOTENCY_WINDOW = timedelta(minutes=55)
VISIBILITIES = ("public", "unlisted", "private", "direct")
T = TypeVar("T")


class MastodonPublisher:
    network = "mastodon"
    retry_window: timedelta | None = IDEMPOTENCY_WINDOW

    def __init__(self, api: Mastodon) -> None:
        self.api = api
        self._account_id: str | None = None

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        visibility = target.extra.get("visibility")
        status = self._call("reply", lambda: self.api.status_post(
            status=text, in_reply_to_id=target.external_id, idempotency_key=idempotency_key,
            visibility=visibility if visibility in VISIBILITIES else None))
        status_id = value_of(status, "id")
        if status_id is None:
            raise PublishError("maybe_sent", f"Mastodon answered without a status id: "
                               f"{status!r:.200}")
        return Published(str(status_id), value_of(status, "url") or value_of(status, "uri"))

    def like(self, target: Target) -> None:
        self._call("like", lambda: self.api.status_favourite(target.external_id))

    def repost(self, target: Target) -> None:
        self._call("repost", lambda: self.api.status_reblog(target.external_id))

    def account_id(self) -> str:
        if self._account_id is None:
            me = self._call("lookup", self.api.me)
            self._account_id = str(value_of(me, "id"))
        return self._account_id

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        own = self.account_id()
        context = self._call("lookup", lambda: self.api.status_context(target.external_id))
        for status in value_of(context, "descendants", []):
            account = value_of(status, "account", {})
            if str(value_of(status, "in_reply_to_id", "")) == target.external_id \
                    and str(value_of(account, "id", "")) == own:
                return Lookup(Published(str(value_of(status, "id")),
                                        value_of(status, "url") or value_of(status, "uri")),
                              complete=True, note="found in the post's replies")
        return Lookup(None, complete=True,
                      note=f"no reply by the brand among the replies to status "
                           f"{target.external_id}")

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except MastodonRatelimitError as exc:
            raise PublishError("unavailable", f"Mastodon rate limit reached: {exc}") from exc
        except MastodonUnauthorizedError as exc:
            raise PublishError("auth", f"Mastodon refused the access token (401): "
                               f"{error_detail(exc)}") from exc
        except MastodonNotFoundError as exc:
            raise PublishError("rejected", "Mastodon: the post is gone (404): "
                               f"{error_detail(exc)}") from exc
        except MastodonServerError as exc:
            raise PublishError(_unsure(what), f"Mastodon {what} failed ({error_status(exc)}): "
                               f"{error_detail(exc)}") from exc
        except MastodonNetworkError as exc:
            cause = exc.__cause__ or exc.__context__
            never = cause is not None and connection_never_made(cause)
            raise PublishError(_unsure(what, never), f"Mastodon {what} failed: {exc}") from exc
        except MastodonAPIError as exc:
            status = error_status(exc)
            if status == 403:
                raise PublishError("auth", f"Mastodon refused the {what} (403): "
                                   f"{error_detail(exc)}") from exc
            if isinstance(status, int) and 400 <= status < 500:
                raise PublishError("rejected", f"Mastodon rejected the {what} ({status}): "
                                   f"{error_detail(exc)}") from exc
            raise PublishError(_unsure(what), f"Mastodon {what} failed ({status}): "
                               f"{error_detail(exc)}") from exc
        except MastodonIllegalArgumentError as exc:  # refused by Mastodon.py, never sent
            raise PublishError("rejected", f"Mastodon {what}: {exc}") from exc
        except MastodonError as exc:
            raise PublishError(_unsure(what), f"Mastodon {what} failed: {exc}") from exc


def _unsure(what: str, never_sent: bool = False) -> ErrorKind:
    """A failure that may have reached Mastodon: a reply may be posted (unless the connection
    was never made), anything else can simply be tried again."""
    return "maybe_sent" if what == "reply" and not never_sent else "unavailable"
