"""YouTube (google-api-python-client): reply to a comment, and find our reply afterwards.

- reply:  `comments.insert(part=snippet, body={snippet: {parentId, textOriginal}})`, 50 quota
          units. YouTube threads are one level deep: the parent is always the thread's
          top-level comment (a reply to a reply goes to its thread). No idempotency key.
- like / repost: the API cannot like a comment and has no repost: refused.
- lookup: `comments.list(part=snippet, parentId=<thread>)`, every page (1 unit each, at most
          LOOKUP_PAGES): ours is a reply whose author is the brand's channel
          (`channels.list(mine=true)`, read once).

Errors: `commentTextTooLong`, `commentNotFound`/`parentCommentNotFound` (deleted), 400/404 →
rejected; `quotaExceeded`, 429 → unavailable; 401, other 403s and a refused refresh token →
auth; 5xx, timeouts after sending → maybe_sent; a connection never made → unavailable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httplib2
from google.auth.exceptions import RefreshError, TransportError
from googleapiclient.errors import HttpError

from bot.networks.base import ErrorKind, Lookup, Published, PublishError, Target
from bot.networks.youtube.client import (
    QUOTA_REASONS,
    RATE_REASONS,
    error_reason,
    error_status,
    watch_url,
)

T = TypeVar("T")
LOOKUP_PAGES = 5  # 100 replies a page


class YouTubePublisher:
    network = "youtube"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, youtube: Any, *, channel_id: str | None = None) -> None:
        self.youtube = youtube
        self._channel = channel_id

    @staticmethod
    def thread_of(target: Target) -> str:
        return target.extra.get("thread_id") or target.external_id

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        thread = self.thread_of(target)
        body = {"snippet": {"parentId": thread, "textOriginal": text}}
        made = self._call("reply", lambda: self.youtube.comments().insert(
            part="snippet", body=body).execute())
        comment_id = made.get("id") if isinstance(made, dict) else None
        if not comment_id:
            raise PublishError("maybe_sent", f"YouTube answered without a comment id: "
                               f"{made!r:.200}")
        video = target.extra.get("video_id") or (made.get("snippet") or {}).get("videoId")
        return Published(str(comment_id), watch_url(video, comment_id) if video else None)

    def like(self, target: Target) -> None:
        raise PublishError("rejected", "YouTube's API cannot like a comment; use YouTube Studio")

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "YouTube has no repost")

    def channel(self) -> str:
        if self._channel is None:
            mine = self._call("lookup", lambda: self.youtube.channels().list(
                part="id", mine=True).execute())
            items = mine.get("items") or []
            if not items:
                raise PublishError("auth", "the YouTube token's account has no channel")
            self._channel = str(items[0]["id"])
        return self._channel

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        own, thread = self.channel(), self.thread_of(target)
        token: str | None = None
        for _ in range(LOOKUP_PAGES):
            page = self._call("lookup", self._replies(thread, token))
            for c in page.get("items", []):
                snippet = c.get("snippet", {})
                if (snippet.get("authorChannelId") or {}).get("value") == own \
                        and snippet.get("parentId") == thread:
                    video = target.extra.get("video_id") or snippet.get("videoId")
                    return Lookup(Published(str(c["id"]), watch_url(video, c["id"])
                                            if video else None),
                                  complete=True, note="found in the thread's replies")
            token = page.get("nextPageToken")
            if not token:
                return Lookup(None, complete=True,
                              note=f"no reply by the channel in thread {thread}")
        return Lookup(None, complete=False, note=f"thread {thread} has more than "
                      f"{LOOKUP_PAGES * 100} replies; ours was not among them")

    def _replies(self, thread: str, token: str | None) -> Callable[[], dict[str, Any]]:
        paging = {"pageToken": token} if token else {}
        return lambda: self.youtube.comments().list(
            part="snippet", parentId=thread, maxResults=100, textFormat="plainText",
            **paging).execute()

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except HttpError as exc:
            status, reason = error_status(exc), error_reason(exc)
            if reason in QUOTA_REASONS or status == 429 or reason in RATE_REASONS:
                raise PublishError("unavailable", f"YouTube quota or rate limit "
                                   f"({reason or status}): try again later (the daily quota "
                                   "resets at midnight Pacific)") from exc
            if status == 401 or (status == 403 and reason not in ("commentsDisabled",)):
                raise PublishError("auth", f"YouTube refused the {what} ({status} {reason})"
                                   ) from exc
            if 400 <= status < 500:
                raise PublishError("rejected", f"YouTube rejected the {what} ({status} "
                                   f"{reason})") from exc
            raise PublishError(_unsure(what), f"YouTube {what} failed ({status} {reason})"
                               ) from exc
        except RefreshError as exc:
            raise PublishError("auth", "YOUTUBE_REFRESH_TOKEN was refused (expired or "
                               "revoked)") from exc
        except (ConnectionRefusedError, httplib2.ServerNotFoundError) as exc:
            raise PublishError("unavailable", f"YouTube {what}: could not connect: {exc}"
                               ) from exc
        except (TimeoutError, TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise PublishError(_unsure(what), f"YouTube {what} failed: {exc}") from exc


def _unsure(what: str) -> ErrorKind:
    return "maybe_sent" if what == "reply" else "unavailable"
