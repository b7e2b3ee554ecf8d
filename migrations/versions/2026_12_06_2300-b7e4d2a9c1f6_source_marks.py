"""source marks: how far into each watched conversation the last poll read

`source.marks`: JSON, conversation root → the newest reply read (bot.networks.threads
.conversations). A busy conversation's next top-down read stops at the page holding it, instead
of reading down to its floor again and hitting the page cap over replies already stored.

Revision ID: b7e4d2a9c1f6
Revises: 7c1d9e3a5f20
Create Date: 2026-12-06 23:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'b7e4d2a9c1f6'
down_revision: str | Sequence[str] | None = '7c1d9e3a5f20'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("source", sa.Column("marks", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source") as batch:
        batch.drop_column("marks")
