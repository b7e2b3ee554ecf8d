"""The stored form of the desk: SQLAlchemy 2.0 typed models.

Names follow ARCHITECTURE.md: a `Mention` is `mention` in code, in the database and in Slack.
The schema itself is created by the Alembic migrations in `migrations/`; a change here needs a
new revision (`alembic revision --autogenerate -m "..."`), and `alembic check` (run by the
integration tests on SQLite and PostgreSQL) fails when the two disagree.

Conventions:
- every timestamp is a `UTCDateTime`: timezone-aware UTC in Python on every backend;
- fixed vocabularies (statuses, priorities, states) are strings guarded by CHECK constraints,
  not database ENUM types, so adding a value is a one-line migration on both backends; a
  mention's status and an outbox row's kind read back as their `StrEnum` (`stored_enum`);
- JSON columns are not mutation-tracked: assign a new list/dict, don't `.append()` in place;
- `server_default` only where a row written by plain SQL (or an older version of the code)
  must still be valid: statuses, counters and flags. Everything else is a Python `default`.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import text as sql_text  # `text` is also a column name below
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import ColumnElement

from bot.domain.conversation import THREAD_ROLES
from bot.domain.outbox import OUTBOX_KINDS, OutboxKind
from bot.domain.rules.schema import (  # P1 is the most urgent; sorts as text
    PRIORITIES,
    SENTIMENT_LABELS,
)
from bot.domain.workflow import MENTION_STATUSES, MentionStatus  # the state machine owns them
from bot.kit.db import UTCDateTime, utcnow

# Deterministic constraint names, so migrations can drop and alter them by name on every
# backend (SQLite and PostgreSQL would otherwise invent different ones, or none).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The vocabularies the database enforces. `bot.domain.workflow` moves mentions between these
# statuses; the CHECK constraints below are the last line of defence, not the logic.
DRAFT_DECISIONS = ("approved", "rejected")
REPLY_STATES = ("sending", "sent", "unknown", "failed")
OUTBOX_STATES = ("pending", "sending", "sent", "failed", "folded", "parked")
CORRECTION_FIELDS = ("sentiment", "priority", "author_type", "team", "complaint")

# Integer surrogate keys: BIGINT on PostgreSQL; on SQLite only a column declared exactly
# INTEGER PRIMARY KEY is the auto-incrementing rowid, so the variant says INTEGER there.
BigId = BigInteger().with_variant(Integer(), "sqlite")
SlackId = String(32)  # user, channel, message ts (U0123…, C0123…, 1700000000.123456)
Network = String(16)  # x | mastodon | bluesky | rss | reddit | … (bot.domain.mention.NETWORKS)


class EmptyJSONObject(ColumnElement[Any]):
    """`'{}'` as the server default of a JSON column, spelled the way each backend reflects it.

    PostgreSQL reports the default of a `json` column as `'{}'::json`, and `json` has no `=`
    operator, so Alembic's drift check (which compares unequal spellings by running
    `SELECT a = b` on the server) cannot compare a plain `'{}'`; SQLite reports `'{}'`."""

    inherit_cache = True


@compiles(EmptyJSONObject)
def _empty_json_default(element: EmptyJSONObject, compiler: Any, **kw: Any) -> str:
    return "'{}'"


@compiles(EmptyJSONObject, "postgresql")
def _empty_json_default_pg(element: EmptyJSONObject, compiler: Any, **kw: Any) -> str:
    return "'{}'::json"


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def stored_enum(enum: type[StrEnum], length: int) -> Enum:
    """A column of `enum` members stored as their string values in a plain VARCHAR(length):
    no database ENUM type and no constraint of its own (the table's CHECK constraint lists the
    values), so the schema is the one a `String(length)` column has. Read back as members;
    plain strings are written as they are, and judged by that CHECK constraint."""
    return Enum(enum, native_enum=False, create_constraint=False, length=length,
                values_callable=lambda members: [m.value for m in members])


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # A bare `Mapped[datetime]` can only ever mean an aware UTC timestamp.
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def table_of(model: type[Base]) -> Table:
    """`model.__table__` as the `Table` it is, for Core statements (bulk inserts, executemany
    updates). Declarative types the attribute as any `FromClause` (a class may be mapped to a
    join or a select); every model here has a `__tablename__`, so its table is a `Table`."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


class Source(Base):
    """Polling state of one `sources[]` entry of the rules file; the id is the rules' id."""

    __tablename__ = "source"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # x_mentions, rss, … (rules_schema.SourceType)
    # Where the next poll resumes: X since_id, Mastodon min_id, Bluesky cursor.
    cursor: Mapped[str | None] = mapped_column(Text)
    # Conditional GET for RSS; both echoed back verbatim, so stored as the server sent them.
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
    last_error_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set when polling is suspended (bad credentials, budget spent); shown on App Home.
    unhealthy_reason: Mapped[str | None] = mapped_column(Text)
    next_run_at: Mapped[datetime | None]
    backlog: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    # Consecutive failed polls: the exponent of the backoff; reset by a success.
    failures: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    # A gap: posts older than what the last poll read and newer than the cursor it started
    # from, left by a page cap. The source's own resume token (JSON; bot.networks.gaps), read
    # on the next polls until the gap is closed; when it opened, and the posts read closing it.
    backfill: Mapped[str | None] = mapped_column(Text)
    backfill_since: Mapped[datetime | None]
    backfill_reads: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    # How far into each watched conversation the polls have read (JSON; SourceState.marks).
    marks: Mapped[str | None] = mapped_column(Text)


class QuarantinedPost(Base):
    """A post that could not be parsed or stored, kept raw instead of failing its whole poll
    (bot.listening.quarantine). One row per post (`fingerprint`: network + id, or the raw
    text's hash when there is no id), counted each time a poll meets it again."""

    __tablename__ = "quarantined_post"
    __table_args__ = (UniqueConstraint("fingerprint"), Index(None, "source_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 hex
    source_id: Mapped[str | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    network: Mapped[str] = mapped_column(Network)
    external_id: Mapped[str | None] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16))  # parse | store
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)  # the post as the network sent it (capped)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    times: Mapped[int] = mapped_column(default=1, server_default=sql_text("1"))


class SourceUsage(Base):
    """Posts read per source per UTC day: the X pay-per-use cost meter."""

    __tablename__ = "source_usage"
    __table_args__ = (UniqueConstraint("source_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id", ondelete="CASCADE"))
    day: Mapped[date]
    reads: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))


class Author(Base):
    """One person or account on one network, however many mentions they write."""

    __tablename__ = "author"
    __table_args__ = (
        UniqueConstraint("network", "handle"),
        Index(None, "followers"),  # a report's top authors by reach
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network: Mapped[str] = mapped_column(Network)
    # Normalised by ingest (no `@`, lowercased where the network is case-insensitive), so
    # the unique key really means one row per account.
    handle: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(Text)  # stable across handle renames
    name: Mapped[str | None] = mapped_column(Text)
    followers: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    author_type: Mapped[str] = mapped_column(String(16))  # computed from the rules
    type_override: Mapped[str | None] = mapped_column(String(16))  # set by staff, wins
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    mention_count: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    last_outcome: Mapped[str | None] = mapped_column(String(32))


# Leading `ingested_at` (the period), then what the report groups, filters and measures on.
REPORT_INDEX_COLUMNS = ("ingested_at", "team", "network", "sentiment", "priority", "status",
                        "outcome", "complaint", "lang", "sla_due_at", "first_response_at",
                        "closed_at", "author_id", "id")


class Mention(Base):
    """A post about the brand, stored once, scored, routed, and worked through the desk."""

    __tablename__ = "mention"
    __table_args__ = (
        # Dedupe: a source may see the same post twice (overlapping polls, two queries).
        UniqueConstraint("network", "external_id"),
        # The Slack card: thread replies and message events find their mention by it.
        UniqueConstraint("slack_channel", "slack_ts"),
        CheckConstraint(_one_of("status", MENTION_STATUSES), name="status"),
        CheckConstraint(_one_of("priority", PRIORITIES), name="priority"),
        CheckConstraint(_one_of("sentiment", SENTIMENT_LABELS), name="sentiment"),
        CheckConstraint("score BETWEEN 0 AND 100", name="score"),
        # Report queries: per team over time, queues by status and priority, SLA timers.
        Index(None, "team", "ingested_at"),
        Index(None, "status"),
        # The report's period scan (bot.reports): every column its counts read, so the scan
        # is index-only; it also serves every other range query on ingested_at.
        Index("ix_mention_report", *REPORT_INDEX_COLUMNS),
        Index(None, "priority", "status"),
        Index(None, "author_id", "ingested_at"),  # an author's mentions in a period
        Index(None, "sla_due_at"),
        Index(None, "sla_next_at"),  # the SLA job's one query (bot.timers.sla)
        # The App Home's "claimed by you"; partial, so ingest (no claimer yet) pays nothing.
        Index("ix_mention_claimed_by", "claimed_by",
              sqlite_where=sql_text("claimed_by IS NOT NULL"),
              postgresql_where=sql_text("claimed_by IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    network: Mapped[str] = mapped_column(Network)
    external_id: Mapped[str] = mapped_column(Text)  # tweet id, status id, at:// uri, entry id
    # SET NULL: removing a source from the rules must not take its history with it.
    source_id: Mapped[str | None] = mapped_column(ForeignKey("source.id", ondelete="SET NULL"))
    url: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(16))
    # No ON DELETE: an author with mentions is not deleted by accident.
    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("author.id"))
    created_at: Mapped[datetime | None]  # when it was posted, if the network says
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Scoring and routing, written once by ingest (bot.domain.scoring.enrich, bot.domain.scoring.routing).
    compound: Mapped[float] = mapped_column(Float)  # VADER compound, -1..1
    sentiment: Mapped[str] = mapped_column(String(16))
    # bot.domain.scoring.complaint: flagged a complaint, and the model's probability (0..1).
    complaint: Mapped[bool] = mapped_column(default=False, server_default=false())
    complaint_probability: Mapped[float] = mapped_column(Float, default=0.0,
                                                         server_default=sql_text("0"))
    author_type: Mapped[str] = mapped_column(String(16))  # the author's type at the time
    score: Mapped[int]  # 0..100
    score_parts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[str] = mapped_column(String(2))
    team: Mapped[str] = mapped_column(String(64))
    risk: Mapped[list[str]] = mapped_column(JSON, default=list)
    approval_required: Mapped[bool] = mapped_column(default=False, server_default=false())
    outcome_hint: Mapped[str | None] = mapped_column(String(32))
    matched_rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    # X only lets the brand reply programmatically to posts that mention or quote it.
    mentions_brand: Mapped[bool] = mapped_column(default=False, server_default=false())
    in_reply_to_id: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(Text)
    # What a network needs beyond the id to act on the post: Bluesky's uri/cid and its thread
    # root's uri/cid (the strong refs of a reply), Mastodon's notification id and visibility.
    # The server default keeps rows written before this column (or by plain SQL) valid.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict,
                                                  server_default=EmptyJSONObject())

    # The desk. Every transition is `UPDATE … WHERE id=:id AND status=:s AND version=:v`
    # with `version = version + 1`: two clicks, one winner (see bot.domain.workflow).
    status: Mapped[MentionStatus] = mapped_column(stored_enum(MentionStatus, 20),
                                                  default=MentionStatus.NEW, server_default="new")
    version: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    claimed_by: Mapped[str | None] = mapped_column(SlackId)
    claimed_at: Mapped[datetime | None]
    slack_channel: Mapped[str | None] = mapped_column(SlackId)
    slack_ts: Mapped[str | None] = mapped_column(SlackId)
    sla_due_at: Mapped[datetime | None]
    # When the SLA job next has something to do: the 75 % reminder, then the due time, then
    # NULL (escalated, or no SLA). Set with sla_due_at (bot.domain.sla.timer); moved by the job.
    sla_next_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))

    # The conversation (bot.domain.conversation, bot.listening.threading): the customer's
    # follow-ups so far, when the latest came, since when they have been waiting for us
    # (NULL: answered), and the post a reply answers by default (a `thread_post` id; NULL:
    # this mention). No foreign key: thread_post points here, and a cycle of foreign keys
    # makes every backend's DROP and SQLite's batch migrations order-dependent.
    follow_ups: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    customer_replied_at: Mapped[datetime | None]
    awaiting_since: Mapped[datetime | None]
    reply_to_post_id: Mapped[int | None] = mapped_column(BigId)
    # Why the priority is what it is when a follow-up raised it (never lowered).
    priority_reason: Mapped[str | None] = mapped_column(Text)
    reopens: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))

    @classmethod
    def overdue(cls, now: datetime) -> ColumnElement[bool]:
        """SQL twin of `bot.domain.sla.is_overdue`: due at or before `now` (NULL: never)."""
        return cls.sla_due_at <= now

    author: Mapped[Author] = relationship()
    source: Mapped[Source | None] = relationship()
    # passive_deletes: the database's ON DELETE CASCADE removes children, so deleting a
    # mention doesn't first load every draft to delete them one by one.
    drafts: Mapped[list[Draft]] = relationship(
        back_populates="mention", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Draft.id")
    replies: Mapped[list[Reply]] = relationship(
        back_populates="mention", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Reply.id")
    outcome_tags: Mapped[list[OutcomeTag]] = relationship(
        back_populates="mention", cascade="all, delete-orphan", passive_deletes=True,
        order_by="OutcomeTag.id")


class Draft(Base):
    """A proposed reply; approval decisions are recorded on the draft they judged."""

    __tablename__ = "draft"
    __table_args__ = (
        CheckConstraint(_one_of("decision", DRAFT_DECISIONS), name="decision"),
        Index(None, "mention_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mention.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(SlackId)  # Slack user id of the drafter
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(16))  # NULL: not (yet) judged
    decided_by: Mapped[str | None] = mapped_column(SlackId)
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)  # why it was rejected

    mention: Mapped[Mention] = relationship(back_populates="drafts")
    reply: Mapped[Reply | None] = relationship(
        back_populates="draft", cascade="all, delete-orphan", passive_deletes=True)


class Reply(Base):
    """A reply sent (or being sent) to the network, exactly once.

    The row is committed in state `sending` BEFORE the network call. After a crash, a
    `sending` row means "maybe sent": it becomes `unknown` for a human to check, and is
    never retried blindly. `idempotency_key` makes a second attempt for the same draft
    fail on insert instead of posting twice.
    """

    __tablename__ = "reply"
    __table_args__ = (
        CheckConstraint(_one_of("state", REPLY_STATES), name="state"),
        Index(None, "mention_id"),
        # Ingest's "does this post answer one of our replies" (bot.listening.threading).
        Index(None, "network", "network_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mention.id", ondelete="CASCADE"))
    draft_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("draft.id", ondelete="CASCADE"), unique=True)
    network: Mapped[str] = mapped_column(Network)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="sending", server_default="sending")
    network_id: Mapped[str | None] = mapped_column(Text)  # the remote post id, once sent
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # when `sending` was written
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[str] = mapped_column(SlackId)
    error: Mapped[str | None] = mapped_column(Text)
    # The customer's post it answers when that is a follow-up, not the mention itself.
    thread_post_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("thread_post.id", ondelete="SET NULL"))

    mention: Mapped[Mention] = relationship(back_populates="replies")
    thread_post: Mapped[ThreadPost | None] = relationship()
    draft: Mapped[Draft] = relationship(back_populates="reply")


class ThreadPost(Base):
    """A post in a card's conversation that is not a card itself (bot.domain.conversation):
    the customer's follow-up, someone else's context, the brand answering outside socialbot.
    Shown in the card's thread; `(network, external_id)` is unique across this table and
    `mention` together (ingest checks both), so a post is stored once, whatever replicas do."""

    __tablename__ = "thread_post"
    __table_args__ = (
        CheckConstraint(_one_of("role", THREAD_ROLES), name="role"),
        UniqueConstraint("network", "external_id"),
        Index(None, "mention_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The conversation's card. CASCADE: a deleted mention takes its thread with it.
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mention.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(Network)
    external_id: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    author_handle: Mapped[str] = mapped_column(String(255))  # normalised, as on `author`
    author_name: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None]
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)
    in_reply_to_id: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(2))  # as ingest scored the post alone
    sentiment: Mapped[str] = mapped_column(String(16))
    # What replying to it needs (Bluesky's strong refs, Mastodon's visibility), as on mention.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict,
                                                  server_default=EmptyJSONObject())

    mention: Mapped[Mention] = relationship()

    @property
    def author(self) -> _Handle:
        """For `bot.networks.base.Target.of`, which reads `author.handle`."""
        return _Handle(self.author_handle)


class _Handle:
    __slots__ = ("handle",)

    def __init__(self, handle: str) -> None:
        self.handle = handle


class OutcomeTag(Base):
    """What came of a mention (rules `outcomes`); several per mention, each at most once."""

    __tablename__ = "outcome_tag"
    __table_args__ = (UniqueConstraint("mention_id", "outcome"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mention.id", ondelete="CASCADE"))
    outcome: Mapped[str] = mapped_column(String(32))
    tagged_by: Mapped[str] = mapped_column(SlackId)
    tagged_at: Mapped[datetime] = mapped_column(default=utcnow)

    mention: Mapped[Mention] = relationship(back_populates="outcome_tags")


class Correction(Base):
    """Staff fixed what the scoring got wrong: the raw material for tuning the rules."""

    __tablename__ = "correction"
    __table_args__ = (
        CheckConstraint(_one_of("field", CORRECTION_FIELDS), name="field"),
        Index(None, "mention_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    mention_id: Mapped[int] = mapped_column(BigId, ForeignKey("mention.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16))
    old_value: Mapped[str | None] = mapped_column(String(64))
    new_value: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(SlackId)  # `by` is an SQL keyword: quote it in raw SQL
    at: Mapped[datetime] = mapped_column(default=utcnow)

    mention: Mapped[Mention] = relationship()


class AuditEvent(Base):
    """Who did what to which mention, when: one row per transition. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (Index(None, "mention_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Nullable: some events concern no mention (a source failing, rules reloaded), and
    # SET NULL keeps the trail when a mention is deleted.
    mention_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("mention.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # Slack user id, or "system"
    action: Mapped[str] = mapped_column(String(32))  # claim, draft, approve, …
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboxMessage(Base):
    """A Slack post waiting for its turn under the per-channel rate limit.

    The sender takes `pending` rows whose `not_before` has passed, most urgent priority
    first. `folded` rows were merged into a digest instead of being posted one by one.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(_one_of("kind", OUTBOX_KINDS), name="kind"),
        CheckConstraint(_one_of("state", OUTBOX_STATES), name="state"),
        CheckConstraint(_one_of("priority", PRIORITIES), name="priority"),
        Index(None, "state", "priority", "not_before"),  # the sender's query
        Index(None, "mention_id"),
        # "nothing else queued for this mention" (queue.foldable: the flood check and the held
        # cards of each round) reads only unfinished rows. Without it PostgreSQL, whose
        # statistics say few rows are pending (fresh tables, or a big table before autovacuum
        # analyzes it), matched each of 10,000 pending cards against every pending row:
        # 1.4-3.2 s a round per replica in a storm, 27-51 ms with it (bench/storm.py --pg).
        Index("ix_outbox_message_open_mention", "mention_id",
              sqlite_where=sql_text("state IN ('pending', 'sending')"),
              postgresql_where=sql_text("state IN ('pending', 'sending')")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[OutboxKind] = mapped_column(stored_enum(OutboxKind, 16))
    channel: Mapped[str] = mapped_column(SlackId)
    # CASCADE: a post about a deleted mention has nothing left to say.
    mention_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("mention.id", ondelete="CASCADE"))
    priority: Mapped[str] = mapped_column(String(2))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # chat.postMessage/update kwargs
    state: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default=sql_text("0"))
    # NOT NULL (now, for "as soon as possible") keeps the sender's query a plain range scan.
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    slack_ts: Mapped[str | None] = mapped_column(SlackId)
    error: Mapped[str | None] = mapped_column(Text)
    # "Post this at most once" (e.g. one SLA alert per mention): the insert fails instead.
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)


class ProcessedEvent(Base):
    """Slack retries events it thinks we missed; an `event_id` seen here is ignored."""

    __tablename__ = "processed_event"
    # received_at: old rows are pruned by age (Slack retries within minutes, not days).
    __table_args__ = (Index(None, "received_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class HomeViewer(Base):
    """A Slack user who has opened the App Home: their Home is kept current after the desk
    changes that concern them (bot.home.refresh), by whichever replica handles the change, and
    across restarts."""

    __tablename__ = "home_viewer"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """A crisis alert raised by the spike job (bot.timers.alerts): one row per storm.

    The Slack message is posted by the outbox row `outbox_id` and rendered from this row, so
    an update (`version` > `shown_version`) re-renders it with the storm's latest figures.
    `dedupe_key` names the alert it follows (`spike:after:<previous id>`): two replicas that
    see the same storm start compute the same key, and only one insert succeeds.
    """

    __tablename__ = "alert"
    __table_args__ = (Index(None, "kind", "last_seen_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # spike
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    channel: Mapped[str] = mapped_column(SlackId)
    raised_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]  # the last run that found the storm still over threshold
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    count: Mapped[int]  # mentions in the latest window (overall)
    peak: Mapped[int]  # the largest window count seen during the storm
    # What the message shows: the metrics over threshold, top authors, words, rules, cards.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1, server_default=sql_text("1"))
    shown_version: Mapped[int] = mapped_column(default=1, server_default=sql_text("1"))
    # SET NULL: pruning old outbox rows must not delete the alert history reports read.
    outbox_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("outbox_message.id", ondelete="SET NULL"))
    slack_ts: Mapped[str | None] = mapped_column(SlackId)  # copied from the outbox once sent
    crisis_opened_by: Mapped[str | None] = mapped_column(SlackId)
    crisis_opened_at: Mapped[datetime | None]
