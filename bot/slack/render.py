"""Outbox row → the body of the Slack message it becomes (`text` + `blocks`; for a `file` row,
the file: `file`, `filename`, `title`).

Rendered when the row is sent, not when it was queued, so a card always shows the mention as
it is now (three quick clicks → one `chat.update` with the final state). Reads the database,
builds plain values (`desk.card_view`), hands them to the pure builders (`bot.slack.blocks`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.desk import commands as desk
from bot.desk.directory import Approvers
from bot.domain.limits import NoReplyChannel, reply_length, reply_limit
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.reports import weekly
from bot.slack import blocks
from bot.slack.blocks import sla as sla_blocks
from bot.timers import alerts

DIGEST_ITEMS_MAX = 200  # read at most this many folded mentions for one digest


class Renderer:
    def __init__(self, rules: Callable[[], Rules], directory: Approvers,
                 clock: Callable[[], datetime]) -> None:
        self.rules, self.directory, self.clock = rules, directory, clock

    def __call__(self, session: Session, message: models.OutboxMessage) -> dict:
        rules, now = self.rules(), self.clock()
        if (message.payload or {}).get("type") == "weekly_report":
            # Rendered when queued (bot.reports.weekly): a report is a snapshot of its week.
            return {"text": message.payload["text"], "blocks": message.payload["blocks"]}
        if (message.payload or {}).get("type") == weekly.CHART_PAYLOAD_TYPE:
            return weekly.chart_upload(message.payload)  # the PNG, drawn from the kept days
        if message.kind == "digest":
            return self._digest(session, message, rules, now)
        if alerts.is_alert_message(message):  # crisis alerts: about no single mention
            return alerts.render(session, rules, message, self.directory.workspace_url())
        view = desk.card_view(session, rules, message.mention_id, now=now)
        kind, payload = message.kind, message.payload or {}
        if kind in ("card", "update"):
            return blocks.card(view)
        approvers = view.approvers
        what = payload.get("type")
        if kind == "dm" and what == "approval_request":
            return blocks.approval_dm(view, approvers)
        if kind == "thread" and what == "approval_request":
            return blocks.approval_request(view, approvers)
        if kind == "thread" and what == "rejected":
            return blocks.rejected_notice(view, str(payload.get("reason") or ""))
        if kind == "thread" and what == "sla_reminder":
            return sla_blocks.sla_reminder(view)
        if kind == "thread" and what == "sla_breach":
            return sla_blocks.sla_breach(view)
        if kind == "thread" and what == "draft_preview" and view.draft is not None:
            try:
                limit = reply_limit(view.network)
            except NoReplyChannel:
                limit = (0, "characters: no reply channel")
            return blocks.draft_preview(view, reply_length(view.network, view.draft.text)
                                        if limit[0] else 0, limit)
        raise ValueError(f"outbox row {message.id}: nothing renders kind={kind!r} "
                         f"type={what!r}")

    def _digest(self, session: Session, message: models.OutboxMessage, rules: Rules,
                now: datetime) -> dict:
        ids = [int(i) for i in (message.payload or {}).get("mention_ids", [])]
        rows = session.scalars(select(models.Mention).where(
            models.Mention.id.in_(ids[:DIGEST_ITEMS_MAX]))).all()
        items = [blocks.DigestItem(mention_id=m.id, priority=m.priority, network=m.network,
                                   url=m.url, text=m.text, author_handle=m.author.handle)
                 for m in rows]
        return blocks.digest(items, folded_count=len(ids))
