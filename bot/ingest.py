"""Store what a source fetched: dedupe → enrich → route → mentions, authors, cursor, usage, outbox.

`store_fetch` writes everything for one fetch inside the caller's transaction. The cursor is
saved in the same commit as the mentions it covers, so a crash before the commit repeats the
fetch (and dedupe drops what was already stored), and a crash after it loses nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from bot import models
from bot.enrich import enrich
from bot.mention import Mention
from bot.routing import route
from bot.rules_schema import Rules, SourceSpec
from bot.sources.base import Fetch

# Large IN lists are split: SQLite allows 32,766 bound parameters, and smaller chunks plan better.
LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_mention_ids: list[int]
    duplicates: int


def normalise_handle(handle: str) -> str:
    """Handles are case-insensitive on every network we poll; `@` is decoration."""
    return handle.strip().lstrip("@").lower()


def _chunks(items: list, size: int = LOOKUP_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def source_row(session: Session, spec: SourceSpec) -> models.Source:
    row = session.get(models.Source, spec.id)
    if row is None:
        row = models.Source(id=spec.id, type=spec.type)
        session.add(row)
    elif row.type != spec.type:  # the rules file reused an id for another kind of source
        row.type, row.cursor, row.etag, row.last_modified = spec.type, None, None, None
    return row


def _unseen(session: Session, mentions: list[Mention]) -> tuple[list[Mention], int]:
    """Mentions not stored yet, first occurrence kept; and how many were dropped."""
    batch: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        batch.setdefault((m.network, m.external_id), m)
    keys = list(batch)
    for chunk in _chunks(keys):
        stored = session.execute(
            select(models.Mention.network, models.Mention.external_id).where(
                tuple_(models.Mention.network, models.Mention.external_id).in_(chunk))
        ).all()
        for key in stored:
            batch.pop(tuple(key), None)
    return list(batch.values()), len(mentions) - len(batch)


def _authors(session: Session, mentions: list[Mention], now: datetime) -> dict[tuple[str, str],
                                                                                models.Author]:
    """Upsert one author row per (network, handle), updated from the newest mention."""
    keys = {(m.network, normalise_handle(m.author.handle)) for m in mentions}
    found: dict[tuple[str, str], models.Author] = {}
    for chunk in _chunks(sorted(keys)):
        for author in session.scalars(select(models.Author).where(
                tuple_(models.Author.network, models.Author.handle).in_(chunk))):
            found[(author.network, author.handle)] = author
    for m in mentions:
        key = (m.network, normalise_handle(m.author.handle))
        author = found.get(key)
        if author is None:
            author = models.Author(network=key[0], handle=key[1], first_seen_at=now,
                                   mention_count=0, followers=0, author_type="customer")
            session.add(author)
            found[key] = author
        author.name = m.author.name or author.name
        author.external_id = m.author.external_id or author.external_id
        author.followers = m.author.followers or author.followers
        author.last_seen_at = now
        author.mention_count = (author.mention_count or 0) + 1
    return found


def add_usage(session: Session, source_id: str, reads: int, now: datetime) -> None:
    if reads <= 0:
        return
    day = now.date()
    usage = session.scalars(select(models.SourceUsage).where(
        models.SourceUsage.source_id == source_id, models.SourceUsage.day == day)).first()
    if usage is None:
        session.add(models.SourceUsage(source_id=source_id, day=day, reads=reads))
    else:
        usage.reads = models.SourceUsage.reads + reads  # in SQL: no lost update under races


def store_mentions(session: Session, mentions: list[Mention], rules: Rules, *, now: datetime,
                   source_id: str | None = None) -> IngestResult:
    """Score, route and store new mentions, and queue a card for each. Flushes, never commits."""
    fresh, duplicates = _unseen(session, mentions)
    authors = _authors(session, fresh, now)
    rows: list[models.Mention] = []
    for m in fresh:
        author = authors[(m.network, normalise_handle(m.author.handle))]
        e = enrich(m, rules, now=now)
        author.author_type = e.author_type
        if author.type_override:  # staff said who this is: routing must believe them
            e = dataclasses.replace(e, author_type=author.type_override)
        decision = route(m, e, rules)
        row = models.Mention(
            network=m.network, external_id=m.external_id, source_id=source_id or m.source_id,
            url=m.url, text=m.text, lang=m.lang, author=author, created_at=m.created_at,
            ingested_at=now, compound=e.compound, sentiment=e.sentiment,
            author_type=e.author_type, score=e.score, score_parts=dict(e.score_parts),
            priority=decision.priority, team=decision.team, risk=list(decision.risk),
            approval_required=decision.approval_required, outcome_hint=decision.outcome_hint,
            matched_rules=list(decision.matched_rules), mentions_brand=m.mentions_brand,
            in_reply_to_id=m.in_reply_to_id, conversation_id=m.conversation_id,
            extra=dict(m.extra), status="new", version=0)
        session.add(row)
        rows.append(row)
    session.flush()  # ids for the outbox rows
    for row in rows:
        session.add(models.OutboxMessage(
            kind="card", channel=rules.teams[row.team].channel, mention_id=row.id,
            priority=row.priority, payload={}, state="pending", not_before=now, created_at=now,
            # One card per mention, whatever retries happen upstream.
            dedupe_key=f"card:{row.id}"))
    session.flush()
    return IngestResult([r.id for r in rows], duplicates)


def store_fetch(session: Session, spec: SourceSpec, fetch: Fetch, rules: Rules, *,
                now: datetime) -> IngestResult:
    """Everything one successful poll changes, in the caller's transaction."""
    source = source_row(session, spec)
    session.flush()  # the source row must exist before mentions and usage point at it
    result = store_mentions(session, fetch.mentions, rules, now=now, source_id=spec.id)
    source.cursor = fetch.state.cursor
    source.etag = fetch.state.etag
    source.last_modified = fetch.state.last_modified
    source.last_success_at = now
    source.unhealthy_reason = None
    add_usage(session, spec.id, fetch.reads, now)
    session.flush()
    return result
