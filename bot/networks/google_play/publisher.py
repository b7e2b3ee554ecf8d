"""Google Play: answer a review with `reviews.reply`, and find that answer afterwards.

- reply:  `POST …/reviews/{reviewId}:reply` with `replyText`. A review has one developer reply;
          replying again replaces it (the card says so). The reply keeps no id of its own:
          its network id is `<review id>:reply`, its URL the review's.
- lookup: `reviews.get`: our reply is the review's developer comment, changed at or after the
          send intent (a minute of clock slack). Complete either way: there is one place to
          look. A deleted review is "not sent" (there is nothing left to answer).
- like / repost: Google Play has neither: rejected.

Errors: 400 (too long, …) and 404 (the review is gone) → rejected; 401/403 → auth, except a
quota answer (429, 403 rateLimitExceeded…) → unavailable; 5xx and a timeout after sending →
maybe_sent; a connection never made or a refused key → not sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.networks.base import Lookup, Published, PublishError, Target
from bot.networks.google_play.client import PlayApi, comments_of, play_error, seconds_of

CLOCK_SLACK = timedelta(minutes=1)


class GooglePlayPublisher:
    network = "google_play"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, api: PlayApi) -> None:
        self.api = api

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        package, review_id = _where(target)
        body = self._call("reply", lambda: self.api.reviews().reply(
            packageName=package, reviewId=review_id, body={"replyText": text}))
        if not isinstance(body.get("result"), dict):
            raise PublishError("maybe_sent", f"Google Play answered without a result: "
                               f"{body!r:.200}")
        return Published(f"{review_id}:reply", target.url)

    def like(self, target: Target) -> None:
        raise PublishError("rejected", "Google Play reviews cannot be liked")

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "Google Play reviews cannot be reposted")

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        package, review_id = _where(target)
        try:
            review = self._call("lookup", lambda: self.api.reviews().get(
                packageName=package, reviewId=review_id))
        except PublishError as exc:
            if exc.kind == "rejected":  # 404: the review was deleted
                return Lookup(None, complete=True, note=f"the review is gone: {exc.detail}")
            raise
        _, developer = comments_of(review)
        at = seconds_of(developer.get("lastModified")) if developer else None
        if at is not None and datetime.fromtimestamp(at, UTC) >= since - CLOCK_SLACK:
            return Lookup(Published(f"{review_id}:reply", target.url), complete=True,
                          note="found as the review's developer reply")
        return Lookup(None, complete=True,
                      note=f"review {review_id} has no developer reply since the send")

    def _call(self, what: str, make: Callable[[], Any]) -> dict[str, Any]:
        try:
            return self.api.execute(make())
        except Exception as exc:
            error = play_error(exc)
            if error is None:
                raise
            if error.quota:
                raise PublishError("unavailable", f"Google Play quota exhausted: "
                                   f"{error.detail}") from exc
            if error.auth:
                raise PublishError("auth", f"Google Play refused the {what}: {error.detail}"
                                   ) from exc
            if error.status is not None and 400 <= error.status < 500:
                gone = " (the review is gone)" if error.status == 404 else ""
                raise PublishError("rejected", f"Google Play rejected the {what}{gone}: "
                                   f"{error.detail}") from exc
            unsure = what == "reply" and not error.never_sent
            raise PublishError("maybe_sent" if unsure else "unavailable",
                               f"Google Play {what} failed: {error.detail}") from exc


def _where(target: Target) -> tuple[str, str]:
    package = target.extra.get("package", "")
    review_id = target.extra.get("review_id") or target.external_id.split(":", 1)[0]
    if not package:
        raise PublishError("rejected", "this review has no package name to answer it in")
    return package, review_id
