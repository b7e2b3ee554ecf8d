"""home viewer: who has opened the App Home, shared by replicas and kept across restarts

The App Home is republished after the desk changes that concern a user, but only for users
who have opened it (Slack publishes a Home for anyone, and most never look). That set was kept
in each process's memory, so a change handled by another replica, or made after a restart,
missed users until they opened the tab again.

Revision ID: 6d2f0b9e4c17
Revises: a41c9e7d2b58
Create Date: 2026-11-27 12:00:00.000000+00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '6d2f0b9e4c17'
down_revision: str | Sequence[str] | None = 'a41c9e7d2b58'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'home_viewer',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_home_viewer')),
    )


def downgrade() -> None:
    op.drop_table('home_viewer')
