"""Store what a source fetched: dedupe → enrich → route → mentions, authors, cursor, usage, outbox.

`store_fetch` writes everything for one fetch inside the caller's transaction. The cursor is
saved in the same commit as the mentions it covers, so a crash before the commit repeats the
fetch (and dedupe drops what was already stored), and a crash after it loses nothing.

Poison-proof: values are fitted to their columns first (bot.listening.fitting); when a post's
values still make the page fail (a data error, not a locked database), the poller rolls back
and stores the page again post by post (`one_by_one`), each in its own SAVEPOINT, and the
posts that fail are quarantined (bot.listening.quarantine) with the ones the parser refused.
The usual page pays nothing for this: no SAVEPOINT unless one is needed.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, overload

from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.domain import sla
from bot.domain.conversation import THREAD_ROLES, Placed, Role
from bot.domain.mention import Mention
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules, SourceSpec
from bot.domain.scoring.enrich import enrich
from bot.domain.scoring.routing import route
from bot.domain.workflow import MentionStatus
from bot.kit import bulk, models
from bot.kit.savepoints import savepoint
from bot.listening import follow_ups, placing
from bot.listening.fitting import fitted
from bot.listening.keys import normalise_handle, per_network
from bot.listening.quarantine import is_poison, quarantine
from bot.networks.base import Fetch

_AUTHOR = models.table_of(models.Author)
_MENTION = models.table_of(models.Mention)
_OUTBOX = models.table_of(models.OutboxMessage)


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_mention_ids: list[int]
    duplicates: int
    # Posts that joined an existing card's thread (follow-ups, context, outside answers).
    thread_posts: int = 0
    quarantined: int = 0  # posts kept aside (bot.listening.quarantine), parser's included
    gap_closed: bool = False  # the last gap a page cap had left is read


def source_row(session: Session, spec: SourceSpec) -> models.Source:
    row = session.get(models.Source, spec.id)
    if row is None:
        row = models.Source(id=spec.id, type=spec.type)
        session.add(row)
    elif row.type != spec.type:  # the rules file reused an id for another kind of source
        row.type, row.cursor, row.etag, row.last_modified = spec.type, None, None, None
    return row


# Code points no database can store: UTF-8 has no surrogates (a lone `\ud83d` escape in a
# network's JSON), PostgreSQL text no NUL. One such post would fail its whole page's store at
# every poll, and the source would never get past it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@overload
def _storable(value: str) -> str: ...
@overload
def _storable(value: str | None) -> str | None: ...
def _storable(value: str | None) -> str | None:
    return _UNSTORABLE.sub("\ufffd", value) if value else value


def storable(m: Mention) -> Mention:
    """`m` with each un-storable code point replaced by U+FFFD; everything else kept as is
    (and `m` itself returned, uncopied, in the usual case that there is none)."""
    a = m.author
    texts = [m.external_id, m.text, m.url, m.lang, m.in_reply_to_id, m.conversation_id,
             a.handle, a.name, a.external_id, *m.extra,
             *(v for v in m.extra.values() if isinstance(v, str))]
    if not _UNSTORABLE.search("".join(t for t in texts if t)):
        return m
    return dataclasses.replace(
        m, external_id=_storable(m.external_id), text=_storable(m.text), url=_storable(m.url),
        lang=_storable(m.lang), in_reply_to_id=_storable(m.in_reply_to_id),
        conversation_id=_storable(m.conversation_id),
        extra={_storable(k): _storable(v) if isinstance(v, str) else v
               for k, v in m.extra.items()},
        author=dataclasses.replace(a, handle=_storable(a.handle), name=_storable(a.name),
                                   external_id=_storable(a.external_id)))


def _unseen(session: Session, mentions: list[Mention],
            threads: bool = True) -> tuple[list[Mention], int]:
    """Mentions not stored yet (as a card, or in a card's thread when `threads`), first
    occurrence kept; and how many were dropped."""
    batch: dict[tuple[str, str], Mention] = {}
    for m in mentions:
        batch.setdefault((m.network, m.external_id), m)
    posts = models.table_of(models.ThreadPost)
    for network, chunk in per_network(batch):
        # A post is a card or in a card's thread, never both.
        for table in (_MENTION, posts) if threads else (_MENTION,):
            for (external_id,) in session.execute(
                    select(table.c.external_id).where(
                        table.c.network == network, table.c.external_id.in_(chunk))):
                batch.pop((network, external_id), None)
    return list(batch.values()), len(mentions) - len(batch)


@dataclass(slots=True)
class _AuthorSeen:
    """What one fetch says of one author: the newest non-empty values of its mentions."""

    name: str | None = None
    external_id: str | None = None
    followers: int | None = None
    author_type: str = "customer"
    mentions: int = 0


def _authors(session: Session, fresh: list[Mention], types: list[str],
             now: datetime) -> dict[tuple[str, str], tuple[int, str | None]]:
    """Upsert one author row per (network, handle), updated from the newest of its mentions.

    `types` are the author types enrich gave each mention (an author keeps the last one).
    Returns (network, handle) → (author id, the type staff set on it, if any)."""
    seen: dict[tuple[str, str], _AuthorSeen] = {}
    for m, kind in zip(fresh, types, strict=True):
        key = (m.network, normalise_handle(m.author.handle))
        a = seen.get(key)
        if a is None:
            a = seen[key] = _AuthorSeen()
        a.name = m.author.name or a.name
        a.external_id = m.author.external_id or a.external_id
        a.followers = m.author.followers or a.followers
        a.author_type = kind
        a.mentions += 1
    found: dict[tuple[str, str], tuple[int, str | None]] = {}
    for network, chunk in per_network(sorted(seen)):
        for handle, author_id, override in session.execute(
                select(_AUTHOR.c.handle, _AUTHOR.c.id, _AUTHOR.c.type_override)
                .where(_AUTHOR.c.network == network, _AUTHOR.c.handle.in_(chunk))):
            found[(network, handle)] = (author_id, override)
    known = [key for key in seen if key in found]
    if known:
        # COALESCE keeps what we knew when this fetch does not say; the count grows in SQL.
        session.execute(
            update(_AUTHOR).where(_AUTHOR.c.id == bindparam("b_id")).values(
                name=func.coalesce(bindparam("b_name", type_=_AUTHOR.c.name.type),
                                   _AUTHOR.c.name),
                external_id=func.coalesce(
                    bindparam("b_external_id", type_=_AUTHOR.c.external_id.type),
                    _AUTHOR.c.external_id),
                followers=func.coalesce(bindparam("b_followers", type_=Integer()),
                                        _AUTHOR.c.followers),
                author_type=bindparam("b_author_type"),
                last_seen_at=bindparam("b_now", type_=_AUTHOR.c.last_seen_at.type),
                mention_count=_AUTHOR.c.mention_count + bindparam("b_n", type_=Integer())),
            [{"b_id": found[key][0], "b_name": seen[key].name,
              "b_external_id": seen[key].external_id, "b_followers": seen[key].followers,
              "b_author_type": seen[key].author_type, "b_now": now, "b_n": seen[key].mentions}
             for key in known])
    new = [key for key in seen if key not in found]
    if new:
        ids = bulk.insert_ids(session, _AUTHOR, [
            {"network": key[0], "handle": key[1], "name": seen[key].name,
             "external_id": seen[key].external_id, "followers": seen[key].followers or 0,
             "author_type": seen[key].author_type, "first_seen_at": now, "last_seen_at": now,
             "mention_count": seen[key].mentions} for key in new], key=("network", "handle"))
        found.update((key, (author_id, None)) for key, author_id in zip(new, ids, strict=True))
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
                   source_id: str | None = None, conversations: bool = True,
                   one_by_one: bool = False) -> IngestResult:
    """Score, route and store new mentions, and queue a card for each, in the caller's
    transaction (never commits).

    The rows are written in bulk (`bot.kit.bulk`: COPY on PostgreSQL, one Core INSERT elsewhere;
    one statement per author change), not as ORM objects: ten times faster on a page of 100
    posts. Mention/Author objects this session loaded earlier are not refreshed.

    A post that joins a card's conversation goes to its thread instead (`placing`,
    `follow_ups`). `conversations=False` makes every post a card, as before conversations
    existed: bench/ingest.py's baseline for what threading costs.

    `one_by_one` (after the page as a whole failed on some post's values, in a transaction
    the caller rolled back): each post in its own SAVEPOINT, and a post whose values the
    database or the scorer refuses is quarantined while the others are stored. The caller
    must have written in this transaction already (see `store_fetch`): on SQLite that is what
    opens it, so the SAVEPOINTs nest instead of committing on their own."""
    ready = [fitted(storable(m)) for m in mentions]
    if not one_by_one:
        return _store_all(session, ready, rules, now=now, source_id=source_id,
                          conversations=conversations)
    ids: list[int] = []
    duplicates = thread_posts = quarantined = 0
    for m in ready:
        try:
            with savepoint(session):
                one = _store_all(session, [m], rules, now=now, source_id=source_id,
                                 conversations=conversations)
        except Exception as exc:
            if not is_poison(exc):
                raise
            quarantine(session, source_id=source_id or m.source_id, network=m.network,
                       external_id=m.external_id, raw=_raw(m), stage="store",
                       reason=f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}",
                       now=now)
            quarantined += 1
            continue
        ids.extend(one.new_mention_ids)
        duplicates += one.duplicates
        thread_posts += one.thread_posts
    return IngestResult(ids, duplicates, thread_posts, quarantined)


def _raw(m: Mention) -> str:
    return json.dumps(dataclasses.asdict(m), ensure_ascii=False, default=str)


def _store_all(session: Session, mentions: list[Mention], rules: Rules, *, now: datetime,
               source_id: str | None, conversations: bool) -> IngestResult:
    fresh, duplicates = _unseen(session, mentions, conversations)
    if not fresh:
        return IngestResult([], duplicates)
    placed = (placing.place(session, fresh) if conversations
              else [Placed(Role.CARD)] * len(fresh))
    cards = [i for i, p in enumerate(placed) if p.role is Role.CARD]
    ids, queued = _store_cards(session, [fresh[i] for i in cards], rules, now=now,
                               source_id=source_id)
    by_index = dict(zip(cards, ids, strict=True))
    posts = [(fresh[i], p) for i, p in enumerate(placed) if p.role in THREAD_ROLES]
    follow_ups.store(session, posts, by_index, rules, now=now)
    # The new cards are queued after the thread posts: the outbox sends a priority's rows in
    # id order, and a customer already waiting in a conversation goes before newcomers of
    # the same priority (a follow-up reaches its thread within the poll plus 2 s of pacing).
    bulk.insert_all(session, _OUTBOX, queued)
    return IngestResult(ids, duplicates, len(posts))


def _store_cards(session: Session, fresh: list[Mention], rules: Rules, *, now: datetime,
                 source_id: str | None) -> tuple[list[int], list[dict[str, Any]]]:
    """Store the posts that start a conversation as mentions: their ids, and their cards'
    outbox rows to queue."""
    if not fresh:
        return [], []
    scored = [enrich(m, rules, now=now) for m in fresh]
    authors = _authors(session, fresh, [e.author_type for e in scored], now)
    rows: list[dict[str, Any]] = []

    @functools.cache  # a fetch has a handful of (team, priority) pairs and one `now`
    def timers(team: str, priority: str) -> dict[str, datetime | None]:
        return sla.timer_columns(rules, team, priority, now)

    for m, e in zip(fresh, scored, strict=True):
        author_id, override = authors[(m.network, normalise_handle(m.author.handle))]
        if override:  # staff said who this is: routing must believe them
            e = dataclasses.replace(e, author_type=override)
        decision = route(m, e, rules)
        rows.append({
            "network": m.network, "external_id": m.external_id,
            "source_id": source_id or m.source_id, "url": m.url, "text": m.text,
            "lang": m.lang or e.lang, "author_id": author_id, "created_at": m.created_at,
            "ingested_at": now, "compound": e.compound, "sentiment": e.sentiment,
            "complaint": e.is_complaint, "complaint_probability": e.complaint_probability,
            "author_type": e.author_type, "score": e.score, "score_parts": dict(e.score_parts),
            "priority": decision.priority, "team": decision.team, "risk": list(decision.risk),
            "approval_required": decision.approval_required,
            "outcome_hint": decision.outcome_hint,
            "matched_rules": list(decision.matched_rules), "mentions_brand": m.mentions_brand,
            "in_reply_to_id": m.in_reply_to_id, "conversation_id": m.conversation_id,
            "extra": dict(m.extra), "status": MentionStatus.NEW, "version": 0,
            # The reply is due by the team's SLA for this priority, counted from now.
            **timers(decision.team, decision.priority)})
    ids = bulk.insert_ids(session, _MENTION, rows, key=("network", "external_id"))
    return list(ids), [
        {"kind": OutboxKind.CARD, "channel": rules.teams[row["team"]].channel, "mention_id": mention_id,
         "priority": row["priority"], "payload": {}, "state": "pending", "attempts": 0,
         "not_before": now, "created_at": now,
         # One card per mention, whatever retries happen upstream.
         "dedupe_key": f"card:{mention_id}"}
        for mention_id, row in zip(ids, rows, strict=True)]


def store_fetch(session: Session, spec: SourceSpec, fetch: Fetch, rules: Rules, *,
                now: datetime, conversations: bool = True,
                one_by_one: bool = False) -> IngestResult:
    """Everything one successful poll changes, in the caller's transaction. `one_by_one`:
    the mentions post by post, the ones that fail quarantined (`store_mentions`)."""
    source = source_row(session, spec)
    session.flush()  # the source row must exist before mentions and usage point at it
    if one_by_one:  # a write first: it opens SQLite's transaction, the SAVEPOINTs nest in it
        session.execute(update(models.Source).where(models.Source.id == spec.id)
                        .values(last_success_at=now))
    result = store_mentions(session, fetch.mentions, rules, now=now, source_id=spec.id,
                            conversations=conversations, one_by_one=one_by_one)
    for post in fetch.rejected:
        quarantine(session, source_id=spec.id, network=post.network,
                   external_id=post.external_id, raw=post.raw, reason=post.reason,
                   stage="parse", now=now)
    if fetch.rejected:
        result = dataclasses.replace(result, quarantined=result.quarantined
                                     + len(fetch.rejected))
    source.cursor = fetch.state.cursor
    source.etag = fetch.state.etag
    source.last_modified = fetch.state.last_modified
    source.marks = fetch.state.marks
    # The gap moves with the cursor, in the same commit: a crash repeats both.
    had_gap = bool(source.backfill)
    source.backfill = fetch.state.backfill
    if source.backfill:
        if not had_gap:
            source.backfill_since, source.backfill_reads = now, 0
        source.backfill_reads = (source.backfill_reads or 0) + fetch.backfill_reads
    elif had_gap:
        source.backfill_since, source.backfill_reads = None, 0
        result = dataclasses.replace(result, gap_closed=True)
    source.last_success_at = now
    source.unhealthy_reason = None
    add_usage(session, spec.id, fetch.reads, now)
    session.flush()
    return result
