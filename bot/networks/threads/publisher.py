"""Threads: a reply in two steps, and finding it again after a crash.

- reply:  1. `POST /me/threads` with `media_type=TEXT`, `text`, `reply_to_id` → a container id
          (nothing is visible yet; an unpublished container expires after a day);
          2. `POST /me/threads_publish` with `creation_id` → the reply's media id.
          A crash between the two leaves only an expired container: nothing was posted, and
          reconcile, finding no reply under the parent, lets the desk send again.
- lookup: the parent's replies (`GET /{id}/replies`); ours is the one by our username, posted
          at or after the send intent (a minute of slack).
- like / repost: not offered (the API's repost is not a reply to anyone): rejected.

Errors: `bot.networks.graph.failures`. Only the publish step can leave a post behind, so only
an unclear answer to it is maybe_sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.networks.base import Lookup, Published, PublishError, Target
from bot.networks.graph.client import GraphError, graph_time
from bot.networks.graph.failures import publish_error
from bot.networks.threads.client import WWW, ThreadsApi

CLOCK_SLACK = timedelta(minutes=1)
LOOKUP_PAGES = 3
NETWORK = "Threads"


class ThreadsPublisher:
    network = "threads"
    retry_window: timedelta | None = None  # no idempotency key: reconcile looks the reply up

    def __init__(self, api: ThreadsApi) -> None:
        self.api = api

    def reply(self, target: Target, text: str, idempotency_key: str) -> Published:
        graph = self.api.graph
        try:
            container = graph.post("me/threads", media_type="TEXT", text=text,
                                   reply_to_id=target.external_id)
        except GraphError as exc:  # nothing can be visible before the publish step
            raise publish_error(exc, what="reply", network=NETWORK, write=False) from exc
        if not container.get("id"):
            raise PublishError("unavailable", f"Threads made no container: {container!r:.200}")
        try:
            body = graph.post("me/threads_publish", creation_id=container["id"])
        except GraphError as exc:
            raise publish_error(exc, what="reply", network=NETWORK, write=True) from exc
        if not body.get("id"):
            raise PublishError("maybe_sent", f"Threads answered without an id: {body!r:.200}")
        return Published(str(body["id"]), f"{WWW}/post/{body['id']}")

    def like(self, target: Target) -> None:
        raise PublishError("rejected", "Threads likes are not offered through the API")

    def repost(self, target: Target) -> None:
        raise PublishError("rejected", "Threads reposts are not offered from the desk")

    def find_reply(self, target: Target, *, since: datetime) -> Lookup:
        oldest = since - CLOCK_SLACK
        read = 0
        try:
            _, username = self.api.me()
            for page in self.api.graph.pages(f"{target.external_id}/replies",
                                             max_pages=LOOKUP_PAGES,
                                             fields="id,username,timestamp", limit=50):
                read += 1
                for reply in page:
                    at = graph_time(reply.get("timestamp"))
                    if (reply.get("username") == username and reply.get("id")
                            and (at is None or at >= oldest)):
                        return Lookup(Published(str(reply["id"]), f"{WWW}/post/{reply['id']}"),
                                      complete=True, note="found under the parent")
        except GraphError as exc:
            if exc.gone:
                return Lookup(None, complete=True, note=f"the post is gone: {exc.detail}")
            raise publish_error(exc, what="lookup", network=NETWORK, write=False) from exc
        if read < LOOKUP_PAGES:
            return Lookup(None, complete=True, note="no reply of ours under the post")
        return Lookup(None, complete=False, note=f"{LOOKUP_PAGES} pages of replies read")
