"""The App Home follows the desk (SQLite, and PostgreSQL when configured): desk changes made
through `Services.work` on a real database, Homes published by `HomeRefresher` to the fake
Slack Web API (tests/support/fake_slack.py) over real HTTP, time from a fake clock."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.desk import commands as desk
from bot.desk.directory import StaticDirectory
from bot.domain.errors import NotAllowed
from bot.domain.rules.schema import Rules
from bot.home.refresh import DEBOUNCE, VIEWERS_RELOAD, HomeRefresher, refresh_after_commit
from bot.kit import models
from bot.kit.db import make_session_factory, session_scope
from bot.outbox import sender_client
from bot.slack.ids import CardRef
from bot.slack.services import Services
from tests.support.clock import Clock
from tests.support.fake_slack import FakeSlack

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WAIT = DEBOUNCE.total_seconds()
RULES = Rules.model_validate({
    "brand": {"name": "Acme Bank", "x_username": "AcmeBank"},
    "teams": {
        "support": {"channel": "C0SUPPORT1", "label": "Customer support",
                    "approvers": ["U0LEAD", "S0LEADS"]},
        "pr": {"channel": "C0PRESS01", "approvers": ["U0PRLEAD"]},
    },
    "default_team": "support",
    "outcomes": ["resolved", "no_action"],
})
# U0GLEAD approves for support only through the S0LEADS user group.
DIRECTORY = StaticDirectory({"S0LEADS": {"U0GLEAD"}})
ANA, BEN, LEAD, GLEAD, PRLEAD = "U0ANA", "U0BEN", "U0LEAD", "U0GLEAD", "U0PRLEAD"
_n = itertools.count(1)


class Desk:
    def __init__(self, services: Services, homes: HomeRefresher, fake: FakeSlack,
                 clock: Clock) -> None:
        self.services, self.homes, self.fake, self.clock = services, homes, fake, clock

    def mention(self, *, team: str = "support", approval: bool = True, **values) -> int:
        k = next(_n)
        with session_scope(self.services.factory) as s:
            author = models.Author(network="x", handle=f"flyer{k}", followers=10,
                                   author_type="customer")
            m = models.Mention(network="x", external_id=f"home-refresh-{k}",
                               text=f"where is my bag number {k}", author=author,
                               compound=-0.5, sentiment="negative", author_type="customer",
                               score=50, priority="P2", team=team, ingested_at=T0,
                               mentions_brand=True, approval_required=approval,
                               slack_channel=RULES.teams[team].channel,
                               slack_ts=f"1700000000.{k:06d}", **values)
            s.add(m)
            s.flush()
            return m.id

    def click(self, fn, actor: str, mention_id: int, *args, **kw) -> None:
        """A click as the listener makes it: one unit of work, committed."""
        with self.services.work() as w:
            m = w.session.get(models.Mention, mention_id)
            fn(w, actor, CardRef(m.id, m.version), *args, **kw)

    def publishes(self) -> list[tuple[str, str]]:
        """(user, the view's text) of every views.publish the fake answered ok."""
        out = []
        for c in self.fake.calls_to("views.publish"):
            if c.status == 200 and not c.error:
                view = c.params["view"]
                out.append((c.params["user_id"],
                            view if isinstance(view, str) else json.dumps(view)))
        return out

    def home_of(self, user: str) -> str:
        views = [v for u, v in self.publishes() if u == user]
        assert views, f"no Home published for {user}"
        return views[-1]


@pytest.fixture
def fake_slack():
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def desk_(engine, fake_slack) -> Desk:
    clock = Clock(T0)
    factory = make_session_factory(engine)
    homes = HomeRefresher(factory, lambda: RULES, DIRECTORY,
                          sender_client("xoxb-test", fake_slack.api_url), clock)
    refresh_after_commit(factory, homes)
    services = Services(factory, lambda: RULES, DIRECTORY, clock, homes=homes)
    homes.gate = services.gate.entered
    return Desk(services, homes, fake_slack, clock)


def test_a_claim_refreshes_the_claimers_home_once(desk_):
    m = desk_.mention()
    desk_.services.home_opened(ANA, T0)
    desk_.click(desk.claim, ANA, m)
    # Nothing in the click's own thread: the Home waits for the refresher, after the debounce.
    assert desk_.fake.calls_to("views.publish") == []
    assert desk_.homes.run_once(desk_.clock()) == 0
    assert desk_.homes.run_once(desk_.clock.advance(WAIT)) == 1
    assert [u for u, _ in desk_.publishes()] == [ANA]
    assert "*Claimed by you* (1)" in desk_.home_of(ANA)
    desk_.homes.run_once(desk_.clock.advance(60))
    assert len(desk_.fake.calls_to("views.publish")) == 1


def test_five_claims_within_the_debounce_make_one_publish(desk_):
    ids = [desk_.mention() for _ in range(5)]
    desk_.services.home_opened(ANA, T0)
    for mid in ids:
        desk_.click(desk.claim, ANA, mid)
        desk_.homes.run_once(desk_.clock.advance(0.5))
    desk_.homes.run_once(desk_.clock.advance(WAIT))
    desk_.homes.run_once(desk_.clock.advance(WAIT))
    assert [u for u, _ in desk_.publishes()] == [ANA]
    assert "*Claimed by you* (5)" in desk_.home_of(ANA)


def test_submitting_a_draft_refreshes_the_approvers_homes(desk_):
    m = desk_.mention()
    for user in (ANA, LEAD, GLEAD, PRLEAD):
        desk_.services.home_opened(user, T0)
    desk_.click(desk.claim, ANA, m)
    desk_.click(desk.save_draft, ANA, m, "Sorry about your bag — DM us?")
    desk_.homes.run_once(desk_.clock.advance(WAIT))
    assert [u for u, _ in desk_.publishes()] == [ANA]  # claim and draft: ANA's Home only

    desk_.click(desk.submit, ANA, m)
    desk_.homes.run_once(desk_.clock.advance(WAIT))
    published = [u for u, _ in desk_.publishes()][1:]
    # The team's approvers, the group member through the directory; not the PR approver.
    assert sorted(published) == [ANA, GLEAD, LEAD]
    for approver in (LEAD, GLEAD):
        home = desk_.home_of(approver)
        assert "*Awaiting your approval* (1)" in home
        assert "where is my bag number" in home
    assert "*Awaiting your approval* (0)" in desk_.home_of(ANA)  # not an approver

    desk_.click(desk.approve, LEAD, m)  # decided: the drafter and the approvers again
    desk_.homes.run_once(desk_.clock.advance(WAIT))
    assert sorted(u for u, _ in desk_.publishes()[4:]) == [ANA, GLEAD, LEAD]
    assert "*Awaiting your approval* (0)" in desk_.home_of(GLEAD)


def test_a_failing_views_publish_is_retried_and_the_desk_goes_on(desk_):
    first, second = desk_.mention(), desk_.mention()
    desk_.services.home_opened(ANA, T0)
    desk_.fake.fail("views.publish", status=429, error="ratelimited", retry_after=2)
    desk_.click(desk.claim, ANA, first)
    assert desk_.homes.run_once(desk_.clock.advance(WAIT)) == 0  # 429
    assert [c.status for c in desk_.fake.calls_to("views.publish")] == [429]
    desk_.click(desk.claim, ANA, second)  # the desk is not held up by the Home
    with desk_.services.factory() as s:
        claimed = s.scalars(select(models.Mention.claimed_by)
                            .where(models.Mention.id.in_([first, second]))).all()
        updates = s.scalars(select(models.OutboxMessage.kind)
                            .where(models.OutboxMessage.kind == "update")).all()
    assert claimed == [ANA, ANA] and len(updates) == 2  # both cards refresh as usual
    assert desk_.homes.run_once(desk_.clock.advance(1)) == 0  # still within Retry-After
    assert desk_.homes.run_once(desk_.clock.advance(1)) == 1
    assert [c.status for c in desk_.fake.calls_to("views.publish")] == [429, 200]
    assert "*Claimed by you* (2)" in desk_.home_of(ANA)


def test_who_a_change_concerns(desk_):
    for user in (ANA, BEN, LEAD, GLEAD, PRLEAD):
        desk_.services.home_opened(user, T0)
    homes = desk_.homes

    def concerned() -> set[str]:
        homes.expand_teams()
        return set(homes.take_pending())

    m = desk_.mention(status="claimed", claimed_by=BEN)
    desk_.click(desk.reassign, LEAD, m, "pr")  # the claim taken away from BEN
    assert concerned() == {LEAD, BEN}

    late = desk_.mention(sla_due_at=T0 - timedelta(minutes=5))  # overdue: on approvers' Homes
    desk_.click(desk.dismiss, ANA, late)
    assert concerned() == {ANA, LEAD, GLEAD}

    mine = desk_.mention()
    desk_.click(desk.claim, ANA, mine)
    desk_.click(desk.save_draft, ANA, mine, "Hi")
    desk_.click(desk.submit, ANA, mine)
    concerned()
    with pytest.raises(NotAllowed):  # refused and rolled back: nobody's Home changes
        desk_.click(desk.approve, ANA, mine)
    assert concerned() == set()
    desk_.click(desk.reject, GLEAD, mine, "Say sorry first")
    assert concerned() == {ANA, LEAD, GLEAD}


def test_a_claim_turning_overdue_refreshes_the_claimer_and_the_approvers(desk_):
    from bot.timers.sla import run_sla

    for user in (ANA, BEN, LEAD, GLEAD, PRLEAD):
        desk_.services.home_opened(user, T0)
    late = T0 - timedelta(minutes=1)
    desk_.mention(status="claimed", claimed_by=BEN, sla_due_at=late, sla_next_at=late)
    desk_.mention(sla_due_at=T0 + timedelta(hours=1), sla_next_at=T0 + timedelta(hours=1))
    run = run_sla(desk_.services.factory, RULES, T0)
    assert run.escalations == 1
    desk_.homes.expand_teams()
    assert set(desk_.homes.pending()) == {BEN, LEAD, GLEAD}  # not PR's approver
    desk_.clock.advance(WAIT + 1)
    desk_.homes.run_once(desk_.clock())
    assert "Overdue" in desk_.home_of(BEN) and "(1)" in desk_.home_of(BEN)
    # The job runs again: nothing new is overdue, nobody's Home changes.
    desk_.homes.take_pending()
    run_sla(desk_.services.factory, RULES, T0 + timedelta(minutes=1))
    assert desk_.homes.pending() == {}


def test_another_replica_and_a_restarted_one_keep_the_home_current(engine, fake_slack):
    factory = make_session_factory(engine)
    clock = Clock(T0)

    def replica() -> tuple[Services, HomeRefresher]:
        homes = HomeRefresher(factory, lambda: RULES, DIRECTORY,
                              sender_client("xoxb-test", fake_slack.api_url), clock)
        return Services(factory, lambda: RULES, DIRECTORY, clock, homes=homes), homes

    (a, _), (_, homes_b) = replica(), replica()
    homes_b.run_once(clock())  # B has read who opened the Home: nobody yet
    a.home_opened(ANA, clock())  # ANA opens the tab; replica A serves the event
    homes_b.request([ANA])
    assert homes_b.pending() == {}  # B does not know yet…
    homes_b.run_once(clock.advance(VIEWERS_RELOAD.total_seconds()))  # …until it reads again
    homes_b.request([ANA])
    assert ANA in homes_b.pending()
    # A restarted process knows from its first round.
    _, homes_c = replica()
    homes_c.run_once(clock())
    homes_c.request([ANA, BEN])
    assert set(homes_c.pending()) == {ANA}
    a.home_opened(ANA, clock.advance(5))  # opening again just moves the time
    with factory() as s:
        assert [(v.user_id, v.opened_at) for v in s.scalars(select(models.HomeViewer))] == \
            [(ANA, clock())]
