"""`mention.status` and `outbox_message.kind` as `StrEnum`s on a real database (SQLite, and
PostgreSQL when configured): stored as the same plain strings as before (the schema did not
change), read back as members, plain strings still accepted, unknown ones still refused by
the CHECK constraints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from bot.domain.outbox import OUTBOX_KINDS, OutboxKind
from bot.domain.workflow import MENTION_STATUSES, OPEN_STATUSES, MentionStatus
from bot.kit import models

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def outbox_row(session, kind, mention_id: int | None = None) -> models.OutboxMessage:
    message = models.OutboxMessage(kind=kind, channel="C0SUPPORT1", mention_id=mention_id,
                                   priority="P3", payload={}, not_before=NOW, created_at=NOW)
    session.add(message)
    session.flush()
    return message


def test_the_vocabularies_are_the_enum_values_as_plain_strings():
    assert MENTION_STATUSES == ("new", "claimed", "drafted", "pending_approval", "approved",
                                "sent", "closed")
    assert OUTBOX_KINDS == ("card", "update", "thread", "digest", "alert", "dm", "ephemeral",
                            "file")
    # Plain `str`: the CHECK constraints are written from their reprs.
    assert {type(v) for v in (*MENTION_STATUSES, *OUTBOX_KINDS)} == {str}
    assert models.MENTION_STATUSES is MENTION_STATUSES and models.OUTBOX_KINDS is OUTBOX_KINDS
    assert set(OPEN_STATUSES) < set(MentionStatus)


def test_status_and_kind_are_stored_as_strings_and_read_back_as_members(session, make_mention):
    m = make_mention()
    message = outbox_row(session, OutboxKind.THREAD, m.id)
    m.status = MentionStatus.PENDING_APPROVAL
    session.flush()
    stored = session.execute(text("SELECT status FROM mention WHERE id = :id"),
                             {"id": m.id}).scalar_one()
    kind = session.execute(text("SELECT kind FROM outbox_message WHERE id = :id"),
                           {"id": message.id}).scalar_one()
    assert (type(stored), stored, type(kind), kind) == (str, "pending_approval", str, "thread")
    session.expire_all()
    assert session.get(models.Mention, m.id).status is MentionStatus.PENDING_APPROVAL
    assert session.get(models.OutboxMessage, message.id).kind is OutboxKind.THREAD


def test_a_new_mention_is_new_and_plain_strings_still_work(session, make_mention):
    m = make_mention()
    assert m.status is MentionStatus.NEW
    m.status = "claimed"  # a member equals its string: either may be written
    outbox_row(session, "card", m.id)
    session.flush()
    session.expire_all()
    assert session.get(models.Mention, m.id).status is MentionStatus.CLAIMED
    assert session.scalar(select(models.Mention.id).where(
        models.Mention.status == "claimed", models.Mention.id == m.id)) == m.id
    assert session.scalar(select(models.OutboxMessage.kind).where(
        models.OutboxMessage.mention_id == m.id)) is OutboxKind.CARD


@pytest.mark.parametrize(("table", "column"), [("mention", "status"),
                                               ("outbox_message", "kind")])
def test_an_unknown_value_is_still_refused_by_the_database(session, make_mention, table, column):
    m = make_mention()
    message = outbox_row(session, OutboxKind.CARD, m.id)
    row_id = m.id if table == "mention" else message.id
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(text(f"UPDATE {table} SET {column} = 'bogus' WHERE id = :id"),
                        {"id": row_id})
    with pytest.raises(IntegrityError), session.begin_nested():
        if table == "mention":
            m.status = "bogus"
        else:
            message.kind = "bogus"
        session.flush()
