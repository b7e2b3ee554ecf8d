"""Facebook: reply, like and hide as the Page, and find our reply after a crash.

- reply:  `POST /{comment-id}/comments` with `message` (a post's id for a visitor post or a
          tag). Facebook threads one level deep: a reply to a reply goes under the comment it
          answers (`parent_id`), where Facebook shows it anyway. Answer `{"id": …}`.
- lookup: that object's comments newest first (`filter=stream`); ours is the one `from` the
          Page, written at or after the send intent (a minute of clock slack). Complete when
          the pages reached one older than that. A deleted parent: "not sent" (nothing left to
          answer).
- like:   `POST /{id}/likes` as the Page.
- hide / unhide: `POST /{comment-id}` with `is_hidden` (only comments on the Page's posts can
          be hidden; Meta refuses the others).
- repost: Facebook has no repost through the API: rejected.

Errors: `bot.networks.graph.failures`. No idempotency key: a retry could post twice, so an
unclear answer is `maybe_sent` and reconcile looks the reply up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.networks.base import Lookup, Published, PublishError, Target
from bot.networks.facebook.client import WWW, author_of
from bot.networks.graph.client import GraphClient, GraphError, graph_time
from bot.networks.graph.failures import publish_error

CLOCK_SLACK = timedelta(minutes=1)
LOOKUP_PAGES = 3
NETWORK = "Facebook"


def reply_object(target: Target) -> str:
    """Where our reply goes: the comment (or post) itself, or a reply's parent comment."""
    if target.extra.get("kind") == "reply" and target.extra.get("parent_id"):
        return target.extra["parent_id"]
    return target.external_id


class FacebookPublisher:
    network = "facebook"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        try:
            body = self.graph.post(f"{reply_object(target)}/comments", message=text)
        except GraphError as exc:
            raise publish_error(exc, what="reply", network=NETWORK, write=True) from exc
        if not body.get("id"):
            raise PublishError("maybe_sent", f"Facebook answered without an id: {body!r:.200}")
        return Published(str(body["id"]), f"{WWW}/{body['id']}")

    def like(self, target: Target) -> None:
        self._flag(f"{target.external_id}/likes", "like")

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "Facebook posts cannot be shared through the API")

    def hide(self, target: Target, hidden: bool) -> None:
        """Hide (or show again) a comment on the Page's posts: its author and their friends
        still see it; nobody else does."""
        if target.extra.get("kind") not in ("comment", "reply"):
            raise PublishError("rejected", "only comments can be hidden, not posts")
        self._flag(target.external_id, "hide" if hidden else "unhide", is_hidden=hidden)

    def _flag(self, path: str, what: str, **data: object) -> None:
        try:
            body = self.graph.post(path, **data)
        except GraphError as exc:
            raise publish_error(exc, what=what, network=NETWORK, write=False) from exc
        if body.get("success") is not True:
            raise PublishError("unavailable", f"Facebook did not confirm the {what}: "
                               f"{body!r:.200}")

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        page_id = target.extra.get("page_id", "")
        where = reply_object(target)
        oldest = since - CLOCK_SLACK
        read = 0
        try:
            for page in self.graph.pages(f"{where}/comments", max_pages=LOOKUP_PAGES,
                                         filter="stream", order="reverse_chronological",
                                         fields="id,from,created_time", limit=100):
                read += 1
                for comment in page:
                    at = graph_time(comment.get("created_time"))
                    if at is not None and at < oldest:
                        return Lookup(None, complete=True,
                                      note=f"no reply from the Page under {where} since the send")
                    if author_of(comment)[0] == page_id and comment.get("id"):
                        return Lookup(Published(str(comment["id"]), f"{WWW}/{comment['id']}"),
                                      complete=True, note=f"found under {where}")
        except GraphError as exc:
            if exc.gone:
                return Lookup(None, complete=True, note=f"{where} is gone: {exc.detail}")
            raise publish_error(exc, what="lookup", network=NETWORK, write=False) from exc
        if read < LOOKUP_PAGES:  # Meta had no further page: everything was read
            return Lookup(None, complete=True, note=f"no reply from the Page under {where}")
        return Lookup(None, complete=False, note=f"{LOOKUP_PAGES} pages read under {where}")
