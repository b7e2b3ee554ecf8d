"""report index: complaints and languages

`ix_mention_report` gains `complaint` and `lang`, so the report's period scans (the counts,
which now count complaints, and the languages) stay index-only. Rebuilding it reads the whole
table once.

Revision ID: d3f5a7c9e1b2
Revises: b7e4d2a9c1f6
Create Date: 2026-12-07 13:00:00.000000+00:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'd3f5a7c9e1b2'
down_revision: str | Sequence[str] | None = 'b7e4d2a9c1f6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in bot.kit.models.REPORT_INDEX_COLUMNS before and at this revision (a migration never
# imports models).
BEFORE = ['ingested_at', 'team', 'network', 'sentiment', 'priority', 'status', 'outcome',
          'sla_due_at', 'first_response_at', 'closed_at', 'author_id', 'id']
AFTER = ['ingested_at', 'team', 'network', 'sentiment', 'priority', 'status', 'outcome',
         'complaint', 'lang', 'sla_due_at', 'first_response_at', 'closed_at', 'author_id', 'id']


def _rebuild(columns: list[str]) -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index('ix_mention_report')
        batch_op.create_index('ix_mention_report', columns, unique=False)


def upgrade() -> None:
    _rebuild(AFTER)


def downgrade() -> None:
    _rebuild(BEFORE)
