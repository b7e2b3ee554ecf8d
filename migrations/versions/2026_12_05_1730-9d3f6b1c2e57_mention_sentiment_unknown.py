"""mention sentiment unknown: a post in a language scoring has no weights for

The sentiment CHECK constraint gains `unknown` (bot.domain.rules.schema.SENTIMENT_LABELS);
existing rows are unchanged.

Revision ID: 9d3f6b1c2e57
Revises: 7c1e5a2b9d40
Create Date: 2026-12-05 17:30:00.000000+00:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '9d3f6b1c2e57'
down_revision: str | Sequence[str] | None = '7c1e5a2b9d40'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in bot.domain.rules.schema.SENTIMENT_LABELS before and at this revision.
BEFORE = ('negative', 'neutral', 'positive')
AFTER = (*BEFORE, 'unknown')


def _set(values: tuple[str, ...]) -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_mention_sentiment'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_mention_sentiment'),
                                         f"sentiment IN ({', '.join(repr(v) for v in values)})")


def upgrade() -> None:
    _set(AFTER)


def downgrade() -> None:
    # The old constraint could not hold `unknown`: such posts read as neutral again.
    op.execute("UPDATE mention SET sentiment = 'neutral' WHERE sentiment = 'unknown'")
    _set(BEFORE)
