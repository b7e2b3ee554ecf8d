"""Outbox row → the body of the Slack message it becomes (`text` + `blocks`; for a `file` row,
the file: `file`, `filename`, `title`).

Rendered when the row is sent, not when it was queued, so a card always shows the mention as
it is now (three quick clicks → one `chat.update` with the final state). Reads the database,
builds plain values (`desk.card_view`, `alerts.alert_view`), hands them to the pure builders
(`bot.slack.blocks`).

What draws a row is looked up in `RENDERERS` by the row's kind and its payload's `type`; an
entry registered without a type draws every row of its kind that no typed entry claims.
Drawing a new kind of message is one `@renders(kind, type)` function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.desk import commands as desk
from bot.desk import threads
from bot.desk.directory import Approvers
from bot.domain.card import CardView
from bot.domain.conversation import FOLDED_KIND, POST_KIND
from bot.domain.limits import NoReplyChannel, reply_length, reply_limit
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules
from bot.kit import models
from bot.reports import weekly
from bot.slack import blocks
from bot.slack.blocks import alert as alert_blocks
from bot.slack.blocks import conversation
from bot.slack.blocks import sla as sla_blocks
from bot.timers import alerts

DIGEST_ITEMS_MAX = 200  # read at most this many folded mentions for one digest


@dataclass(frozen=True, slots=True)
class Rendering:
    """One row being drawn: the row, the session it was read in, and the desk as of now."""

    session: Session
    message: models.OutboxMessage
    rules: Rules
    directory: Approvers
    now: datetime

    @property
    def payload(self) -> dict[str, Any]:
        return self.message.payload or {}

    def card(self) -> CardView:
        """The card of the row's mention, as it is now."""
        if self.message.mention_id is None:
            raise ValueError(f"outbox row {self.message.id}: a {self.message.kind} row about no "
                             "mention has nothing to draw it from")
        return desk.card_view(self.session, self.rules, self.message.mention_id, now=self.now)

    def alert(self) -> alert_blocks.AlertView:
        """The crisis alert the row is about (its payload's `alert_id`), as it is now."""
        return alerts.alert_view(self.session, self.rules, int(self.payload["alert_id"]),
                                 self.directory.workspace_url())


RenderFn = Callable[[Rendering], dict[str, Any]]
# (kind, payload type) → what draws it; (kind, None): the rest of that kind.
RENDERERS: dict[tuple[OutboxKind, str | None], RenderFn] = {}


def renders(kind: OutboxKind, what: str | None = None) -> Callable[[RenderFn], RenderFn]:
    """Register the decorated function as what draws rows of `kind` whose payload `type` is
    `what` (None: every row of `kind` that no entry with a type claims)."""

    def register(fn: RenderFn) -> RenderFn:
        if (kind, what) in RENDERERS:
            raise ValueError(f"two renderers for kind={kind.value!r} type={what!r}")
        RENDERERS[(kind, what)] = fn
        return fn

    return register


def renderer_of(message: models.OutboxMessage) -> RenderFn:
    """What draws `message`, or ValueError when nothing does."""
    what = (message.payload or {}).get("type")
    kind = OutboxKind(message.kind)
    found = RENDERERS.get((kind, what)) or RENDERERS.get((kind, None))
    if found is None:
        raise ValueError(f"outbox row {message.id}: nothing renders kind={kind.value!r} "
                         f"type={what!r}")
    return found


class Renderer:
    def __init__(self, rules: Callable[[], Rules], directory: Approvers,
                 clock: Callable[[], datetime]) -> None:
        self.rules, self.directory, self.clock = rules, directory, clock

    def __call__(self, session: Session, message: models.OutboxMessage) -> dict:
        draw = renderer_of(message)
        return draw(Rendering(session, message, self.rules(), self.directory, self.clock()))


# --- a mention's card and what is said in its thread -----------------------------------------

@renders(OutboxKind.CARD)
def _card(r: Rendering) -> dict[str, Any]:
    return blocks.card(r.card())


@renders(OutboxKind.UPDATE)
def _update(r: Rendering) -> dict[str, Any]:
    """chat.update of the message the row is about: a crisis alert, or a mention's card."""
    if alerts.is_alert_message(r.message):
        return alert_blocks.spike_alert(r.alert())
    return blocks.card(r.card())


@renders(OutboxKind.DM, "approval_request")
def _approval_dm(r: Rendering) -> dict[str, Any]:
    view = r.card()
    return blocks.approval_dm(view, view.approvers)


@renders(OutboxKind.THREAD, "approval_request")
def _approval_request(r: Rendering) -> dict[str, Any]:
    view = r.card()
    return blocks.approval_request(view, view.approvers)


@renders(OutboxKind.THREAD, "rejected")
def _rejected(r: Rendering) -> dict[str, Any]:
    return blocks.rejected_notice(r.card(), str(r.payload.get("reason") or ""))


@renders(OutboxKind.THREAD, "sla_reminder")
def _sla_reminder(r: Rendering) -> dict[str, Any]:
    return sla_blocks.sla_reminder(r.card())


@renders(OutboxKind.THREAD, "sla_breach")
def _sla_breach(r: Rendering) -> dict[str, Any]:
    return sla_blocks.sla_breach(r.card())


@renders(OutboxKind.THREAD, POST_KIND)
def _thread_post(r: Rendering) -> dict[str, Any]:
    post = threads.load_post(r.session, int(r.payload["post_id"]))
    notify = r.payload.get("notify")
    return conversation.thread_post(threads.post_view(post, str(notify) if notify else None))


@renders(OutboxKind.THREAD, FOLDED_KIND)
def _thread_folded(r: Rendering) -> dict[str, Any]:
    ids = [int(i) for i in r.payload.get("post_ids", [])]
    posts = r.session.scalars(select(models.ThreadPost).where(
        models.ThreadPost.id.in_(ids[:conversation.FOLDED_SHOWN]))
        .order_by(models.ThreadPost.id)).all()
    return conversation.folded_posts([threads.post_view(p) for p in posts], len(ids))


@renders(OutboxKind.THREAD, "draft_preview")
def _draft_preview(r: Rendering) -> dict[str, Any]:
    view = r.card()
    if view.draft is None:
        raise ValueError(f"outbox row {r.message.id}: a draft preview of a mention with no "
                         "draft")
    try:
        limit = reply_limit(view.network)
    except NoReplyChannel:
        limit = (0, "characters: no reply channel")
    return blocks.draft_preview(view, reply_length(view.network, view.draft.text)
                                if limit[0] else 0, limit)


# --- messages about no single mention ----------------------------------------------------------

@renders(OutboxKind.DIGEST)
def _digest(r: Rendering) -> dict[str, Any]:
    ids = [int(i) for i in r.payload.get("mention_ids", [])]
    rows = r.session.scalars(select(models.Mention).where(
        models.Mention.id.in_(ids[:DIGEST_ITEMS_MAX]))).all()
    items = [blocks.DigestItem(mention_id=m.id, priority=m.priority, network=m.network,
                               url=m.url, text=m.text, author_handle=m.author.handle)
             for m in rows]
    return blocks.digest(items, folded_count=len(ids))


@renders(OutboxKind.ALERT)
def _spike_alert(r: Rendering) -> dict[str, Any]:
    return alert_blocks.spike_alert(r.alert())


@renders(OutboxKind.THREAD, "crisis_thread")
def _crisis_thread(r: Rendering) -> dict[str, Any]:
    return alert_blocks.crisis_thread(r.alert())


@renders(weekly.OUTBOX_KIND, weekly.PAYLOAD_TYPE)
def _weekly_report(r: Rendering) -> dict[str, Any]:
    # Rendered when queued (bot.reports.weekly): a report is a snapshot of its week.
    return {"text": r.payload["text"], "blocks": r.payload["blocks"]}


@renders(weekly.CHART_KIND, weekly.CHART_PAYLOAD_TYPE)
def _weekly_chart(r: Rendering) -> dict[str, Any]:
    return weekly.chart_upload(r.payload)  # the PNG, drawn from the kept days
