"""A Facebook or Instagram card on a post the poll no longer lists, answered under it without
the webhook: what the watching tests and kill points start from (the fake Graph API over real
HTTP). `old_post_case(network, fake, clock)` posts the old post and the carded comment; its
`answer()` posts the customer's reply and a stranger's under the card; `source()` is a new
source (a new process's) listing only the newest post or media."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.rules.schema import Brand, SourceSpec
from bot.networks.facebook.client import build_graph
from bot.networks.facebook.source import FacebookPageSource
from bot.networks.instagram.source import InstagramSource
from tests.support.clock import Clock
from tests.support.fake_meta import IG_USER_ID, PAGE_ID, FakeMeta

BRAND = Brand(name="Acme Bank")


@dataclass
class OldPost:
    spec: SourceSpec
    card: str  # the carded comment's id
    thread: dict[str, str]  # the answers' ids → their role in the card's thread
    source: Callable[[], Any]
    answer: Callable[[], None]


def old_post_case(network: str, fake: FakeMeta, clock: Clock) -> OldPost:
    """The card's comment at t-1,900 s under a post of t-7,200 s; `answer()` adds a newer post
    (the only one listed from then on) and the answers at t-60 and t-50."""
    t = clock.now.timestamp() + 1800  # the poll that reads the answers runs 30 min later
    graph = lambda: build_graph(fake.settings(), clock=lambda: clock.now)  # noqa: E731
    if network == "facebook":
        spec = SourceSpec(id="fb", type="facebook_page", page_id=PAGE_ID)
        post = fake.post("555000000000001", "Outage update", t - 7200)
        card = fake.comment(post, "c1", "down for me", t - 1900)

        def answer() -> None:
            fake.post("555000000000002", "New app", t - 600)
            fake.comment(post, "c2", "still down", t - 60, parent=card)
            fake.comment(post, "c3", "same here", t - 50, by=("6209", "Sam Okafor"),
                         parent=card)
        return OldPost(spec, card, {f"{post.split('_')[-1]}_c2": "follow_up",
                                    f"{post.split('_')[-1]}_c3": "context"},
                       lambda: FacebookPageSource(spec, BRAND, graph(), max_posts=1), answer)
    spec = SourceSpec(id="ig", type="instagram", ig_user_id=IG_USER_ID)
    media = fake.ig_post("17900000000000001", "New card design", t - 7200)
    card = fake.ig_comment(media, "17850000000000001", "when does it ship?", t - 1900)

    def ig_answer() -> None:
        fake.ig_post("17900000000000002", "Branch opening", t - 600)
        fake.ig_comment(media, "17850000000000002", "hello??", t - 60, parent=card)
        fake.ig_comment(media, "17850000000000003", "me too", t - 50, by=("1784", "sam"),
                        parent=card)
    return OldPost(spec, card, {"17850000000000002": "follow_up",
                                "17850000000000003": "context"},
                   lambda: InstagramSource(spec, BRAND, graph(), max_media=1), ig_answer)
