"""The models against a database built by the real migrations, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError

from bot.kit.db import make_engine, make_session_factory, session_scope
from bot.kit.models import (
    CORRECTION_FIELDS,
    DRAFT_DECISIONS,
    MENTION_STATUSES,
    OUTBOX_KINDS,
    OUTBOX_STATES,
    PRIORITIES,
    REPLY_STATES,
    SENTIMENT_LABELS,
    AuditEvent,
    Correction,
    Draft,
    Mention,
    OutboxMessage,
    OutcomeTag,
    ProcessedEvent,
    Reply,
    Source,
    SourceUsage,
)

SAST = timezone(timedelta(hours=2))


# --- identity and uniqueness --------------------------------------------------------------

def test_external_id_is_unique_per_network(session, make_mention):
    make_mention(network="x", external_id="42")
    make_mention(network="mastodon", external_id="42")  # same id, other network: fine
    session.commit()
    with pytest.raises(IntegrityError):
        make_mention(network="x", external_id="42")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Mention)) == 2


def test_author_is_unique_per_network_and_handle(session, make_author):
    make_author(network="x", handle="ana")
    make_author(network="bluesky", handle="ana")
    with pytest.raises(IntegrityError):
        make_author(network="x", handle="ana")


def test_one_reply_per_draft_and_per_idempotency_key(session, make_mention):
    m = make_mention()
    d1 = Draft(mention=m, text="Sorry about that!", author="U1")
    d2 = Draft(mention=m, text="Second try", author="U1")
    session.add_all([d1, d2])
    session.flush()
    session.add(Reply(mention=m, draft=d1, network="x", idempotency_key="k1", sent_by="U1"))
    session.flush()
    session.commit()

    with pytest.raises(IntegrityError):  # the same draft sent twice
        session.execute(insert(Reply).values(mention_id=m.id, draft_id=d1.id, network="x",
                                             idempotency_key="k2", sent_by="U1",
                                             created_at=datetime.now(UTC)))
    session.rollback()
    with pytest.raises(IntegrityError):  # a retry under the same key
        session.execute(insert(Reply).values(mention_id=m.id, draft_id=d2.id, network="x",
                                             idempotency_key="k1", sent_by="U1",
                                             created_at=datetime.now(UTC)))
    session.rollback()
    reply = session.scalars(select(Reply)).one()
    assert reply.state == "sending"  # written before the network call, by default
    assert reply.network_id is None


def test_outcome_tagged_once_per_mention(session, make_mention):
    m = make_mention()
    session.add_all([OutcomeTag(mention=m, outcome="resolved", tagged_by="U1"),
                     OutcomeTag(mention=m, outcome="lead", tagged_by="U1")])
    session.flush()
    session.add(OutcomeTag(mention=m, outcome="lead", tagged_by="U2"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_unique_keys_allow_many_nulls(session, make_mention):
    """Cards not posted yet and messages without a dedupe key don't collide."""
    make_mention(slack_channel=None, slack_ts=None)
    make_mention(slack_channel=None, slack_ts=None)
    card = make_mention(slack_channel="C1", slack_ts="1700000000.000100")
    for _ in range(2):
        session.add(OutboxMessage(kind="card", channel="C1", priority="P2", payload={}))
    session.add(OutboxMessage(kind="alert", channel="C1", priority="P1", payload={},
                              dedupe_key=f"sla:{card.id}"))
    session.flush()
    session.commit()

    with pytest.raises(IntegrityError):
        make_mention(slack_channel="C1", slack_ts="1700000000.000100")
    session.rollback()
    session.add(OutboxMessage(kind="alert", channel="C1", priority="P1", payload={},
                              dedupe_key=f"sla:{card.id}"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_source_usage_one_row_per_source_and_day(session):
    session.add(Source(id="x-search", type="x_search"))
    session.flush()
    session.add(SourceUsage(source_id="x-search", day=date(2026, 11, 23), reads=100))
    session.add(SourceUsage(source_id="x-search", day=date(2026, 11, 24)))
    session.flush()
    session.add(SourceUsage(source_id="x-search", day=date(2026, 11, 23)))
    with pytest.raises(IntegrityError):
        session.flush()


def test_processed_event_ids_are_unique(session):
    session.add(ProcessedEvent(event_id="Ev0123"))
    session.flush()
    session.add(ProcessedEvent(event_id="Ev0123"))
    with pytest.raises(IntegrityError):
        session.flush()


# --- time ---------------------------------------------------------------------------------

def test_datetimes_come_back_timezone_aware_utc(engine, session, make_mention):
    posted = datetime(2026, 11, 23, 10, 30, 15, 123456, tzinfo=SAST)  # 08:30:15Z
    m = make_mention(created_at=posted)
    session.commit()

    with make_session_factory(engine)() as other:
        if engine.dialect.name == "postgresql":
            # PostgreSQL answers in the session's zone; we still want UTC back.
            other.execute(text("SET TIME ZONE 'Asia/Kolkata'"))
        got = other.get(Mention, m.id)
        assert got.created_at == posted
        assert got.created_at.utcoffset() == timedelta(0)
        assert got.created_at.tzinfo is UTC
        assert got.created_at.hour == 8
        assert got.ingested_at.tzinfo is UTC  # the Python default is aware too


def test_datetimes_compare_and_sort_as_instants(session, make_mention):
    """SQLite compares timestamps as text: only right if every value is stored in UTC."""
    early = make_mention(created_at=datetime(2026, 11, 23, 10, 0, tzinfo=SAST))  # 08:00Z
    late = make_mention(created_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    session.commit()
    ordered = session.scalars(select(Mention.id).order_by(Mention.created_at)).all()
    assert ordered == [early.id, late.id]
    cutoff = datetime(2026, 11, 23, 10, 30, tzinfo=SAST)  # 08:30Z
    assert session.scalars(select(Mention.id).where(Mention.created_at > cutoff)).all() == \
        [late.id]


def test_naive_datetimes_are_refused(session, make_mention):
    with pytest.raises(StatementError, match="naive datetime"):
        make_mention(created_at=datetime(2026, 11, 23, 9, 0))


# --- the desk's compare-and-set -----------------------------------------------------------

def test_compare_and_set_has_one_winner(engine, session, make_mention):
    m = make_mention()
    session.commit()
    assert (m.status, m.version) == ("new", 0)

    def claim(user: str) -> int:
        stmt = (update(Mention)
                .where(Mention.id == m.id, Mention.status == "new", Mention.version == 0)
                .values(status="claimed", version=Mention.version + 1, claimed_by=user,
                        claimed_at=datetime.now(UTC)))
        with engine.begin() as conn:
            return conn.execute(stmt).rowcount

    assert claim("U_ANA") == 1
    assert claim("U_BEN") == 0  # the second click sees a changed row

    session.expire_all()
    got = session.get(Mention, m.id)
    assert (got.status, got.version, got.claimed_by) == ("claimed", 1, "U_ANA")


# --- JSON ---------------------------------------------------------------------------------

def test_json_columns_round_trip(engine, session, make_mention):
    parts = {"sentiment": 25.5, "reach": {"followers": 120_000, "weight": 0.3}, "rules": None}
    m = make_mention(score_parts=parts, risk=["legal", "reputational"],
                     matched_rules=["legal threat", "angry influencer"])
    blocks = {"blocks": [{"type": "section", "text": {"type": "mrkdwn",
                                                      "text": "Ünïcödé ✓ — “quotes” <&>"}}]}
    session.add(OutboxMessage(kind="card", channel="C1", priority="P1", payload=blocks,
                              mention_id=m.id))
    session.add(AuditEvent(mention_id=m.id, actor="U1", action="claim", from_status="new",
                           to_status="claimed"))
    session.commit()

    with make_session_factory(engine)() as other:
        got = other.get(Mention, m.id)
        assert got.score_parts == parts
        assert got.risk == ["legal", "reputational"]
        assert got.matched_rules == ["legal threat", "angry influencer"]
        assert other.scalars(select(OutboxMessage.payload)).one() == blocks
        assert other.scalars(select(AuditEvent.detail)).one() == {}  # the default


# --- defaults and vocabularies ------------------------------------------------------------

def test_server_defaults_for_rows_written_in_plain_sql(session, make_author):
    """The migration's defaults make a minimal INSERT valid (scripts, older code)."""
    author = make_author()
    session.execute(text(
        "INSERT INTO mention (network, external_id, text, author_id, ingested_at, compound, "
        "sentiment, author_type, score, score_parts, priority, team, risk, matched_rules) "
        "VALUES ('x', 'raw-1', 'hi', :a, :now, 0.0, 'neutral', 'customer', 10, '{}', 'P4', "
        "'support', '[]', '[]')"), {"a": author.id, "now": "2026-11-23 09:00:00+00:00"})
    row = session.execute(select(Mention.status, Mention.version, Mention.approval_required,
                                 Mention.mentions_brand)
                          .where(Mention.external_id == "raw-1")).one()
    assert tuple(row) == ("new", 0, False, False)


ENUMS = [
    # (table, column, every value the code may write)
    ("mention", "status", MENTION_STATUSES),
    ("mention", "priority", PRIORITIES),
    ("mention", "sentiment", SENTIMENT_LABELS),  # unknown: a language not read
    ("draft", "decision", DRAFT_DECISIONS),
    ("reply", "state", REPLY_STATES),
    ("outbox_message", "kind", OUTBOX_KINDS),
    ("outbox_message", "state", OUTBOX_STATES),
    ("outbox_message", "priority", PRIORITIES),
    ("correction", "field", CORRECTION_FIELDS),
]


@pytest.mark.parametrize(("table", "column", "values"), ENUMS,
                         ids=[f"{t}.{c}" for t, c, _ in ENUMS])
def test_vocabularies_match_the_check_constraints(session, make_mention, table, column, values):
    """Every value the code may write is accepted by the migrated schema; others are not."""
    m = make_mention()
    d = Draft(mention=m, text="hello", author="U1")
    session.add(d)
    session.flush()
    row = {
        "mention": lambda: m,
        "draft": lambda: d,
        "reply": lambda: Reply(mention=m, draft=d, network="x", idempotency_key="k",
                               sent_by="U1"),
        "outbox_message": lambda: OutboxMessage(kind="card", channel="C1", priority="P2",
                                                payload={}),
        "correction": lambda: Correction(mention=m, field="team", old_value="support",
                                         new_value="pr", by="U1"),
    }[table]()
    session.add(row)
    session.flush()
    model = type(row)
    for value in values:
        session.execute(update(model).where(model.id == row.id).values({column: value}))
    session.commit()

    with pytest.raises(IntegrityError):
        session.execute(update(model).where(model.id == row.id).values({column: "z"}))  # fits every length
    session.rollback()


@pytest.mark.parametrize("score", [-1, 101])
def test_score_is_between_0_and_100(session, make_mention, score):
    make_mention(score=0)
    make_mention(score=100)
    with pytest.raises(IntegrityError):
        make_mention(score=score)


def test_outbox_priorities_sort_most_urgent_first(session):
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for p, minutes in [("P3", 0), ("P1", 2), ("P4", 0), ("P1", 1), ("P2", 0)]:
        session.add(OutboxMessage(kind="card", channel="C1", priority=p, payload={"p": p},
                                  not_before=now + timedelta(minutes=minutes)))
    session.add(OutboxMessage(kind="card", channel="C1", priority="P1", payload={},
                              state="sent"))
    session.flush()
    due = session.execute(
        select(OutboxMessage.priority, OutboxMessage.not_before)
        .where(OutboxMessage.state == "pending", OutboxMessage.not_before <= now + timedelta(1))
        .order_by(OutboxMessage.priority, OutboxMessage.not_before)).all()
    assert [(p, nb - now) for p, nb in due] == [
        ("P1", timedelta(minutes=1)), ("P1", timedelta(minutes=2)), ("P2", timedelta(0)),
        ("P3", timedelta(0)), ("P4", timedelta(0))]


# --- deletes ------------------------------------------------------------------------------

def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _mention_with_everything(session, make_mention) -> Mention:
    session.add(Source(id="x-mentions", type="x_mentions"))
    m = make_mention(source_id="x-mentions")
    d = Draft(mention=m, text="We're on it", author="U1")
    session.add_all([
        d,
        Reply(mention=m, draft=d, network="x", idempotency_key="k1", sent_by="U1"),
        OutcomeTag(mention=m, outcome="resolved", tagged_by="U1"),
        Correction(mention=m, field="priority", old_value="P3", new_value="P1", by="U2"),
        AuditEvent(actor="system", action="rules_reloaded"),
        OutboxMessage(kind="card", channel="C1", priority="P1", payload={}),
    ])
    session.flush()
    session.add_all([
        AuditEvent(mention_id=m.id, actor="U1", action="claim", from_status="new",
                   to_status="claimed"),
        OutboxMessage(kind="update", channel="C1", priority="P1", payload={}, mention_id=m.id),
    ])
    session.commit()
    return m


@pytest.mark.parametrize("how", ["sql", "orm"])
def test_deleting_a_mention_deletes_its_work_but_keeps_the_audit_trail(
        session, make_mention, how):
    m = _mention_with_everything(session, make_mention)
    if how == "sql":  # what a retention job does: the database cascades
        session.execute(delete(Mention).where(Mention.id == m.id))
    else:
        session.delete(session.get(Mention, m.id))
    session.commit()

    for model in (Draft, Reply, OutcomeTag, Correction):
        assert _count(session, model) == 0, model.__name__
    assert session.scalars(select(OutboxMessage.mention_id)).all() == [None]  # the unrelated one
    audit = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert audit == ["rules_reloaded", "claim"]
    assert session.scalars(select(AuditEvent.mention_id)).all() == [None, None]


def test_deleting_a_source_keeps_its_mentions(session, make_mention):
    m = _mention_with_everything(session, make_mention)
    session.add(SourceUsage(source_id="x-mentions", day=date(2026, 11, 23), reads=3))
    session.commit()
    session.execute(delete(Source).where(Source.id == "x-mentions"))
    session.commit()
    session.expire_all()
    assert session.get(Mention, m.id).source_id is None
    assert _count(session, SourceUsage) == 0


def test_an_author_with_mentions_cannot_be_deleted(session, make_mention):
    m = make_mention()
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(text("DELETE FROM author WHERE id = :id"), {"id": m.author_id})


# --- engine and sessions ------------------------------------------------------------------

def test_session_scope_commits_or_rolls_back(engine, make_author):
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        s.add(Source(id="rss", type="rss"))
    with pytest.raises(RuntimeError), session_scope(factory) as s:
        s.add(Source(id="bluesky", type="bluesky_search"))
        s.flush()
        raise RuntimeError("boom")
    with factory() as s:
        assert s.scalars(select(Source.id)).all() == ["rss"]


def test_sqlite_connections_are_configured(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    with engine.connect() as first, engine.connect() as second:  # every connection
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    engine.dispose()


def test_postgresql_urls_use_psycopg3():
    for url in ("postgresql://bot@db/social", "postgres://bot@db/social",
                "postgresql+psycopg://bot@db/social"):
        engine = make_engine(url)
        assert engine.dialect.driver == "psycopg"
        assert engine.pool._pre_ping  # noqa: SLF001 - the setting itself is the point
        engine.dispose()
