"""Real publishers over HTTP with the kill points of `tests.support.fault_world.Process`, for
the fault suite's kill-the-send tests: `RedditReplyNetwork` is the fake Reddit
(tests/support/fake_reddit.py) with the real `RedditPublisher` on a requests session,
`YouTubeReplyNetwork` the fake YouTube (tests/support/fake_youtube.py) with the real
`YouTubePublisher` on an httplib2 connection, `GooglePlayReplyNetwork` the fake Google Play
(tests/support/fake_google_play.py) with the real `GooglePlayPublisher` likewise,
`FacebookReplyNetwork` the fake Graph API (tests/support/fake_meta.py) with the real
`FacebookPublisher` on an httpx transport, `AppStoreReplyNetwork` the fake App Store Connect
(tests/support/fake_app_store.py) with the real `AppStorePublisher` on a requests session (its
review already answered, so a send deletes that response before it creates ours),
`InstagramReplyNetwork` the fake Graph API with the real `InstagramPublisher`,
`ThreadsReplyNetwork` the fake Threads API with the real
`ThreadsPublisher` (its reply is two requests: `create`/`created` around the container,
`reply`/`replied` around the publish); every request passes the kill points:

- `reply`: the request that posts the reply, before it leaves;
- `replied`: the network made the reply; our process dies before reading the answer;
- `lookup`: every other request (the token, the parent's replies, the App Store's read of
  the review and delete of our earlier response), before it leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httplib2
import httpx
import requests

from bot.networks.app_store.client import AscApi
from bot.networks.app_store.publisher import AppStorePublisher
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.publisher import FacebookPublisher
from bot.networks.google_play.client import PlayApi
from bot.networks.google_play.publisher import GooglePlayPublisher
from bot.networks.instagram.publisher import InstagramPublisher
from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.publisher import RedditPublisher
from bot.networks.threads.client import build_threads
from bot.networks.threads.publisher import ThreadsPublisher
from bot.networks.youtube.client import build_youtube
from bot.networks.youtube.publisher import YouTubePublisher
from tests.support.fake_app_store import APP_ID, FakeAppStore, review
from tests.support.fake_google_play import PACKAGE, FakeGooglePlay
from tests.support.fake_meta import IG_USER_ID, PAGE_ID, FakeMeta
from tests.support.fake_reddit import BRAND, FakeReddit
from tests.support.fake_threads import FakeThreads
from tests.support.fake_youtube import FakeYouTube
from tests.support.fault_world import Process


class KillPointSession(requests.Session):
    """A requests session that passes `process`'s kill points around each request."""

    def __init__(self, process: Process, reply_path: str) -> None:
        super().__init__()
        self.process, self.reply_path = process, reply_path

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        is_reply = request.method == "POST" and self.reply_path in (request.url or "")
        self.process.point("reply" if is_reply else "lookup")
        response = super().send(request, **kwargs)
        if is_reply:
            self.process.point("replied")
        return response


@dataclass
class Post:
    id: str


class RedditReplyNetwork:
    """The fake Reddit holding one comment that mentions the brand (`external_id`)."""

    network = "reddit"

    def __init__(self, fake: FakeReddit, created: float) -> None:
        self.fake = fake
        fake.clock = created  # our replies are stamped from here
        fake.mention("m1ment", "ana", "u/NorthwindAir late again", created - 600, post="p1")
        self.external_id, self.extra = "t1_m1ment", {"link_id": "t3_p1", "kind": "comment"}

    @property
    def posts(self) -> list[Post]:
        return [Post(t["name"]) for t in self.fake.replies_to(self.external_id)]

    def publisher(self, process: Process, clock: object) -> RedditPublisher:
        window = RateWindow()
        session = KillPointSession(process, "/api/comment")
        return RedditPublisher(build_reddit(self.fake.settings(), account=BRAND, window=window,
                                            session=session), account=BRAND, window=window)


class KillPointHttp(httplib2.Http):
    """An httplib2 connection that passes `process`'s kill points around each request."""

    def __init__(self, process: Process, reply_path: str) -> None:
        super().__init__(timeout=10)
        self.process, self.reply_path = process, reply_path

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        is_reply = method == "POST" and self.reply_path in uri
        self.process.point("reply" if is_reply else "lookup")
        answer = super().request(uri, method, *args, **kwargs)
        if is_reply:
            self.process.point("replied")
        return answer


class YouTubeReplyNetwork:
    """The fake YouTube holding one thread whose top-level comment is the mention."""

    network = "youtube"

    def __init__(self, fake: FakeYouTube, created: float) -> None:
        self.fake = fake
        fake.clock = created
        fake.thread("UgwMent1", "ana", "Northwind late again", created - 600)
        self.external_id = "UgwMent1"
        self.extra = {"thread_id": "UgwMent1", "video_id": "vNorthwnd01"}

    @property
    def posts(self) -> list[Post]:
        return [Post(c["id"]) for c in self.fake.ours(self.external_id)]

    def publisher(self, process: Process, clock: object) -> YouTubePublisher:
        http = KillPointHttp(process, "/youtube/v3/comments")
        return YouTubePublisher(build_youtube(self.fake.settings(), http=http))


class GooglePlayReplyNetwork:
    """The fake Google Play holding one 1-star review (the mention). A second `reviews.reply`
    would edit the first rather than post again: `posts` counts the calls that reached it."""

    network = "google_play"

    def __init__(self, fake: FakeGooglePlay, created: float) -> None:
        self.fake = fake
        fake.clock = lambda: created  # our reply is stamped from here
        fake.reviews.clear()
        fake.calls.clear()
        fake.add({"reviewId": "gp:AOqpTOH1-ana", "authorName": "Ana", "comments": [
            {"userComment": {"text": "late again",
                             "lastModified": {"seconds": str(int(created) - 600), "nanos": 0},
                             "starRating": 1}}]})
        self.external_id = "gp:AOqpTOH1-ana"
        self.extra = {"package": PACKAGE, "review_id": self.external_id}

    @property
    def posts(self) -> list[Post]:
        return [Post(f"{self.external_id}:reply") for c in self.fake.of_kind("reply")
                if c.status == 200]

    def publisher(self, process: Process, clock: object) -> GooglePlayPublisher:
        http = KillPointHttp(process, ":reply")
        return GooglePlayPublisher(PlayApi(self.fake.settings(), http=http))


class KillPointTransport(httpx.HTTPTransport):
    """An httpx transport that passes `process`'s kill points around each request."""

    def __init__(self, process: Process, is_reply: Callable[[httpx.Request], bool]) -> None:
        super().__init__()
        self.process, self.is_reply = process, is_reply

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        is_reply = self.is_reply(request)
        self.process.point("reply" if is_reply else "lookup")
        response = super().handle_request(request)
        if is_reply:
            response.read()
            self.process.point("replied")
        return response


class FacebookReplyNetwork:
    """The fake Graph API holding one comment on the Page's post (the mention)."""

    network = "facebook"

    def __init__(self, fake: FakeMeta, created: float) -> None:
        self.fake = fake
        fake.clock = lambda: created  # our reply is stamped from here
        fake.posts.clear()
        fake.comments.clear()
        fake.calls.clear()
        post = fake.post("555000000000002", "Winter timetable", created - 3600)
        self.external_id = fake.comment(post, "777000000000003", "late again", created - 600)
        self.extra = {"kind": "comment", "page_id": PAGE_ID, "post_id": post}

    @property
    def posts(self) -> list[Post]:
        return [Post(c["id"]) for c in self.fake.replies_by_page(self.external_id)]

    def publisher(self, process: Process, clock: object) -> FacebookPublisher:
        transport = KillPointTransport(process, lambda r: r.method == "POST"
                                       and r.url.path.endswith("/comments"))
        return FacebookPublisher(build_graph(self.fake.settings(),
                                             http=httpx.Client(transport=transport)))


class AppStoreReplyNetwork:
    """The fake App Store Connect holding one 1-star review (the mention) that already carries
    an older response of ours: a send deletes it, then creates the new one. `posts` counts the
    creates that reached it."""

    network = "app_store"

    def __init__(self, fake: FakeAppStore, created: float) -> None:
        self.fake = fake
        fake.clock = lambda: created  # our response is stamped from here
        fake.reviews.clear()
        fake.responses.clear()
        fake.calls.clear()
        self.external_id = "00000042-1111-2222-3333-acmefault001"
        fake.add(review(self.external_id, rating=1, body="late again", nickname="ana",
                        created=created - 7200))
        fake.respond(self.external_id, "Sorry! Which flight?", created - 3600)
        self.extra = {"app_id": APP_ID, "review_id": self.external_id}

    @property
    def posts(self) -> list[Post]:
        return [Post(str(self.fake.responses[self.external_id]["id"]))
                for c in self.fake.of_kind("create") if c.status == 201]

    def publisher(self, process: Process, clock: Any) -> AppStorePublisher:
        session = KillPointSession(process, "/v1/customerReviewResponses")
        return AppStorePublisher(AscApi(self.fake.settings(), session=session,
                                        clock=lambda: clock().timestamp()))


class InstagramReplyNetwork:
    """The fake Graph API holding one comment on the Instagram account's media (the mention)."""

    network = "instagram"

    def __init__(self, fake: FakeMeta, created: float) -> None:
        self.fake = fake
        fake.clock = lambda: created  # our reply is stamped from here
        fake.ig_media.clear()
        fake.ig_comments.clear()
        fake.calls.clear()
        media = fake.ig_post("17900000000000001", "New card design", created - 3600)
        self.external_id = fake.ig_comment(media, "17850000000000001", "late again",
                                           created - 600)
        self.extra = {"kind": "comment", "ig_user_id": IG_USER_ID, "media_id": media}

    @property
    def posts(self) -> list[Post]:
        return [Post(c["id"]) for c in self.fake.ig_replies_by_account(self.external_id)]

    def publisher(self, process: Process, clock: object) -> InstagramPublisher:
        transport = KillPointTransport(process, lambda r: r.method == "POST"
                                       and r.url.path.endswith("/replies"))
        return InstagramPublisher(build_graph(self.fake.settings(),
                                              http=httpx.Client(transport=transport)))


class ThreadsKillPoints(httpx.HTTPTransport):
    """The Threads reply's two steps as kill points of their own."""

    def __init__(self, process: Process) -> None:
        super().__init__()
        self.process = process

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        step = {"/me/threads": ("create", "created"),
                "/me/threads_publish": ("reply", "replied")}.get(
            request.url.path.split("/v1.0", 1)[-1]) if request.method == "POST" else None
        before, after = step or ("lookup", None)
        self.process.point(before)
        response = super().handle_request(request)
        if after:
            response.read()
            self.process.point(after)
        return response


class ThreadsReplyNetwork:
    """The fake Threads API holding one post that mentions the account (the mention)."""

    network = "threads"

    def __init__(self, fake: FakeThreads, created: float) -> None:
        self.fake = fake
        fake.clock = lambda: created
        fake.posts.clear()
        fake.containers.clear()
        fake.calls.clear()
        self.external_id = fake.post("18000000000000101", "ana", "@acmebank late again",
                                     created - 600, mentions_us=True)
        self.extra = {"kind": "mention"}

    @property
    def posts(self) -> list[Post]:
        return [Post(p["id"]) for p in self.fake.replies_by_us(self.external_id)]

    def publisher(self, process: Process, clock: object) -> ThreadsPublisher:
        return ThreadsPublisher(build_threads(self.fake.settings(), http=httpx.Client(
            transport=ThreadsKillPoints(process))))
