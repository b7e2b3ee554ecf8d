"""Clicks by the wrong people: buttons of a team one is not in (approver of another team, not
holding the card), approving without being an approver, approving one's own draft, forged or
stale card references → refused with a message, and no state change at all (mention, drafts,
replies, outbox, audit trail). Through `Services.work()`, the unit of work every button's
listener runs, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.desk import commands as desk
from bot.desk.directory import StaticDirectory
from bot.domain.errors import DomainError, NotAllowed, StaleCard
from bot.domain.rules.load import load_rules
from bot.kit import models
from bot.slack.ids import CardRef
from bot.slack.services import Services
from tests.support import fault_figures
from tests.support.paths import ROOT

RULES = load_rules(ROOT / "routing_rules.yaml")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
AGENT, OTHER = "U0AGENT01", "U0OTHER01"  # care staff, nobody's approver
CARE_LEAD, BAG_LEAD, PR_LEAD = "U0CARELEAD1", "U0BAGLEAD01", "U0PRLEAD01"
DIRECTORY = StaticDirectory({"S0CARELEADS": {"U0CARELEAD2"}, "S0PRLEADS01": {PR_LEAD}})


def state(factory, mention_id: int) -> tuple:
    """Everything a click could change; the audit trail without its `refused` records (a
    refusal is recorded, and that is not a change of the mention)."""
    with factory() as s:
        m = s.get(models.Mention, mention_id)
        counts = tuple(s.scalar(select(func.count()).select_from(t)) for t in (
            models.Draft, models.Reply, models.OutboxMessage, models.OutcomeTag,
            models.Correction))
        counts += (s.scalar(select(func.count()).select_from(models.AuditEvent)
                            .where(models.AuditEvent.action != "refused")),)
        decisions = tuple(s.scalars(select(models.Draft.decision).order_by(models.Draft.id)))
        return (m.status, m.version, m.claimed_by, m.team, m.priority, m.sentiment,
                m.outcome, decisions, *counts)


@pytest.fixture
def services(engine):
    from bot.kit.db import make_session_factory

    clock = lambda: NOW  # noqa: E731
    return Services(make_session_factory(engine), lambda: RULES, DIRECTORY, clock)


_ts = iter(range(1, 10**6))


def mention(services: Services, status: str, *, drafter: str = AGENT,
            approval_required: bool = True) -> CardRef:
    """A care mention claimed by AGENT, brought to `status` the legitimate way."""
    with services.work() as w:
        m = models.Mention(network="x", external_id=f"{status}-{drafter}", text="late again",
                           author=models.Author(network="x", handle=f"a-{status}-{drafter}",
                                                author_type="customer"),
                           compound=-0.5, sentiment="negative", author_type="customer",
                           score=50, priority="P3", team="care", ingested_at=NOW,
                           mentions_brand=True, approval_required=approval_required,
                           slack_channel="C0CARE00001",
                           slack_ts=f"1700000000.{next(_ts):06d}")
        w.session.add(m)
        w.session.flush()
        ref = CardRef(m.id, 0)
    steps = {"claimed": 1, "drafted": 2, "pending_approval": 3}
    if status == "new":
        return ref
    with services.work() as w:
        desk.claim(w, drafter, ref)
    ref = CardRef(ref.mention_id, 1)
    if steps[status] >= 2:
        with services.work() as w:
            desk.save_draft(w, drafter, ref, "Sorry! DM us.")
        ref = CardRef(ref.mention_id, 2)
    if steps[status] >= 3:
        with services.work() as w:
            desk.submit(w, drafter, ref)
        ref = CardRef(ref.mention_id, 3)
    return ref


def attempt(services: Services, ref: CardRef, actor: str, act: str) -> DomainError:
    """One click as the listener makes it; returns the refusal (fails if it was allowed)."""
    calls = {
        "claim": lambda w: desk.claim(w, actor, ref),
        "unclaim": lambda w: desk.unclaim(w, actor, ref),
        "draft": lambda w: desk.save_draft(w, actor, ref, "hijacked reply"),
        "submit": lambda w: desk.submit(w, actor, ref),
        "approve": lambda w: desk.approve(w, actor, ref),
        "approve_edit": lambda w: desk.approve(w, actor, ref, edited_text="We admit liability"),
        "reject": lambda w: desk.reject(w, actor, ref, "no"),
        "dismiss": lambda w: desk.dismiss(w, actor, ref),
        "reassign": lambda w: desk.reassign(w, actor, ref, "pr"),
        "tag": lambda w: desk.tag(w, actor, ref, "resolved"),
        "correct": lambda w: desk.correct(w, actor, ref, "priority", "P1"),
    }
    if act == "send":
        with pytest.raises(DomainError) as caught:
            services.send(actor, ref)
        return caught.value
    with pytest.raises(DomainError) as caught, services.work() as w:
        calls[act](w)
    return caught.value


# (status the mention is in, who clicks, what, the refusal's class)
CASES = [
    # Not holding the card and not an approver of its team (approver of another team, or
    # nobody's): nothing of the holder's.
    *[("claimed", actor, act, NotAllowed) for actor in (OTHER, BAG_LEAD, PR_LEAD)
      for act in ("unclaim", "draft", "dismiss", "reassign")],
    *[("drafted", actor, act, NotAllowed) for actor in (OTHER, BAG_LEAD)
      for act in ("draft", "submit", "send", "dismiss", "reassign")],
    # Approving without being an approver of the mention's team.
    *[("pending_approval", actor, act, NotAllowed) for actor in (OTHER, BAG_LEAD, PR_LEAD)
      for act in ("approve", "approve_edit", "reject")],
    # Sending what needs approval before it was approved, even as the holder.
    ("drafted", AGENT, "send", NotAllowed),
]


def refusals(factory, mention_id: int) -> list[tuple[str, str]]:
    """(who, what they attempted) of the mention's `refused` audit records, oldest first."""
    with factory() as s:
        return [(e.actor, e.detail["attempted"]) for e in s.scalars(
            select(models.AuditEvent).where(models.AuditEvent.mention_id == mention_id,
                                            models.AuditEvent.action == "refused")
            .order_by(models.AuditEvent.id))]


def test_clicks_by_people_not_allowed_are_refused_and_change_nothing(services):
    refs: dict[str, CardRef] = {}
    for status, actor, act, refusal in CASES:
        if status not in refs:
            refs[status] = mention(services, status)
        ref = refs[status]
        before = state(services.factory, ref.mention_id)
        error = attempt(services, ref, actor, act)
        assert isinstance(error, refusal), (status, actor, act, error)
        assert error.message  # the person is told why, in words
        after = state(services.factory, ref.mention_id)
        changed = int(after != before)
        assert fault_figures.invariant("unauthorised changes", changed) == 0, (
            status, actor, act, before, after)
        if refusal is NotAllowed:  # refused by the guards: audited, who and what
            assert refusals(services.factory, ref.mention_id)[-1][0] == actor, (status, act)
        fault_figures.tried("hostile inputs")


def test_approving_ones_own_draft_is_refused_even_for_an_approver(services):
    ref = mention(services, "pending_approval", drafter=CARE_LEAD)
    before = state(services.factory, ref.mention_id)
    for act in ("approve", "approve_edit", "reject"):
        error = attempt(services, ref, CARE_LEAD, act)
        assert isinstance(error, NotAllowed) and "You wrote this draft" in error.message
        fault_figures.tried("hostile inputs")
        assert fault_figures.invariant("unauthorised changes",
                                 int(state(services.factory, ref.mention_id) != before)) == 0
    # Another approver of the team (a member of its user group) may.
    with services.work() as w:
        desk.approve(w, "U0CARELEAD2", ref)
    assert state(services.factory, ref.mention_id)[0] == "approved"


def test_forged_and_stale_card_references_are_refused(services):
    ref = mention(services, "pending_approval")
    other = mention(services, "claimed", drafter=OTHER)
    before = (state(services.factory, ref.mention_id), state(services.factory, other.mention_id))
    forged = [
        (CardRef(ref.mention_id, 0), CARE_LEAD, "approve", StaleCard),  # an old card
        (CardRef(ref.mention_id, 99), CARE_LEAD, "approve", StaleCard),  # a future version
        (CardRef(ref.mention_id, 3, draft_id=10_000), CARE_LEAD, "approve", StaleCard),
        (CardRef(other.mention_id, 0), AGENT, "claim", DomainError),  # someone else's, old
        (CardRef(other.mention_id, 1), AGENT, "unclaim", NotAllowed),
        (CardRef(10_000_000, 0), AGENT, "claim", DomainError),  # no such mention
    ]
    for forged_ref, actor, act, refusal in forged:
        error = attempt(services, forged_ref, actor, act)
        assert isinstance(error, refusal), (forged_ref, act, error)
        fault_figures.tried("hostile inputs")
    after = (state(services.factory, ref.mention_id), state(services.factory, other.mention_id))
    assert fault_figures.invariant("unauthorised changes", int(after != before)) == 0


def test_nobody_but_the_drafter_can_approve_means_no_submission(services):
    """A team whose only approver wrote the draft: the submission itself is refused, so a
    draft can never sit waiting for a self-approval."""
    ref = mention(services, "drafted", drafter=BAG_LEAD)
    with services.work() as w:  # move it to the baggage desk, drafted by its only lead
        w.session.get(models.Mention, ref.mention_id).team = "baggage"
    before = state(services.factory, ref.mention_id)
    error = attempt(services, ref, BAG_LEAD, "submit")
    assert isinstance(error, NotAllowed) and "Nobody but the drafter" in error.message
    assert fault_figures.invariant("unauthorised changes",
                             int(state(services.factory, ref.mention_id) != before)) == 0
    fault_figures.tried("hostile inputs")
