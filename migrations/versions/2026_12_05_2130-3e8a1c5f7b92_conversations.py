"""conversations: thread_post (follow-ups, context, answers made outside socialbot) and the
conversation's state on its card's mention

Existing mentions have had no follow-up; their replies answered the mention itself.

Revision ID: 3e8a1c5f7b92
Revises: e3a7c5d1f802
Create Date: 2026-12-05 21:30:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '3e8a1c5f7b92'
down_revision: str | Sequence[str] | None = 'e3a7c5d1f802'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'thread_post',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('mention_id', BIG_ID, nullable=False),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.Text(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('author_handle', sa.String(length=255), nullable=False),
        sa.Column('author_name', sa.Text(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('in_reply_to_id', sa.Text(), nullable=True),
        sa.Column('priority', sa.String(length=2), nullable=False),
        sa.Column('sentiment', sa.String(length=16), nullable=False),
        sa.Column('extra', sa.JSON(), server_default=sa.text("'{}'"), nullable=False),
        sa.CheckConstraint("role IN ('follow_up', 'context', 'outside')",
                           name=op.f('ck_thread_post_role')),
        sa.ForeignKeyConstraint(['mention_id'], ['mention.id'],
                                name=op.f('fk_thread_post_mention_id_mention'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_post')),
        sa.UniqueConstraint('network', 'external_id',
                            name=op.f('uq_thread_post_network_external_id')),
    )
    op.create_index(op.f('ix_thread_post_mention_id_id'), 'thread_post', ['mention_id', 'id'])
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('follow_ups', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
        batch_op.add_column(sa.Column('customer_replied_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('awaiting_since', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('reply_to_post_id', BIG_ID, nullable=True))
        batch_op.add_column(sa.Column('priority_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('reopens', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thread_post_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reply_thread_post_id_thread_post'),
                                    'thread_post', ['thread_post_id'], ['id'],
                                    ondelete='SET NULL')
        batch_op.create_index(batch_op.f('ix_reply_network_network_id'),
                              ['network', 'network_id'])


def downgrade() -> None:
    with op.batch_alter_table('reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reply_network_network_id'))
        batch_op.drop_constraint(batch_op.f('fk_reply_thread_post_id_thread_post'),
                                 type_='foreignkey')
        batch_op.drop_column('thread_post_id')
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_column('reopens')
        batch_op.drop_column('priority_reason')
        batch_op.drop_column('reply_to_post_id')
        batch_op.drop_column('awaiting_since')
        batch_op.drop_column('customer_replied_at')
        batch_op.drop_column('follow_ups')
    op.drop_index(op.f('ix_thread_post_mention_id_id'), table_name='thread_post')
    op.drop_table('thread_post')
