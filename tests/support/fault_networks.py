"""Real publishers over HTTP with the kill points of `tests.support.fault_world.Process`, for
the fault suite's kill-the-send tests: `RedditReplyNetwork` is the fake Reddit
(tests/support/fake_reddit.py) with the real `RedditPublisher` on a requests session whose
every request passes the kill points:

- `reply`: a `POST /api/comment`, before the request leaves;
- `replied`: Reddit made the comment; our process dies before reading the answer;
- `lookup`: every other request (the token, the parent's replies), before it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from bot.networks.reddit.client import RateWindow, build_reddit
from bot.networks.reddit.publisher import RedditPublisher
from tests.support.fake_reddit import BRAND, FakeReddit
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
