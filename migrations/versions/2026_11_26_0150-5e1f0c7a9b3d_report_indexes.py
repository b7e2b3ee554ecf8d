"""report indexes: the period scan index-only, top authors from the author side

`ix_mention_report` leads with `ingested_at` (so it replaces `ix_mention_ingested_at` for every
range query on it) and carries every column a report counts by, so a 30-day report over a
large table reads the index, not the table (PostgreSQL: index-only once vacuumed).
`ix_mention_author_id` gains `ingested_at` (an author's mentions in a period) and
`ix_author_followers` lists authors by reach. Building them reads the whole table once.

Revision ID: 5e1f0c7a9b3d
Revises: cb15543fd898
Create Date: 2026-11-26 01:50:00.000000+00:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '5e1f0c7a9b3d'
down_revision: str | Sequence[str] | None = 'cb15543fd898'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in bot.kit.models.REPORT_INDEX_COLUMNS at this revision (a migration never imports models).
REPORT_COLUMNS = ['ingested_at', 'team', 'network', 'sentiment', 'priority', 'status',
                  'outcome', 'sla_due_at', 'first_response_at', 'closed_at', 'author_id', 'id']


def upgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index('ix_mention_report', REPORT_COLUMNS, unique=False)
        batch_op.drop_index(batch_op.f('ix_mention_ingested_at'))
        batch_op.create_index(batch_op.f('ix_mention_author_id_ingested_at'),
                              ['author_id', 'ingested_at'], unique=False)
        batch_op.drop_index(batch_op.f('ix_mention_author_id'))

    with op.batch_alter_table('author', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_author_followers'), ['followers'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('author', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_author_followers'))

    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mention_author_id'), ['author_id'], unique=False)
        batch_op.drop_index(batch_op.f('ix_mention_author_id_ingested_at'))
        batch_op.create_index(batch_op.f('ix_mention_ingested_at'), ['ingested_at'],
                              unique=False)
        batch_op.drop_index('ix_mention_report')
