"""quarantined posts, and the backfill of a source's gap

`quarantined_post` keeps a post that could not be parsed or stored (raw, with the reason),
so one bad post no longer fails its whole poll; `source.backfill`, `backfill_since` and
`backfill_reads` hold a gap left by a page cap until later polls have read it.

Revision ID: 5b8e2f4a7c31
Revises: 3e8a1c5f7b92
Create Date: 2026-12-05 21:40:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '5b8e2f4a7c31'
down_revision: str | Sequence[str] | None = '3e8a1c5f7b92'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'quarantined_post',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('source_id', sa.String(length=64), nullable=True),
        sa.Column('network', sa.String(length=16), nullable=False),
        sa.Column('external_id', sa.Text(), nullable=True),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('raw', sa.Text(), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('times', sa.Integer(), server_default=sa.text('1'), nullable=False),
        sa.ForeignKeyConstraint(['source_id'], ['source.id'],
                                name=op.f('fk_quarantined_post_source_id_source'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantined_post')),
        sa.UniqueConstraint('fingerprint', name=op.f('uq_quarantined_post_fingerprint')),
    )
    with op.batch_alter_table('quarantined_post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantined_post_source_id'), ['source_id'],
                              unique=False)
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.add_column(sa.Column('backfill', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('backfill_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('backfill_reads', sa.Integer(), server_default=sa.text('0'),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('source', schema=None) as batch_op:
        batch_op.drop_column('backfill_reads')
        batch_op.drop_column('backfill_since')
        batch_op.drop_column('backfill')
    with op.batch_alter_table('quarantined_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantined_post_source_id'))
    op.drop_table('quarantined_post')
