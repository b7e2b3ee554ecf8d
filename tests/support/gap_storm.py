"""A burst bigger than a source's page cap, read to the end over successive polls (issue 18):
`drain` polls a real source (against its fake over HTTP) through `poll_source` until its gap
is closed, and reports what `check --live` / `/social status` showed while it was open."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.rules.schema import Rules, SourceSpec
from bot.kit import models
from bot.kit.db import session_scope
from bot.listening.health import source_health
from bot.listening.polling import poll_source
from bot.networks import gaps
from bot.networks.base import Source
from tests.support.clock import Clock
from tests.support.fault_scenarios import RULES


def rules_with(spec: SourceSpec) -> Rules:
    """The shipped rules with `spec` among their sources (health lists the rules' sources)."""
    return RULES.model_copy(update={"sources": [*RULES.sources, spec]})


@dataclass
class Drained:
    polls: int = 0  # polls until the gap closed, the one that opened it included
    lines: list[str] = field(default_factory=list)  # the health line while the gap was open
    new: list[int] = field(default_factory=list)  # mentions stored by each poll


def drain(factory: sessionmaker[Session], source: Source, clock: Clock, *,
          max_polls: int = 12) -> Drained:
    """Poll `source` every `every` until no gap is left (one poll at least)."""
    spec = source.spec
    rules = rules_with(spec)
    out = Drained()
    while True:
        outcome = poll_source(factory, source, rules, clock=clock)
        out.polls += 1
        out.new.append(outcome.new)
        assert outcome.status == "ok", outcome
        with session_scope(factory) as s:
            row = s.get(models.Source, spec.id)
            assert row is not None
            if not row.backfill:
                return out
            health = {h.id: h for h in source_health(s, rules, clock.now)}[spec.id]
            assert health.gap and "backfilling a gap since" in health.line(), health.line()
            out.lines.append(health.gap_line())
        assert out.polls < max_polls, out
        clock.advance(spec.every.total_seconds())


def stored_posts(factory: sessionmaker[Session], source_id: str) -> Counter[str]:
    """`stored`, and the posts of the source's cards' threads (replies in a busy thread)."""
    with session_scope(factory) as s:
        threaded = Counter(s.scalars(
            select(models.ThreadPost.external_id).join(models.Mention)
            .where(models.Mention.source_id == source_id)))
    return stored(factory, source_id) + threaded


def stored(factory: sessionmaker[Session], source_id: str) -> Counter[str]:
    """The external ids stored from `source_id`, each with how many rows it has."""
    with session_scope(factory) as s:
        return Counter(s.scalars(select(models.Mention.external_id)
                                 .where(models.Mention.source_id == source_id)))


def open_gap(factory: sessionmaker[Session], source: Source, clock: Clock,
             first: Callable[[], object], burst: Callable[[], object]) -> str:
    """Poll once after `first` (the cursor), then once after `burst` (past the page cap):
    the page token the gap it opened resumes from."""
    first()
    drain(factory, source, clock)
    burst()
    assert poll_source(factory, source, rules_with(source.spec), clock=clock).gap_open
    return gap_token(factory, source.spec.id)


def gap_token(factory: sessionmaker[Session], source_id: str) -> str:
    """The page token the first open gap of `source_id` resumes from."""
    with session_scope(factory) as s:
        row = s.get(models.Source, source_id)
        token = gaps.load(row.backfill)[0].token if row is not None and row.backfill else None
    assert token is not None, f"no gap open on {source_id}"
    return token
