"""mention claimed_by index: the App Home's "claimed by you" without a scan

A partial index (rows with a claimer only): a new mention has none, so ingest pays nothing for
it, and a Home lookup `claimed_by = :user` reads only that person's claims. Before it, a Home
with 150,000 open mentions took 160-180 ms a list on SQLite (and is now republished after
every change that concerns its user).

Revision ID: a41c9e7d2b58
Revises: cf6e6e75a9d0
Create Date: 2026-11-27 11:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'a41c9e7d2b58'
down_revision: str | Sequence[str] | None = 'cf6e6e75a9d0'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMED = sa.text("claimed_by IS NOT NULL")


def upgrade() -> None:
    op.create_index('ix_mention_claimed_by', 'mention', ['claimed_by'], unique=False,
                    sqlite_where=CLAIMED, postgresql_where=CLAIMED)


def downgrade() -> None:
    op.drop_index('ix_mention_claimed_by', table_name='mention')
