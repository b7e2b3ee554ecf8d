"""correction complaint: staff correct the complaint flag (the correction modal's second select)

The correction `field` CHECK constraint gains `complaint` (bot.kit.models.CORRECTION_FIELDS);
its values are `complaint` / `not_complaint`. Existing rows are unchanged.

Revision ID: a4c2e8f61b37
Revises: 5b8e2f4a7c31
Create Date: 2026-12-06 01:30:00.000000+00:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'a4c2e8f61b37'
down_revision: str | Sequence[str] | None = '5b8e2f4a7c31'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in bot.kit.models.CORRECTION_FIELDS before and at this revision.
BEFORE = ('sentiment', 'priority', 'author_type', 'team')
AFTER = (*BEFORE, 'complaint')


def _set(values: tuple[str, ...]) -> None:
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_correction_field'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_correction_field'),
                                         f"field IN ({', '.join(repr(v) for v in values)})")


def upgrade() -> None:
    _set(AFTER)


def downgrade() -> None:
    # The old constraint could not hold them: complaint corrections are dropped.
    op.execute("DELETE FROM correction WHERE field = 'complaint'")
    _set(BEFORE)
