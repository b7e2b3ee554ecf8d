"""mention complaint: the complaint flag and its probability (bot.domain.scoring.complaint)

Existing rows read as not a complaint, probability 0 (they were scored before the model).

Revision ID: 7c1e5a2b9d40
Revises: 6d2f0b9e4c17
Create Date: 2026-12-05 16:30:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '7c1e5a2b9d40'
down_revision: str | Sequence[str] | None = '6d2f0b9e4c17'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complaint', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('complaint_probability', sa.Float(),
                                      server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_column('complaint_probability')
        batch_op.drop_column('complaint')
