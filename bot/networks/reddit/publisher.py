"""Reddit (PRAW): reply to a comment or a post as the brand account, upvote, and finding our
reply under the parent afterwards.

- reply:  `POST /api/comment` with `thing_id` (the mention's fullname, `t1_…` or `t3_…`) and
          the markdown `text`. Reddit has no idempotency key: a reply whose answer was lost is
          found again by `find_reply`, never sent blindly twice (the client never retries a
          request, see `bot.networks.reddit.client`).
- like:   an upvote (`POST /api/vote`, idempotent). Reddit has no repost: refused.
- lookup: the parent's replies, newest first (`GET /comments/<post>[/_/<comment>]?sort=new`):
          ours is a comment by the brand account whose `parent_id` is the mention. When the
          parent has more replies than one answer carries, the brand account's own newest
          comments (`GET /user/<me>/comments?sort=new`) are searched back to the send intent.

Errors: RATELIMIT ("doing that too much") and 429 → unavailable; deleted, locked, archived
(TOO_OLD), too long, 404 and 403 on the thread → rejected; a refused token or missing scope →
auth; 5xx, timeouts and an answer without the new comment → maybe_sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import praw
from praw.exceptions import PRAWException, RedditAPIException
from prawcore.exceptions import (
    Forbidden,
    InsufficientScope,
    InvalidToken,
    NotFound,
    OAuthException,
    PrawcoreException,
    RequestException,
    ResponseException,
    TooManyRequests,
)

from bot.networks.base import (
    ErrorKind,
    Lookup,
    Published,
    PublishError,
    Target,
    connection_never_made,
)
from bot.networks.reddit.client import (
    URL,
    RateWindow,
    UnsureSend,
    api_errors,
    error_types,
    field,
)

T = TypeVar("T")
LOOKUP_LIMIT = 500  # replies asked for per lookup (Reddit answers up to about 500)
OWN_HISTORY = 100  # the brand's own newest comments read when the parent's replies are cut
CLOCK_SKEW = timedelta(minutes=1)


class RedditPublisher:
    network = "reddit"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, reddit: praw.Reddit, *, account: str | None = None,
                 window: RateWindow | None = None) -> None:
        self.reddit = reddit
        self._account = account
        self.window = window or RateWindow()

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        thing = self._thing(target)
        created = self._call("reply", lambda: thing.reply(body=text))
        fullname = field(created, "name") if created is not None else None
        if not fullname:
            raise PublishError("maybe_sent", "Reddit answered without the new comment (a "
                               "quarantined subreddit?): it may be posted")
        return Published(str(fullname), _link(created))

    def like(self, target: Target) -> None:
        thing = self._thing(target)
        self._call("like", thing.upvote)

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "Reddit has no repost; share the link instead")

    def account(self) -> str:
        if self._account is None:
            me = self._call("lookup", self.reddit.user.me)
            self._account = str(field(me, "name", "") or me)
        return self._account

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        own = self.account().lower()
        parent = target.external_id
        post = parent if parent.startswith("t3_") else target.extra.get("link_id", "")
        if not post.startswith("t3_"):
            return Lookup(None, complete=False, note=f"no post known for {parent}")
        path = f"/comments/{post[3:]}/" + ("" if parent == post else f"_/{parent[3:]}/")
        body = self._call("lookup", lambda: self.reddit.request(
            method="GET", path=path, params={"sort": "new", "limit": LOOKUP_LIMIT}))
        replies, complete = _replies_of(body, parent)
        found = _ours(replies, own, parent, since)
        if found is not None:
            return Lookup(found, complete=True, note="found among the parent's replies")
        if complete:
            return Lookup(None, complete=True, note=f"no reply by u/{own} under {parent}")
        history = self._call("lookup", lambda: self.reddit.request(
            method="GET", path=f"/user/{own}/comments",
            params={"sort": "new", "limit": OWN_HISTORY}))
        children = [c for c in _listing(history)]
        found = _ours(children, own, parent, since)
        if found is not None:
            return Lookup(found, complete=True, note="found in the brand's own comments")
        oldest = min((float(c.get("created_utc") or 0) for c in children), default=0.0)
        ended = not (isinstance(history, dict) and history.get("data", {}).get("after"))
        covered = ended or oldest < (since - CLOCK_SKEW).timestamp()
        return Lookup(None, complete=covered,
                      note=f"no reply by u/{own} under {parent}" + (
                          "" if covered else " in its newest replies or our newest comments"))

    def _thing(self, target: Target) -> Any:
        kind, _, thing_id = target.external_id.partition("_")
        if kind == "t3":
            return self.reddit.submission(thing_id)
        if kind == "t1":
            return self.reddit.comment(thing_id)
        raise PublishError("rejected", f"{target.external_id!r} is not a Reddit post or comment")

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        blocked = self.window.blocked_until(datetime.now(UTC))
        if blocked is not None:
            raise PublishError("unavailable", "Reddit's rate limit is used up until "
                               f"{blocked:%H:%M:%S}Z")
        try:
            return fn()
        except RedditAPIException as exc:
            kind: ErrorKind = "unavailable" if "RATELIMIT" in error_types(exc) else "rejected"
            raise PublishError(kind, f"Reddit refused the {what}: {api_errors(exc)}") from exc
        except TooManyRequests as exc:
            raise PublishError("unavailable", "Reddit rate limit (429)") from exc
        except (InsufficientScope, InvalidToken, OAuthException) as exc:
            raise PublishError("auth", f"Reddit refused the credentials for the {what}: "
                               f"{exc}") from exc
        except Forbidden as exc:
            raise PublishError("rejected", f"Reddit refused the {what} (403): the thread may "
                               "be locked, or the account banned from the subreddit") from exc
        except NotFound as exc:
            raise PublishError("rejected", "Reddit: the post or comment is gone (404)") from exc
        except ResponseException as exc:
            status = exc.response.status_code
            kind = "auth" if status == 401 else "rejected" if 400 <= status < 500 else \
                _unsure(what)
            raise PublishError(kind, f"Reddit {what} failed ({status})") from exc
        except RequestException as exc:
            cause = exc.original_exception
            original = cause.original if isinstance(cause, UnsureSend) else cause
            never = original is not None and connection_never_made(original)
            raise PublishError(_unsure(what, never), f"Reddit {what} failed: {cause}") from exc
        except (PrawcoreException, PRAWException) as exc:
            raise PublishError(_unsure(what), f"Reddit {what} failed: {exc}") from exc


def _unsure(what: str, never_sent: bool = False) -> ErrorKind:
    return "maybe_sent" if what == "reply" and not never_sent else "unavailable"


def _link(thing: Any) -> str | None:
    path = field(thing, "permalink")
    if path:
        return URL + str(path)
    post, name = str(field(thing, "link_id", "")), str(field(thing, "name", ""))
    if post.startswith("t3_") and name.startswith("t1_"):
        return f"{URL}/comments/{post[3:]}/_/{name[3:]}/"
    return None


def _listing(body: Any) -> list[dict[str, Any]]:
    """The `t1` children of a Listing body."""
    if not isinstance(body, dict):
        return []
    return [c["data"] for c in body.get("data", {}).get("children", [])
            if isinstance(c, dict) and c.get("kind") == "t1" and isinstance(c.get("data"), dict)]


def _replies_of(body: Any, parent: str) -> tuple[list[dict[str, Any]], bool]:
    """The direct replies to `parent` in a `/comments/…` answer, and whether they are all
    there (no "load more" among them)."""
    if not isinstance(body, list) or len(body) < 2:
        return [], False
    listing = body[1]
    if not parent.startswith("t3_"):  # a comment's page: the comment is the one root
        root = next((c for c in _listing(listing) if c.get("name") == parent), None)
        listing = root.get("replies") if root else None
        if not isinstance(listing, dict):  # "" when it has no replies
            return [], root is not None
    more = any(isinstance(c, dict) and c.get("kind") == "more"
               for c in listing.get("data", {}).get("children", []))
    return _listing(listing), not more


def _ours(comments: Iterable[dict[str, Any]], own: str, parent: str,
          since: datetime) -> Published | None:
    floor = (since - CLOCK_SKEW).timestamp()
    for c in comments:
        if str(c.get("author", "")).lower() == own and c.get("parent_id") == parent \
                and float(c.get("created_utc") or 0) >= floor:
            path = c.get("permalink")
            return Published(str(c.get("name")), URL + str(path) if path else None)
    return None
