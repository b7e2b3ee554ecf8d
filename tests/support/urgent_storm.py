"""A storm whose P1s sit deep in the gap (issue 18): the X mentions source with the shipped
rules' urgent cues against the fake X over real HTTP, and what a test checks afterwards."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.rules.urgent import urgent_cues
from bot.kit import models
from bot.kit.db import session_scope
from bot.networks.x.source import XMentionsSource
from tests.support.fake_x import BRAND_ID, FakeX, snowflake
from tests.support.fault_scenarios import RULES

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPEC = RULES.source("x-mentions")
LEGAL = "@NorthwindAir I will sue you, my lawyer is ready"
SAFETY = "@NorthwindAir there was smoke in the cabin on NW12"


def source(fake: FakeX, *, max_pages: int = 5, urgent: bool = True) -> XMentionsSource:
    """A new process's X mentions source, with the rules' P1 cues (or none)."""
    cues = urgent_cues(RULES, network="x", source_id=SPEC.id) if urgent else ()
    return XMentionsSource(SPEC, RULES.brand, fake.client(), brand_user_id=BRAND_ID,
                           max_pages=max_pages, urgent=cues)


def before(fake: FakeX) -> None:
    """One mention half an hour before: the cursor."""
    fake.user("9", "early")
    fake.post(snowflake(NOW - timedelta(minutes=30)), "@NorthwindAir morning!", "9",
              NOW - timedelta(minutes=30))


def storm(fake: FakeX, n: int, at: datetime, p1: dict[int, str]) -> set[str]:
    """`n` mentions posted within the minute before `at`, post i with text `p1[i]` when
    given (oldest first): the P1s' ids."""
    ids = set()
    for i in range(n):
        uid = str(10_000 + i % 700)
        fake.user(uid, f"customer{i % 700}", followers=50 + i % 500)
        when = at - timedelta(seconds=60) + timedelta(milliseconds=60_000 * i // n)
        pid = snowflake(when, i % 4096)
        fake.post(pid, p1.get(i, f"Loving the new lounge @NorthwindAir, visit {i}"), uid, when)
        if i in p1:
            ids.add(str(pid))
    return ids


def stored(factory: sessionmaker[Session]) -> Counter[str]:
    with session_scope(factory) as s:
        return Counter(s.scalars(select(models.Mention.external_id)))


def p1_stored(factory: sessionmaker[Session]) -> set[str]:
    with session_scope(factory) as s:
        return set(s.scalars(select(models.Mention.external_id)
                             .where(models.Mention.priority == "P1")))


def doubled_cards(factory: sessionmaker[Session]) -> int:
    with session_scope(factory) as s:
        return s.scalar(select(func.count()).select_from(
            select(models.OutboxMessage.mention_id)
            .where(models.OutboxMessage.kind == "card")
            .group_by(models.OutboxMessage.mention_id)
            .having(func.count() > 1).subquery())) or 0
