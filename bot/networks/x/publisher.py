"""X (API v2, tweepy `Client`): reply, like, repost, and finding our own reply afterwards.

- reply:  `POST /2/tweets` (`create_tweet(text=…, in_reply_to_tweet_id=…, user_auth=True)`),
          signed with the brand's OAuth 1.0a user keys. X has no idempotency key: a repeated
          call posts again, or answers 403 "duplicate content" when the text is the same.
- like:   `POST /2/users/:id/likes`; repost: `POST /2/users/:id/retweets` (both idempotent on
          X's side: liking a liked post changes nothing).
- lookup: `GET /2/users/:id/tweets` (`get_users_tweets`, `tweet.fields=in_reply_to_user_id,
          referenced_tweets,created_at`, `start_time`): our reply is the post whose
          `referenced_tweets` has `{type: replied_to, id: <the mention>}`.

Errors: 403 "duplicate content" → maybe_sent (the same text went out before: maybe this very
reply, maybe another); other 400/403/404 → rejected (X's words kept: "Reply to this conversation
is not allowed…"); 401 → auth; 429 → unavailable; 5xx and a timeout after sending →
maybe_sent; a connection that was never made → unavailable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import tweepy

from bot.networks.base import (
    ErrorKind,
    Lookup,
    Published,
    PublishError,
    Target,
    connection_never_made,
)
from bot.networks.x.client import REDACTOR, as_page, problem, ref_ids

LOOKUP_PAGES = 5  # 500 of the brand's posts since the send intent: far more than a few minutes
LOOKUP_PAGE_SIZE = 100
CLOCK_SLACK = timedelta(minutes=1)  # our clock vs X's created_at
_DUPLICATE = re.compile(r"duplicate content", re.IGNORECASE)


class XPublisher:
    network = "x"
    retry_window: timedelta | None = None  # X does not deduplicate by key: never retry blindly

    def __init__(self, client: tweepy.Client, *, username: str,
                 user_id: str | None = None) -> None:
        if not (client.consumer_key and client.consumer_secret and client.access_token
                and client.access_token_secret):
            raise PublishError("auth", "X replies need the brand's user keys: set X_API_KEY, "
                               "X_API_SECRET, X_ACCESS_TOKEN and X_ACCESS_TOKEN_SECRET")
        self.client = client
        self.username = username.lstrip("@")
        self._user_id = str(user_id) if user_id else None

    # --- writes ---------------------------------------------------------------------------

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        body = self._call("reply", self.client.create_tweet, text=text,
                          in_reply_to_tweet_id=target.external_id, user_auth=True)
        raw_data = body.get("data")
        data: Mapping[str, Any] = raw_data if isinstance(raw_data, Mapping) else {}
        post_id = str(data.get("id") or "")
        if not post_id:
            # X said 2xx but named no post: it may well exist. Reconcile, don't resend.
            raise PublishError("maybe_sent", f"X answered without a post id: {body!r:.200}")
        return Published(post_id, f"https://x.com/{self.username}/status/{post_id}")

    def like(self, target: Target) -> None:
        self._call("like", self.client.like, tweet_id=target.external_id, user_auth=True)

    def repost(self, target: Target) -> None:
        self._call("repost", self.client.retweet, tweet_id=target.external_id, user_auth=True)

    # --- reconciliation -------------------------------------------------------------------

    def user_id(self) -> str:
        """The brand account's id: from the OAuth 1.0a access token (`<id>-<secret>`), which
        is how X mints them, else asked once with `GET /2/users/me`."""
        if self._user_id is None:
            prefix = str(self.client.access_token).partition("-")[0]
            if prefix.isdigit():
                self._user_id = prefix
            else:
                body = self._call("lookup", self.client.get_me, user_auth=True)
                self._user_id = str((body.get("data") or {}).get("id") or "")
                if not self._user_id:
                    raise PublishError("auth", "X did not say who the brand account is")
        return self._user_id

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        params: dict[str, Any] = {
            "start_time": (since - CLOCK_SLACK).astimezone(UTC),
            "max_results": LOOKUP_PAGE_SIZE,
            "tweet_fields": ["in_reply_to_user_id", "referenced_tweets", "created_at"],
            "user_auth": True,
        }
        read = 0
        for _ in range(LOOKUP_PAGES):
            page = self._call("lookup", self.client.get_users_tweets, id=self.user_id(),
                              **params)
            posts = [p for p in page.get("data") or () if isinstance(p, Mapping)]
            read += len(posts)
            for post in posts:
                if target.external_id in ref_ids(post, "replied_to"):
                    post_id = str(post["id"])
                    return Lookup(Published(post_id,
                                            f"https://x.com/{self.username}/status/{post_id}"),
                                  complete=True, note=f"found among {read} recent posts")
            token = (page.get("meta") or {}).get("next_token")
            if not token:
                return Lookup(None, complete=True,
                              note=f"no reply to post {target.external_id} among the brand's "
                                   f"{read} posts since {since:%Y-%m-%d %H:%M}Z")
            params["pagination_token"] = token
        return Lookup(None, complete=False,
                      note=f"more than {read} posts since {since:%Y-%m-%d %H:%M}Z: not all read")

    # --- errors ---------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, **params: Any) -> dict[str, Any]:
        try:
            return as_page(fn(**params))
        except tweepy.Forbidden as exc:
            said = problem(exc)
            if what == "reply" and _DUPLICATE.search(said):
                raise PublishError("maybe_sent", f"X refused it as duplicate content ({said})"
                                   ": the same text went out before, perhaps as this reply"
                                   ) from exc
            raise PublishError("rejected", f"X refused the {what} (403): {said}") from exc
        except tweepy.Unauthorized as exc:
            raise PublishError("auth", f"X refused the credentials (401): {problem(exc)}"
                               ) from exc
        except tweepy.TooManyRequests as exc:
            raise PublishError("unavailable", f"X rate limit reached (429): {problem(exc)}"
                               ) from exc
        except (tweepy.BadRequest, tweepy.NotFound) as exc:
            raise PublishError("rejected", f"X rejected the {what} "
                               f"({exc.response.status_code}): {problem(exc)}") from exc
        except tweepy.HTTPException as exc:  # 5xx and the odd other status
            kind: ErrorKind = "maybe_sent" if what == "reply" else "unavailable"
            raise PublishError(kind, f"X {what} failed ({exc.response.status_code}): "
                               f"{problem(exc)}") from exc
        except requests.RequestException as exc:
            detail = f"X {what} failed: {type(exc).__name__}: {REDACTOR.scrub(str(exc))}"
            if what != "reply" or connection_never_made(exc):
                raise PublishError("unavailable", detail) from exc
            raise PublishError("maybe_sent", detail) from exc
        except TypeError as exc:  # tweepy: a user-context call without user keys
            raise PublishError("auth", f"X {what}: {exc}") from exc
