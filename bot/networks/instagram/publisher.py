"""Instagram: answer a comment, hide it, and find our answer after a crash.

- reply:  `POST /{ig-comment-id}/replies` with `message` → `{"id"}`. A reply to a reply goes
          under the top-level comment (`parent_id`): Instagram threads one level deep.
          Someone else's post (a tag) can't be answered: rejected before any call (the card
          says so beforehand).
- lookup: that comment's `/replies`; ours is `from` the account (`ig_user_id`), written at or
          after the send intent (a minute of slack). A deleted comment: "not sent".
- hide / unhide: `POST /{ig-comment-id}` with `hide=true|false`.
- like / repost: the API has neither for comments: rejected.

Errors: `bot.networks.graph.failures`; no idempotency key, so an unclear answer is maybe_sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.networks.base import Lookup, Published, PublishError, Target
from bot.networks.graph.client import GraphClient, GraphError, graph_time
from bot.networks.graph.failures import publish_error
from bot.networks.instagram.client import NOT_A_COMMENT, writer

CLOCK_SLACK = timedelta(minutes=1)
LOOKUP_PAGES = 3
NETWORK = "Instagram"


def reply_object(target: Target) -> str:
    if target.extra.get("kind") not in ("comment", "reply"):
        raise PublishError("rejected", NOT_A_COMMENT)
    if target.extra.get("kind") == "reply" and target.extra.get("parent_id"):
        return target.extra["parent_id"]
    return target.external_id


class InstagramPublisher:
    network = "instagram"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, graph: GraphClient) -> None:
        self.graph = graph

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        where = reply_object(target)
        try:
            body = self.graph.post(f"{where}/replies", message=text)
        except GraphError as exc:
            raise publish_error(exc, what="reply", network=NETWORK, write=True) from exc
        if not body.get("id"):
            raise PublishError("maybe_sent", f"Instagram answered without an id: {body!r:.200}")
        return Published(str(body["id"]), target.url)

    def like(self, target: Target) -> None:
        raise PublishError("rejected", "Instagram's API cannot like comments or posts")

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "Instagram's API cannot repost")

    def hide(self, target: Target, hidden: bool) -> None:
        """Hide (or show again) a comment on the account's media: hidden from everyone but
        its author."""
        if target.extra.get("kind") not in ("comment", "reply"):
            raise PublishError("rejected", "only comments can be hidden, not posts")
        try:
            body = self.graph.post(target.external_id, hide=hidden)
        except GraphError as exc:
            raise publish_error(exc, what="hide" if hidden else "unhide", network=NETWORK,
                                write=False) from exc
        if body.get("success") is not True:
            raise PublishError("unavailable", f"Instagram did not confirm: {body!r:.200}")

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        account = target.extra.get("ig_user_id", "")
        where = reply_object(target)
        oldest = since - CLOCK_SLACK
        read = 0
        try:
            for page in self.graph.pages(f"{where}/replies", max_pages=LOOKUP_PAGES,
                                         fields="id,timestamp,username,from{id,username}",
                                         limit=50):
                read += 1
                for reply in page:
                    at = graph_time(reply.get("timestamp"))
                    if (writer(reply)[0] == account and reply.get("id")
                            and (at is None or at >= oldest)):
                        return Lookup(Published(str(reply["id"]), target.url), complete=True,
                                      note=f"found under {where}")
        except GraphError as exc:
            if exc.gone:
                return Lookup(None, complete=True, note=f"{where} is gone: {exc.detail}")
            raise publish_error(exc, what="lookup", network=NETWORK, write=False) from exc
        if read < LOOKUP_PAGES:
            return Lookup(None, complete=True, note=f"no reply from the account under {where}")
        return Lookup(None, complete=False, note=f"{LOOKUP_PAGES} pages read under {where}")
