"""Crisis alerts: the spike job, the crisis thread, and what the alert messages show.

`run_spikes` (every minute) counts the watched rates (bot.timers.spike_counts), lets the pure
`bot.domain.spikes` decide, and keeps one `Alert` row per storm:
- raise: a new row plus an outbox `alert` post to `alerts.spike.channel`;
- update: the storm's latest figures on its row (`version` + 1), and a `chat.update` of its
  message once that message is in Slack (before that, the pending post renders the latest).
Messages are rendered from the row (`alert_view`, drawn by bot.slack.render) when the outbox
sends them, never from a copy made at queue time.

Two replicas seeing the same new storm insert the same `dedupe_key` (the alert it follows):
one insert wins, the other does nothing. `open_crisis` is a compare-and-set on
`crisis_opened_by`: of two clicks, one opens the thread, the other is told who did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import spikes
from bot.domain.errors import ConcurrentChange, DomainError, user_ref
from bot.domain.outbox import OutboxKind
from bot.domain.rules.schema import Rules, Spike
from bot.kit import models
from bot.kit.db import insert_or_skip, rowcount, session_scope
from bot.outbox.queue import enqueue_once
from bot.reports.figures import AuthorReach
from bot.slack.blocks import alert as alert_blocks
from bot.slack.blocks.links import SLACK_WEB
from bot.timers import spike_counts as sc

log = logging.getLogger(__name__)

KIND = "spike"
ALERT_PRIORITY = "P1"  # alerts go out before the cards of the storm that caused them
Alert = models.Alert


@dataclass(frozen=True, slots=True)
class SpikeRun:
    action: spikes.Action
    alert_id: int | None = None
    metrics: tuple[spikes.Metric, ...] = ()


class AlertNotFound(DomainError):
    default = "That alert no longer exists."


# --- the job ----------------------------------------------------------------------------------

def detect(session: Session, rules: Rules, spec: Spike, now: datetime) -> tuple[
        tuple[spikes.Metric, ...], spikes.BaselinePlan]:
    """Count the watched rates now and in their baseline periods; every rate, over or not."""
    names = spikes.risk_rules(rules)
    late = spec.late_after
    current = sc.counts(session, [spikes.window_of(now, spec.window)], names, late=late)
    plan = spikes.baseline_plan(now, spec.window, sc.history_start(session))
    totals = sc.counts(session, plan.periods, names, late=late)
    baselines = {k: plan.rate(v) for k, v in totals.items()}
    metrics = spikes.evaluate(current, baselines, factor=spec.factor,
                              min_mentions=spec.min_mentions)
    return metrics, plan


def run_spikes(factory: sessionmaker[Session], rules: Rules, now: datetime) -> SpikeRun:
    """One pass of the spike job. Nothing to do without `alerts.spike` in the rules."""
    spec = rules.alerts.spike
    if spec is None:
        return SpikeRun(spikes.Action.NONE)
    with session_scope(factory) as s:
        metrics, plan = detect(s, rules, spec, now)
        latest = s.execute(select(Alert.id, Alert.last_seen_at).where(Alert.kind == KIND)
                           .order_by(Alert.id.desc()).limit(1)).first()
        decision = spikes.plan(now, metrics, spikes.Active(*latest) if latest else None,
                               spec.cooldown)
        if decision.action is spikes.Action.NONE:
            _sync_message(s, latest[0] if latest else None, now)
            return SpikeRun(decision.action, metrics=metrics)
        summary = _summary(s, rules, spec, now, metrics, plan)
        count = next(m.count for m in metrics if m.key == spikes.ALL)
        if decision.action is spikes.Action.RAISE:
            alert_id = _raise(s, spec, now, count, summary, after=latest[0] if latest else 0)
            if alert_id is None:  # another replica raised this storm's alert a moment ago
                return SpikeRun(spikes.Action.NONE, metrics=metrics)
            log.warning("spike: alert %d raised: %s", alert_id,
                        ", ".join(f"{m.label} {m.count}" for m in decision.over))
        else:
            alert_id = decision.alert_id
            _update(s, alert_id, now, count, summary)
            _sync_message(s, alert_id, now)
        return SpikeRun(decision.action, alert_id, metrics)


def _summary(s: Session, rules: Rules, spec: Spike, now: datetime,
             metrics: tuple[spikes.Metric, ...], plan: spikes.BaselinePlan) -> dict[str, Any]:
    window = spikes.window_of(now, spec.window)
    brand = [rules.brand.name, *rules.brand.name.split(), rules.brand.x_username or ""]
    late = spec.late_after
    rule_counts = sc.rule_counts(s, [window], late=late)
    return {
        "window_minutes": int(spec.window.total_seconds() // 60),
        "baseline_mode": plan.mode.value,
        "metrics": [{"key": m.key, "count": m.count, "baseline": round(m.baseline, 2),
                     "over": m.over} for m in metrics],
        "authors": [vars_of(a) for a in sc.top_authors(s, window, late=late)],
        "words": spikes.top_words(sc.texts(s, window, late=late), ignore=brand),
        "rules": sorted(rule_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:6],
        "cards": [vars_of(c) for c in sc.card_links(s, window, late=late)],
    }


def vars_of(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}


def _raise(s: Session, spec: Spike, now: datetime, count: int, summary: dict[str, Any], *,
           after: int) -> int | None:
    table = models.table_of(Alert)
    window_start, window_end = spikes.window_of(now, spec.window)
    alert_id = s.scalar(insert_or_skip(s, table, key="dedupe_key").values(
        kind=KIND, dedupe_key=f"{KIND}:after:{after}", channel=spec.channel, raised_at=now,
        last_seen_at=now, window_start=window_start, window_end=window_end, count=count,
        peak=count, summary=summary, version=1, shown_version=1)
        .returning(table.c.id))
    if alert_id is None:  # another replica raised this one
        return None
    enqueue_once(s, kind=OutboxKind.ALERT, channel=spec.channel, mention_id=None,
                 priority=ALERT_PRIORITY, payload={"alert_id": alert_id}, state="pending",
                 not_before=now, created_at=now, dedupe_key=f"alert:{alert_id}")
    outbox_id = s.scalar(select(models.OutboxMessage.id).where(
        models.OutboxMessage.dedupe_key == f"alert:{alert_id}"))
    s.execute(update(Alert).where(Alert.id == alert_id).values(outbox_id=outbox_id)
              .execution_options(synchronize_session=False))
    return alert_id


def _update(s: Session, alert_id: int | None, now: datetime, count: int,
            summary: dict[str, Any]) -> None:
    alert = s.scalars(select(Alert).where(Alert.id == alert_id).with_for_update()
                      .execution_options(populate_existing=True)).one()
    alert.last_seen_at = now
    if _shown(alert.summary) != _shown(summary):  # a new count: the message changes
        alert.count, alert.peak = count, max(alert.peak, count)
        alert.summary = summary
        alert.version = alert.version + 1
        alert.window_end = now
    s.flush()


def _shown(summary: dict[str, Any] | None) -> list[tuple[str, int, bool]]:
    """What makes the alert message worth a `chat.update`: the counts, not the baselines
    (they drift a little every minute)."""
    return [(m["key"], m["count"], m["over"]) for m in (summary or {}).get("metrics", ())]


def _sync_message(s: Session, alert_id: int | None, now: datetime) -> None:
    """Record the alert message's ts once the outbox posted it, and queue a `chat.update`
    when the row changed since the message was last rendered."""
    if alert_id is None:
        return
    alert = s.get(Alert, alert_id)
    if alert is None:
        return
    if alert.slack_ts is None and alert.outbox_id is not None:
        posted = s.get(models.OutboxMessage, alert.outbox_id)
        if posted is not None and posted.state == "sent" and posted.slack_ts:
            alert.channel, alert.slack_ts = posted.channel, posted.slack_ts
    if alert.slack_ts is None or alert.version <= alert.shown_version:
        return
    _queue_update(s, alert, now)


def _queue_update(s: Session, alert: models.Alert, now: datetime) -> None:
    enqueue_once(s, kind=OutboxKind.UPDATE, channel=alert.channel, mention_id=None,
                 priority=ALERT_PRIORITY,
                 payload={"alert_id": alert.id, "target_channel": alert.channel,
                          "target_ts": alert.slack_ts},
                 state="pending", not_before=now, created_at=now,
                 dedupe_key=f"alert:{alert.id}:v{alert.version}")
    alert.shown_version = alert.version
    s.flush()


# --- the crisis thread ------------------------------------------------------------------------

def open_crisis(session: Session, rules: Rules, actor: str, alert_id: int, *, channel: str | None,
                ts: str | None, now: datetime) -> models.Alert:
    """Open the crisis thread under the alert: the first click wins and is recorded; the
    thread message calls the alert channel's team approvers in, and the alert shows who
    opened it."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound()
    won = rowcount(session.execute(
        update(Alert).where(Alert.id == alert_id, Alert.crisis_opened_by.is_(None))
        .values(crisis_opened_by=actor, crisis_opened_at=now, version=Alert.version + 1)
        .execution_options(synchronize_session=False)))
    alert = session.scalars(select(Alert).where(Alert.id == alert_id)
                            .execution_options(populate_existing=True)).one()
    if not won:
        who = "you" if alert.crisis_opened_by == actor else user_ref(alert.crisis_opened_by)
        raise ConcurrentChange(f"The crisis thread was already opened by {who}.")
    if alert.slack_ts is None and ts and (channel in (None, alert.channel)):
        alert.slack_ts = ts  # the button was clicked on the alert: that is its message
    session.add(models.AuditEvent(mention_id=None, at=now, actor=actor, action="open_crisis",
                                  detail={"alert_id": alert.id}))
    if alert.slack_ts:
        target = {"target_channel": alert.channel, "target_ts": alert.slack_ts}
        enqueue_once(session, kind=OutboxKind.THREAD, channel=alert.channel, mention_id=None,
                     priority=ALERT_PRIORITY,
                     payload={"type": "crisis_thread", "alert_id": alert.id, **target},
                     state="pending", not_before=now, created_at=now,
                     dedupe_key=f"crisis:{alert.id}")
        _queue_update(session, alert, now)
    session.flush()
    return alert


# --- rendering --------------------------------------------------------------------------------

def alert_view(session: Session, rules: Rules, alert_id: int,
               workspace_url: str = SLACK_WEB) -> alert_blocks.AlertView:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound()
    data = alert.summary or {}
    metrics = tuple(
        alert_blocks.MetricLine(label=spikes.metric_label(m["key"]), count=int(m["count"]),
                                baseline=float(m["baseline"]),
                                ratio=(m["count"] / m["baseline"]) if m["baseline"] else None,
                                over=bool(m["over"]))
        for m in data.get("metrics", ()))
    team = next((t for t in rules.teams.values() if t.channel == alert.channel), None)
    return alert_blocks.AlertView(
        alert_id=alert.id, window_minutes=int(data.get("window_minutes", 0)),
        count=alert.count, peak=alert.peak, raised_at=alert.raised_at,
        last_seen_at=alert.last_seen_at, baseline_mode=str(data.get("baseline_mode", "none")),
        metrics=tuple(sorted(metrics, key=lambda m: not m.over)),
        authors=tuple(AuthorReach(**a) for a in data.get("authors", ())),
        words=tuple((str(w), int(n)) for w, n in data.get("words", ())),
        rules=tuple((str(r), int(n)) for r, n in data.get("rules", ())),
        cards=tuple(alert_blocks.CardLink(**c) for c in data.get("cards", ())),
        crisis_opened_by=alert.crisis_opened_by, crisis_opened_at=alert.crisis_opened_at,
        approvers=tuple(team.approvers) if team else (), workspace_url=workspace_url)


def is_alert_message(message: models.OutboxMessage) -> bool:
    return message.mention_id is None and "alert_id" in (message.payload or {})
