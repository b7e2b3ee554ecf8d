"""Kill -9 while sending a reply, at every point, then a restart: exactly one reply per draft
on the network, the reply `sent` and the mention with it.

The flow is the desk's Send button (`Services.send`: guard, intent committed, one network call,
outcome recorded with the mention's transition). Kill points, counted by a dry run:
- `db` k: every SQL statement and COMMIT (before the intent commit, after it, inside the
  record of the outcome, after it);
- `reply`: the network call, after the intent commit, before the request leaves;
- `replied`: the network made the post; our process dies before reading the answer.
The restart runs what `socialbot run` runs every minute (`bot.desk.send.reconcile`, once the
row is older than any request timeout), and then, if no reply went out, the person clicks
Send again — the only way a reply is ever sent twice in the bot is a second click, so that is
what the test does.

Two networks: an X-like one (no idempotency: reconcile looks the reply up) and a
Mastodon-like one (repeating the call with the same Idempotency-Key returns the first post).
And the real network adapters over HTTP against their fakes (`tests.support.fault_networks`):
Reddit and YouTube (no idempotency key: reconcile finds the reply under the parent comment /
in the thread), Google Play (`reviews.reply`; reconcile reads the review's developer reply),
Facebook (`POST /{comment-id}/comments` as the Page over httpx; reconcile finds the Page's
reply under the comment),
the App Store (delete our earlier response, create the new one; reconcile reads the review's
response), Instagram (`POST /{comment-id}/replies`; reconcile looks under the comment), Threads
(a container created, then published: kill points around both; reconcile looks under the
parent).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.desk.directory import StaticDirectory
from bot.desk.send import reconcile
from bot.domain.errors import DomainError
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.slack.ids import CardRef
from bot.slack.services import Services
from tests.support import fault_figures
from tests.support.clock import Clock
from tests.support.fake_app_store import FakeAppStore
from tests.support.fake_google_play import FakeGooglePlay
from tests.support.fake_meta import FakeMeta
from tests.support.fake_reddit import FakeReddit
from tests.support.fake_threads import FakeThreads
from tests.support.fake_youtube import FakeYouTube
from tests.support.fault_networks import (
    AppStoreReplyNetwork,
    FacebookReplyNetwork,
    GooglePlayReplyNetwork,
    InstagramReplyNetwork,
    RedditReplyNetwork,
    ThreadsReplyNetwork,
    YouTubeReplyNetwork,
)
from tests.support.fault_world import FakeReplyNetwork, Killed, Process, kill_plan
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AGENT = "U0AGENT"
DIRECTORY = StaticDirectory({"S0CARELEADS": {"U0LEAD"}})
TEXT = {"x": "Sorry about that! Please DM us your booking ref.",
        "mastodon": "@ana Sorry about that! Please DM us your booking ref.",
        "reddit": "Sorry about that! Please DM us your booking ref. 🙏",
        "youtube": "Sorry about that! Please DM us your booking ref. 🙏",
        "google_play": "Sorry about that! 4.12.1 fixes it 🙏",
        "facebook": "Sorry about that! Please DM us your booking ref. 🙏",
        "app_store": "Sorry about that! 4.12.1 fixes it 🙏 شكراً",
        "instagram": "Sorry about that! Please DM us your booking ref. 🙏",
        "threads": "Sorry about that! Please DM us your booking ref. 🙏"}


def seed(url: str, network: str, external_id: str = "1853706321916866671",
         extra: dict | None = None) -> int:
    """A mention in `approved`, with its approved draft; returns the mention id."""
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as s:
            author = models.Author(network=network, handle="ana", name="Ana", followers=10,
                                   author_type="customer")
            m = models.Mention(network=network, external_id=external_id, extra=extra or {},
                               url="https://example.org/ana/1", text="@NorthwindAir late again",
                               author=author, compound=-0.5, sentiment="negative",
                               author_type="customer", score=50, priority="P3", team="care",
                               status="approved", version=4, mentions_brand=True,
                               claimed_by=AGENT, ingested_at=NOW - timedelta(minutes=30))
            s.add(m)
            s.flush()
            s.add(models.Draft(mention_id=m.id, text=TEXT[network], author=AGENT,
                               created_at=NOW, decision="approved", decided_by="U0LEAD",
                               decided_at=NOW))
            return m.id
    finally:
        engine.dispose()


def process_run(url: str, net: FakeReplyNetwork | RedditReplyNetwork | YouTubeReplyNetwork | GooglePlayReplyNetwork | FacebookReplyNetwork | AppStoreReplyNetwork | InstagramReplyNetwork | ThreadsReplyNetwork, clock: Clock, process: Process, mention_id: int,
                *, restart: bool) -> None:
    """One process: at start (restart) it reconciles replies; then, if the mention still
    waits for its reply, the person clicks Send."""
    engine = process.attach(make_engine(url))
    factory = make_session_factory(engine)
    publishers = {net.network: net.publisher(process, clock)}
    try:
        if restart:
            reconcile(factory, publishers, clock(), rules=RULES, directory=DIRECTORY)
        with factory() as s:
            m = s.get(models.Mention, mention_id)
            status, version = m.status, m.version
            reply = s.scalars(select(models.Reply.state)
                              .where(models.Reply.mention_id == mention_id)).first()
        if status == "approved" and reply in (None, "failed"):
            services = Services(factory, lambda: RULES, DIRECTORY, clock, publishers)
            try:
                services.send(AGENT, CardRef(mention_id, version))
            except DomainError as exc:  # shown to the person; must not happen here
                raise AssertionError(f"Send refused: {exc.message}") from exc
    finally:
        engine.dispose()


def check(url: str, net: FakeReplyNetwork | RedditReplyNetwork | YouTubeReplyNetwork | GooglePlayReplyNetwork | FacebookReplyNetwork | AppStoreReplyNetwork | InstagramReplyNetwork | ThreadsReplyNetwork, mention_id: int) -> None:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            replies = s.scalars(select(models.Reply)).all()
            mention = s.get(models.Mention, mention_id)
            status = mention.status
            sent_events = s.scalars(select(models.AuditEvent.id).where(
                models.AuditEvent.action == "send")).all()
    finally:
        engine.dispose()
    assert fault_figures.invariant("duplicate replies", max(0, len(net.posts) - 1)) == 0, net.posts
    assert len(net.posts) == 1, "the reply never went out"
    [reply] = replies
    assert (reply.state, reply.network_id, status) == ("sent", net.posts[0].id, "sent")
    assert len(sent_events) == 1


def replaced_in_audit(url: str) -> str:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as s:
            [detail] = s.scalars(select(models.AuditEvent.detail).where(
                models.AuditEvent.action == "send")).all()
    finally:
        engine.dispose()
    return str(detail.get("replaced", ""))


@pytest.mark.parametrize("kind", ["x", "mastodon"])
def test_kill_the_send_at_every_point_then_restart_replies_once(fresh_db, kind):
    def network() -> FakeReplyNetwork:
        return FakeReplyNetwork(network=kind, idempotent=kind == "mastodon")

    url = fresh_db()
    mention_id = seed(url, kind)
    clock, net, dry = Clock(NOW), network(), Process()
    process_run(url, net, clock, dry, mention_id, restart=False)
    check(url, net, mention_id)
    assert dry.counts["reply"] == dry.counts["replied"] == 1, dry.counts
    assert dry.counts["db"] >= 10, dry.counts

    for point in kill_plan(dry.counts):
        url = fresh_db()
        mention_id = seed(url, kind)
        clock, net, process = Clock(NOW), network(), Process(point)
        with pytest.raises(Killed):
            process_run(url, net, clock, process, mention_id, restart=False)
        fault_figures.tried("kill points")
        clock.now += timedelta(minutes=3)  # past reconcile's 2 minutes: no call in flight
        process_run(url, net, clock, Process(), mention_id, restart=True)
        check(url, net, mention_id)


@pytest.fixture
def fake_reddit():
    fake = FakeReddit().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_youtube():
    fake = FakeYouTube().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_google_play():
    fake = FakeGooglePlay().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_facebook():
    fake = FakeMeta().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_app_store():
    fake = FakeAppStore().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_instagram():
    fake = FakeMeta().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_threads():
    fake = FakeThreads().start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("kind", ["reddit", "youtube", "google_play", "facebook", "app_store",
                                  "instagram", "threads"])
def test_kill_the_real_adapters_send_at_every_point_then_restart_replies_once(
        fresh_db, request, kind):
    """The real RedditPublisher (PRAW), YouTubePublisher and GooglePlayPublisher
    (google-api-python-client), FacebookPublisher, InstagramPublisher and ThreadsPublisher
    (httpx) and AppStorePublisher (requests)
    over HTTP against their fakes: kill points around their requests."""
    fake = request.getfixturevalue(f"fake_{kind}")

    def network() -> RedditReplyNetwork | YouTubeReplyNetwork | GooglePlayReplyNetwork | FacebookReplyNetwork | AppStoreReplyNetwork | InstagramReplyNetwork | ThreadsReplyNetwork:
        if kind == "reddit":
            fake.things.clear()
            fake.mentions.clear()
            return RedditReplyNetwork(fake, NOW.timestamp())
        if kind == "google_play":
            return GooglePlayReplyNetwork(fake, NOW.timestamp())
        if kind == "facebook":
            return FacebookReplyNetwork(fake, NOW.timestamp())
        if kind == "app_store":
            return AppStoreReplyNetwork(fake, NOW.timestamp())
        if kind == "instagram":
            return InstagramReplyNetwork(fake, NOW.timestamp())
        if kind == "threads":
            return ThreadsReplyNetwork(fake, NOW.timestamp())
        fake.threads.clear()
        fake.replies.clear()
        return YouTubeReplyNetwork(fake, NOW.timestamp())

    def seeded(net: RedditReplyNetwork | YouTubeReplyNetwork | GooglePlayReplyNetwork | FacebookReplyNetwork | AppStoreReplyNetwork | InstagramReplyNetwork | ThreadsReplyNetwork) -> tuple[str, int]:
        url = fresh_db()
        return url, seed(url, kind, net.external_id, net.extra)

    net, dry = network(), Process()
    url, mention_id = seeded(net)
    process_run(url, net, Clock(NOW), dry, mention_id, restart=False)
    check(url, net, mention_id)
    assert dry.counts["reply"] == dry.counts["replied"] == 1, dry.counts
    if kind == "app_store":  # the earlier response was deleted first: the send's audit says so
        assert replaced_in_audit(url).startswith("replaced response ")

    for point in kill_plan(dry.counts):
        net = network()
        url, mention_id = seeded(net)
        clock, process = Clock(NOW), Process(point)
        with pytest.raises(Killed):
            process_run(url, net, clock, process, mention_id, restart=False)
        fault_figures.tried("kill points")
        clock.now += timedelta(minutes=3)
        process_run(url, net, clock, Process(), mention_id, restart=True)
        check(url, net, mention_id)
