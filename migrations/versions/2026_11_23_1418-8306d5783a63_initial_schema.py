"""initial schema: every table of the desk

Revision ID: 8306d5783a63
Revises:
Create Date: 2026-11-23 14:18:24.339099+00:00

Written to match bot/models.py exactly (`alembic check` is clean on SQLite and PostgreSQL).
Like every revision it is frozen: vocabularies in CHECK constraints are spelled out here,
not imported, so later changes to the models need a new revision.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '8306d5783a63'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'author',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('handle', sa.String(length=255), nullable=False),
        sa.Column('external_id', sa.Text(), nullable=True),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('followers', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('author_type', sa.String(length=16), nullable=False),
        sa.Column('type_override', sa.String(length=16), nullable=True),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('mention_count', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('last_outcome', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_author')),
        sa.UniqueConstraint('network', 'handle', name=op.f('uq_author_network_handle')),
    )

    op.create_table(
        'processed_event',
        sa.Column('event_id', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('event_id', name=op.f('pk_processed_event')),
    )
    op.create_index(op.f('ix_processed_event_received_at'), 'processed_event', ['received_at'])

    op.create_table(
        'source',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('type', sa.String(length=32), nullable=False),
        sa.Column('cursor', sa.Text(), nullable=True),
        sa.Column('etag', sa.Text(), nullable=True),
        sa.Column('last_modified', sa.Text(), nullable=True),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('unhealthy_reason', sa.Text(), nullable=True),
        sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('backlog', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_source')),
    )

    op.create_table(
        'mention',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.Text(), nullable=False),
        sa.Column('source_id', sa.String(length=64), nullable=True),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('lang', sa.String(length=16), nullable=True),
        sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('compound', sa.Float(), nullable=False),
        sa.Column('sentiment', sa.String(length=16), nullable=False),
        sa.Column('author_type', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('score_parts', sa.JSON(), nullable=False),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('team', sa.String(length=64), nullable=False),
        sa.Column('risk', sa.JSON(), nullable=False),
        sa.Column('approval_required', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('outcome_hint', sa.String(length=32), nullable=True),
        sa.Column('matched_rules', sa.JSON(), nullable=False),
        sa.Column('mentions_brand', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('in_reply_to_id', sa.Text(), nullable=True),
        sa.Column('conversation_id', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), server_default='new', nullable=False),
        sa.Column('version', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('claimed_by', sa.String(length=32), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('slack_channel', sa.String(length=32), nullable=True),
        sa.Column('slack_ts', sa.String(length=32), nullable=True),
        sa.Column('sla_due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=32), nullable=True),
        sa.CheckConstraint("priority IN ('P1', 'P2', 'P3', 'P4')", name=op.f('ck_mention_priority')),
        sa.CheckConstraint("sentiment IN ('negative', 'neutral', 'positive')", name=op.f('ck_mention_sentiment')),
        sa.CheckConstraint("status IN ('new', 'claimed', 'drafted', 'pending_approval', 'approved', 'sent', 'closed')", name=op.f('ck_mention_status')),
        sa.CheckConstraint('score BETWEEN 0 AND 100', name=op.f('ck_mention_score')),
        sa.ForeignKeyConstraint(['author_id'], ['author.id'], name=op.f('fk_mention_author_id_author')),
        sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_mention_source_id_source'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mention')),
        sa.UniqueConstraint('network', 'external_id', name=op.f('uq_mention_network_external_id')),
        sa.UniqueConstraint('slack_channel', 'slack_ts', name=op.f('uq_mention_slack_channel_slack_ts')),
    )
    op.create_index(op.f('ix_mention_author_id'), 'mention', ['author_id'])
    op.create_index(op.f('ix_mention_ingested_at'), 'mention', ['ingested_at'])
    op.create_index(op.f('ix_mention_priority_status'), 'mention', ['priority', 'status'])
    op.create_index(op.f('ix_mention_sla_due_at'), 'mention', ['sla_due_at'])
    op.create_index(op.f('ix_mention_status'), 'mention', ['status'])
    op.create_index(op.f('ix_mention_team_ingested_at'), 'mention', ['team', 'ingested_at'])

    op.create_table(
        'source_usage',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('source_id', sa.String(length=64), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reads', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_source_usage_source_id_source'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_source_usage')),
        sa.UniqueConstraint('source_id', 'day', name=op.f('uq_source_usage_source_id_day')),
    )

    op.create_table(
        'audit_event',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('from_status', sa.String(length=20), nullable=True),
        sa.Column('to_status', sa.String(length=20), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_audit_event_mention_id_mention'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    )
    op.create_index(op.f('ix_audit_event_mention_id_at'), 'audit_event', ['mention_id', 'at'])

    op.create_table(
        'correction',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('field', sa.String(length=16), nullable=False),
        sa.Column('old_value', sa.String(length=64), nullable=True),
        sa.Column('new_value', sa.String(length=64), nullable=False),
        sa.Column('by', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("field IN ('sentiment', 'priority', 'author_type', 'team')", name=op.f('ck_correction_field')),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_correction_mention_id_mention'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_correction')),
    )
    op.create_index(op.f('ix_correction_mention_id'), 'correction', ['mention_id'])

    op.create_table(
        'draft',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('author', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=True),
        sa.Column('decided_by', sa.String(length=32), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f('ck_draft_decision')),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_draft_mention_id_mention'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_draft')),
    )
    op.create_index(op.f('ix_draft_mention_id'), 'draft', ['mention_id'])

    op.create_table(
        'outbox_message',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
        sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('slack_ts', sa.String(length=32), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('dedupe_key', sa.String(length=255), nullable=True),
        sa.CheckConstraint("kind IN ('card', 'update', 'thread', 'digest', 'alert', 'dm', 'ephemeral')", name=op.f('ck_outbox_message_kind')),
        sa.CheckConstraint("priority IN ('P1', 'P2', 'P3', 'P4')", name=op.f('ck_outbox_message_priority')),
        sa.CheckConstraint("state IN ('pending', 'sending', 'sent', 'failed', 'folded')", name=op.f('ck_outbox_message_state')),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_outbox_message_mention_id_mention'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_message_dedupe_key')),
    )
    op.create_index(op.f('ix_outbox_message_mention_id'), 'outbox_message', ['mention_id'])
    op.create_index(op.f('ix_outbox_message_state_priority_not_before'), 'outbox_message', ['state', 'priority', 'not_before'])

    op.create_table(
        'outcome_tag',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.Column('tagged_by', sa.String(length=32), nullable=False),
        sa.Column('tagged_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_outcome_tag_mention_id_mention'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_tag')),
        sa.UniqueConstraint('mention_id', 'outcome', name=op.f('uq_outcome_tag_mention_id_outcome')),
    )

    op.create_table(
        'reply',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('mention_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('draft_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('idempotency_key', sa.String(length=128), nullable=False),
        sa.Column('state', sa.String(length=16), server_default='sending', nullable=False),
        sa.Column('network_id', sa.Text(), nullable=True),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_by', sa.String(length=32), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('sending', 'sent', 'unknown', 'failed')", name=op.f('ck_reply_state')),
        sa.ForeignKeyConstraint(['draft_id'], ['draft.id'], name=op.f('fk_reply_draft_id_draft'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], name=op.f('fk_reply_mention_id_mention'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply')),
        sa.UniqueConstraint('draft_id', name=op.f('uq_reply_draft_id')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_reply_idempotency_key')),
    )
    op.create_index(op.f('ix_reply_mention_id'), 'reply', ['mention_id'])


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes and constraints.
    op.drop_table('reply')
    op.drop_table('outcome_tag')
    op.drop_table('outbox_message')
    op.drop_table('draft')
    op.drop_table('correction')
    op.drop_table('audit_event')
    op.drop_table('source_usage')
    op.drop_table('mention')
    op.drop_table('source')
    op.drop_table('processed_event')
    op.drop_table('author')
