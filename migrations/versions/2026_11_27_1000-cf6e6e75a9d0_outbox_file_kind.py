"""outbox file kind: a file shared with files_upload_v2 (the weekly report's chart)

Only the CHECK constraint on `outbox_message.kind` changes. Downgrading deletes the `file`
rows first: the old constraint could not hold them.

Revision ID: cf6e6e75a9d0
Revises: 5e1f0c7a9b3d
Create Date: 2026-11-27 10:00:00.000000+00:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'cf6e6e75a9d0'
down_revision: str | Sequence[str] | None = '5e1f0c7a9b3d'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in bot.kit.models.OUTBOX_KINDS before and at this revision (a migration never imports models).
KINDS_BEFORE = ('card', 'update', 'thread', 'digest', 'alert', 'dm', 'ephemeral')
KINDS = (*KINDS_BEFORE, 'file')


def _one_of(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def _set_kinds(kinds: tuple[str, ...]) -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_message_kind'), _one_of(kinds))


def upgrade() -> None:
    _set_kinds(KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_message WHERE kind = 'file'")
    _set_kinds(KINDS_BEFORE)
