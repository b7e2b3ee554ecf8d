"""outbox parked: rows held back until an unhealable Slack error is fixed; failed cards revived

The CHECK constraint on `outbox_message.state` gains `parked` (bot.kit.models.OUTBOX_STATES).
Cards of open mentions that an earlier version gave up on after 5 failed attempts (5xx or
connection errors) are put back in `sending` with their lease run out: the sender looks for
each in its channel by its metadata first (posted → recorded; not posted → queued again), so
reviving them cannot post a card twice. Downgrading turns parked rows into failed ones.

Revision ID: e3a7c5d1f802
Revises: 9d3f6b1c2e57
Create Date: 2026-12-05 21:00:00.000000+00:00

"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = 'e3a7c5d1f802'
down_revision: str | Sequence[str] | None = '9d3f6b1c2e57'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in bot.kit.models.OUTBOX_STATES before and at this revision.
BEFORE = ('pending', 'sending', 'sent', 'failed', 'folded')
AFTER = (*BEFORE, 'parked')
# As in bot.domain.workflow.OPEN_STATUSES at this revision.
OPEN = ('new', 'claimed', 'drafted', 'pending_approval', 'approved')


def _set(values: tuple[str, ...]) -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_outbox_message_state'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_outbox_message_state'),
                                         f"state IN ({', '.join(repr(v) for v in values)})")


def upgrade() -> None:
    _set(AFTER)
    open_ = ', '.join(repr(s) for s in OPEN)
    op.execute(
        "UPDATE outbox_message SET state = 'sending', not_before = created_at "
        "WHERE state = 'failed' AND kind = 'card' "
        "AND (error LIKE 'HTTP 5%' OR error LIKE 'connection error%') "
        f"AND mention_id IN (SELECT id FROM mention WHERE status IN ({open_}))")


def downgrade() -> None:
    op.execute("UPDATE outbox_message SET state = 'failed' WHERE state = 'parked'")
    _set(BEFORE)
