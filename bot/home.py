"""What the App Home tab shows a user, read from the database (built by bot.blocks.home).

"Mine" means: claimed by the user; awaiting approval in a team the user approves for (user
groups expanded by the directory), except drafts the user wrote (nobody approves their own);
overdue among those two sets (claimed by the user, or open in a team they approve for). Each
list is one query with a LIMIT plus one COUNT; the team figures are one GROUP BY.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, case, false, func, or_, select
from sqlalchemy.orm import Session

from bot import models
from bot.blocks import home as home_blocks
from bot.directory import Approvers
from bot.rules_schema import Rules
from bot.workflow import OPEN_STATUSES

M, A, D = models.Mention, models.Author, models.Draft


def _latest_drafter() -> ColumnElement[str]:
    return (select(D.author).where(D.mention_id == M.id).order_by(D.id.desc()).limit(1)
            .correlate(M).scalar_subquery())


def _section(session: Session, rules: Rules, where: list[ColumnElement[bool]],
             now: datetime) -> home_blocks.Section:
    total = session.scalar(select(func.count()).select_from(M).where(*where)) or 0
    rows = session.execute(
        select(M.id, M.priority, M.status, M.network, A.handle, M.text, M.team, M.sla_due_at,
               M.slack_channel, M.slack_ts, M.url)
        .join(A, M.author_id == A.id).where(*where)
        .order_by(M.sla_due_at.is_(None), M.sla_due_at, M.priority, M.id)
        .limit(home_blocks.ITEMS_MAX)).all()
    items = tuple(
        home_blocks.QueueItem(
            mention_id=r.id, priority=r.priority, status=r.status, network=r.network,
            author_handle=r.handle, text=r.text, team_label=_label(rules, r.team),
            sla_due_at=r.sla_due_at, overdue=r.sla_due_at is not None and r.sla_due_at <= now,
            channel=r.slack_channel, ts=r.slack_ts, url=r.url)
        for r in rows)
    return home_blocks.Section(items, int(total))


def _label(rules: Rules, team: str) -> str:
    t = rules.teams.get(team)
    return (t.label or team) if t else team


def home_view(session: Session, rules: Rules, directory: Approvers, user: str,
              now: datetime) -> home_blocks.HomeView:
    mine = tuple(tid for tid, t in rules.teams.items() if directory.is_approver(t, user))
    is_open = M.status.in_(OPEN_STATUSES)
    in_my_teams = M.team.in_(mine) if mine else false()
    drafter = _latest_drafter()
    claimed = _section(session, rules, [is_open, M.claimed_by == user], now)
    awaiting = _section(session, rules, [
        M.status == "pending_approval", in_my_teams,
        or_(drafter.is_(None), drafter != user)], now)
    overdue = _section(session, rules, [
        is_open, M.sla_due_at <= now, or_(M.claimed_by == user, in_my_teams)], now)
    return home_blocks.HomeView(
        user=user, claimed=claimed, awaiting_approval=awaiting, overdue=overdue,
        teams=team_counts(session, rules, mine, now), sources=sources_health(session, rules),
        updated_at=now, approver_of=tuple(_label(rules, t) for t in mine))


def team_counts(session: Session, rules: Rules, mine: tuple[str, ...],
                now: datetime) -> tuple[home_blocks.TeamCounts, ...]:
    """Open mentions per team and priority, and how many are overdue: one GROUP BY."""
    overdue = func.sum(case((M.sla_due_at <= now, 1), else_=0))
    rows = session.execute(select(M.team, M.priority, func.count(), overdue)
                           .where(M.status.in_(OPEN_STATUSES))
                           .group_by(M.team, M.priority)).all()
    by_team: dict[str, dict[str, int]] = {}
    late: dict[str, int] = {}
    for team, priority, n, n_overdue in rows:
        by_team.setdefault(team, {})[priority] = int(n)
        late[team] = late.get(team, 0) + int(n_overdue or 0)
    teams = list(rules.teams) + sorted(t for t in by_team if t not in rules.teams)
    out = [home_blocks.TeamCounts(team=t, label=_label(rules, t),
                                  open_by_priority=by_team.get(t, {}), overdue=late.get(t, 0),
                                  mine=t in mine) for t in teams]
    return tuple(sorted(out, key=lambda c: not c.mine))  # the user's teams first


def source_state(row: models.Source | None) -> str:
    if row is None:
        return "waiting"
    if row.unhealthy_reason:
        return "parked"
    if row.last_error_at and (row.last_success_at is None
                              or row.last_error_at > row.last_success_at):
        return "failing"
    return "healthy" if row.last_success_at else "waiting"


def sources_health(session: Session, rules: Rules) -> tuple[home_blocks.SourceHealth, ...]:
    """Every source of the rules (enabled or not polled yet too) with what the poller stored."""
    rows = {s.id: s for s in session.scalars(select(models.Source))}
    out = []
    for spec in rules.sources:
        row = rows.get(spec.id)
        state = source_state(row) if spec.enabled else "disabled"
        out.append(home_blocks.SourceHealth(
            id=spec.id, type=spec.type, state=state,
            last_success_at=row.last_success_at if row else None,
            last_error_at=row.last_error_at if row else None,
            last_error=row.last_error if row else None,
            unhealthy_reason=row.unhealthy_reason if row else None))
    return tuple(out)


def publish_view(session: Session, rules: Rules, directory: Approvers, user: str,
                 now: datetime) -> dict:
    """The `views.publish` view of `user`'s Home tab."""
    return home_blocks.home(home_view(session, rules, directory, user, now))
