"""App Store: answer a review with a `customerReviewResponses` resource, and find it afterwards.

- reply:  first `GET /v1/customerReviews/{id}?include=response` — the review's one response,
          if any. The same text already there is our own earlier attempt whose answer was lost:
          it is recorded, not posted again. Another response is replaced, the way Apple
          allows: `DELETE /v1/customerReviewResponses/{id}`, then
          `POST /v1/customerReviewResponses` (`responseBody`, the review in `relationships`).
          What was replaced goes back with the result (`Published.replaced`) into the send's
          audit event. The network id is the response's id; the URL the app's review page.
- lookup: the same GET: our reply is the review's response, changed at or after the send
          intent (a minute of clock slack). Complete either way: there is one place to look.
          A deleted review is "not sent" (there is nothing left to answer).
- like / repost: the App Store has neither: rejected.

Errors: 400/409/422 (too long, a response already there, …) and 404 (the review is gone) →
rejected; 401/403 → auth; 429 → unavailable; 5xx and a timeout after the POST left →
maybe_sent; anything before the POST → nothing was posted (unavailable), though a failed
create after the delete leaves the review without our earlier answer (the error says so).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.networks.app_store.client import (
    AscApi,
    AscError,
    app_url,
    parse_time,
    response_of,
    responses_by_id,
)
from bot.networks.base import Lookup, Published, PublishError, Target

CLOCK_SLACK = timedelta(minutes=1)
QUOTE = 200  # characters of a replaced response kept in the audit event


class AppStorePublisher:
    network = "app_store"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, api: AscApi) -> None:
        self.api = api

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        review_id = _review_id(target)
        url = target.url or app_url(target.extra.get("app_id", ""))
        existing = self._response(review_id, "reply")
        replaced = ""
        if existing is not None:
            said = existing.get("attributes") or {}
            if said.get("responseBody") == text:
                return Published(str(existing["id"]), url,
                                 replaced="the review already carried this response")
            self._call("delete the earlier response", lambda: self.api.call(
                "DELETE", f"/v1/customerReviewResponses/{existing['id']}"), gone_ok=True)
            replaced = (f"replaced response {existing['id']} ({said.get('state') or '?'}, "
                        f"{said.get('lastModifiedDate') or '?'}): "
                        f"{str(said.get('responseBody') or '')[:QUOTE]}")
        body = {"data": {"type": "customerReviewResponses",
                         "attributes": {"responseBody": text},
                         "relationships": {"review": {"data": {"type": "customerReviews",
                                                               "id": review_id}}}}}
        try:
            answer = self._call("reply", lambda: self.api.call(
                "POST", "/v1/customerReviewResponses", body=body))
        except PublishError as exc:
            if replaced:  # say what the failed create leaves behind
                raise PublishError(exc.kind, f"{exc.detail} (our earlier response was deleted "
                                             "first)") from exc
            raise
        data = answer.get("data") or {}
        if not data.get("id"):
            raise PublishError("maybe_sent", f"App Store answered without a response id: "
                               f"{answer!r:.200}")
        return Published(str(data["id"]), url, replaced=replaced)

    def like(self, target: Target) -> None:
        raise PublishError("rejected", "App Store reviews cannot be liked")

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "App Store reviews cannot be reposted")

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        review_id = _review_id(target)
        try:
            response = self._response(review_id, "lookup")
        except PublishError as exc:
            if exc.kind == "rejected":  # 404: the review was deleted
                return Lookup(None, complete=True, note=f"the review is gone: {exc.detail}")
            raise
        if response is not None:
            at = parse_time((response.get("attributes") or {}).get("lastModifiedDate"))
            if at is not None and at >= since - CLOCK_SLACK:
                return Lookup(Published(str(response["id"]), target.url), complete=True,
                              note="found as the review's response")
        return Lookup(None, complete=True,
                      note=f"review {review_id} has no response of ours since the send")

    def _response(self, review_id: str, what: str) -> dict[str, Any] | None:
        """The review's response resource, None when it has none."""
        answer = self._call(what, lambda: self.api.call(
            "GET", f"/v1/customerReviews/{review_id}", params={
                "include": "response",
                "fields[customerReviewResponses]": "responseBody,lastModifiedDate,state"}))
        review = answer.get("data")
        return response_of(review, responses_by_id(answer)) if isinstance(review, dict) else None

    def _call(self, what: str, make: Callable[[], dict[str, Any]], *,
              gone_ok: bool = False) -> dict[str, Any]:
        try:
            return make()
        except AscError as exc:
            if gone_ok and exc.status == 404:
                return {}
            if exc.rate_limited:
                raise PublishError("unavailable", f"App Store rate limit: {exc.detail}") from exc
            if exc.auth:
                raise PublishError("auth", f"App Store refused the {what}: {exc.detail}"
                                   ) from exc
            if exc.status is not None and 400 <= exc.status < 500:
                gone = " (the review is gone)" if exc.status == 404 else ""
                raise PublishError("rejected", f"App Store rejected the {what}{gone}: "
                                   f"{exc.detail}") from exc
            unsure = what == "reply" and not exc.never_sent
            raise PublishError("maybe_sent" if unsure else "unavailable",
                               f"App Store {what} failed: {exc.detail}") from exc


def _review_id(target: Target) -> str:
    return target.extra.get("review_id") or target.external_id.split(":", 1)[0]
