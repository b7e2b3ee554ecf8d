"""mention extra: what a network needs beyond the post id to reply, like or repost

Bluesky replies need strong refs (uri + cid) of the post and of its thread root; the sources
already produce them in `Mention.extra`, and this column keeps them. Existing rows get `{}`.

Revision ID: 0394c441d7d9
Revises: 84bda48279d2
Create Date: 2026-11-23 14:45:04.712708+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0394c441d7d9'
down_revision: str | Sequence[str] | None = '84bda48279d2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extra', sa.JSON(), server_default=sa.text("'{}'"),
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_column('extra')
