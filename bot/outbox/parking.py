"""Parking: rows Slack refuses in a way no retry can heal wait, named, until a person fixes it.

`not_in_channel`, `channel_not_found`, `is_archived` fail every post to that channel; a revoked
or invalid token fails every call; `missing_scope` fails every call of that kind. Failing such
rows loses the cards for good (the mention never reaches the desk), and retrying them burns
calls for nothing. So the row is `parked` with Slack's error, every other pending row of the
same scope follows it (`park_followers`, each round: new cards for that channel too), and
`/social status`, `/metrics` and `/healthz` name the fix. `resume` (on `SIGHUP` and at start)
puts them back in the queue. So does a probe, without anyone: a parked row's `not_before` is
when its scope is probed (`bot.outbox.tuning.PROBE_FIRST`, doubling to `PROBE_MAX` while
Slack still refuses); `probe` then resumes that scope alone, the sender's next round tries its
first row (one call: the others claimed with it are parked again at once if Slack still
refuses), and a fixed channel's rows go out.

Exactly once still holds after resuming: a parked row that had been attempted before
(`attempts > 0`: its post may have reached Slack before the answer was lost) goes back to
`sending` with its lease run out, so it is looked up by its metadata before anything is posted;
a row never attempted goes back to `pending`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.orm import Session

from bot.domain.outbox import OutboxKind, OutboxTrouble, ParkedScope
from bot.kit.db import rowcount
from bot.kit.models import OutboxMessage, table_of
from bot.outbox.errors import AUTH_CODES, HINTS, Permanent
from bot.outbox.queue import skip_locked
from bot.outbox.slack import POSTED_KINDS
from bot.outbox.tuning import FAILED_RECENT

Msg = OutboxMessage
T = table_of(OutboxMessage)
ALL = "all"
KIND_PREFIX = "kind:"
# The channel is gone or closed to the bot: every post to it fails until someone acts.
CHANNEL_CODES = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
KIND_CODES = frozenset({"missing_scope"})  # the app lacks the scope this call needs


def scope_of_error(outcome: Permanent, kind: str, channel: str) -> str | None:
    """Which rows an unhealable error holds back (None: only this row fails, e.g.
    `invalid_blocks`, a bug in one message). Ephemeral notes are never parked: one shown
    late helps nobody."""
    if kind == OutboxKind.EPHEMERAL:
        return None
    if outcome.code in AUTH_CODES:
        return ALL
    if outcome.code in CHANNEL_CODES and kind != OutboxKind.DM:
        return channel
    if outcome.code in KIND_CODES:
        return KIND_PREFIX + kind
    return None


def code_of(error: str | None) -> str:
    """Slack's error code at the head of a parked row's error (`Permanent.message`)."""
    return (error or "").split(" ", 1)[0]


def _scope_of_row(kind: str, channel: str, error: str | None) -> str | None:
    return scope_of_error(Permanent(code_of(error), error or ""), kind, channel)


def covers(scope: str, kind: str, channel: str) -> bool:
    """Whether a parked `scope` holds back a row of `kind` to `channel` (`_in_scope` in
    Python: for the rows a round claimed before their scope was parked)."""
    if kind == OutboxKind.EPHEMERAL:
        return False
    if scope == ALL:
        return True
    if scope.startswith(KIND_PREFIX):
        return kind == scope.removeprefix(KIND_PREFIX)
    return channel == scope and kind != OutboxKind.DM


def _in_scope(scope: str) -> ColumnElement[bool]:
    if scope == ALL:
        return Msg.kind != OutboxKind.EPHEMERAL
    if scope.startswith(KIND_PREFIX):
        return Msg.kind == scope.removeprefix(KIND_PREFIX)
    return and_(Msg.channel == scope, Msg.kind.not_in((OutboxKind.EPHEMERAL, OutboxKind.DM)))


def parked_scopes(session: Session) -> dict[str, tuple[str, datetime]]:
    """scope → the error holding it back (one per scope) and when it is probed next."""
    rows = session.execute(select(Msg.kind, Msg.channel, Msg.error, func.max(Msg.not_before))
                           .where(Msg.state == "parked")
                           .group_by(Msg.kind, Msg.channel, Msg.error)).all()
    scopes: dict[str, tuple[str, datetime]] = {}
    for kind, channel, error, probe_at in rows:
        scope = _scope_of_row(kind, channel, error)
        if scope is not None:
            known = scopes.get(scope)
            scopes[scope] = (known[0] if known else error or "",
                             max(probe_at, known[1]) if known else probe_at)
    return scopes


def park(session: Session, row_id: int, scope: str, error: str, probe_at: datetime) -> int:
    """Park the row (still `sending`, it is ours) and every pending row of `scope`, to be
    probed at `probe_at`."""
    session.execute(update(T).where(T.c.id == row_id, T.c.state == "sending")
                    .values(state="parked", error=error, not_before=probe_at))
    return 1 + _park_pending(session, {scope: (error, probe_at)})


def park_followers(session: Session) -> int:
    """Rows queued into a parked scope since it was parked wait with it (no call is spent on
    a channel known to refuse), until the scope's probe."""
    return _park_pending(session, parked_scopes(session))


def _park_pending(session: Session, scopes: dict[str, tuple[str, datetime]]) -> int:
    n = 0
    for scope, (error, probe_at) in scopes.items():
        stmt = (update(T).where(T.c.id.in_(skip_locked(Msg.state == "pending", _in_scope(scope))),
                                T.c.state == "pending")
                .values(state="parked", error=error, not_before=probe_at))
        n += rowcount(session.execute(stmt))
    return n


def probe(session: Session, now: datetime) -> list[str]:
    """The parked scopes whose probe is due, each resumed alone (`resume`); their names."""
    due = [scope for scope, (_, probe_at) in parked_scopes(session).items()
           if probe_at <= now]
    return [scope for scope in due if resume(session, now, scope=scope)]


def resume(session: Session, now: datetime, *, scope: str | None = None) -> int:
    """Every parked row (of `scope`: a probe) back in the queue (see the module's note on
    exactly once)."""
    parked = Msg.state == "parked" if scope is None else and_(Msg.state == "parked",
                                                              _in_scope(scope))
    attempted = and_(Msg.kind.in_(POSTED_KINDS), Msg.attempts > 0)
    verify = (update(T).where(T.c.id.in_(skip_locked(parked, attempted)),
                              T.c.state == "parked")
              .values(state="sending", not_before=now))
    retry = (update(T).where(T.c.id.in_(skip_locked(parked)), T.c.state == "parked")
             .values(state="pending", not_before=now))
    return rowcount(session.execute(verify)) + rowcount(session.execute(retry))


def trouble(session: Session, now: datetime) -> OutboxTrouble:
    """Parked scopes with their fix, and the rows that failed for good since FAILED_RECENT."""
    rows = session.execute(select(Msg.kind, Msg.channel, Msg.error, func.count(),
                                  func.min(Msg.created_at), func.max(Msg.not_before))
                           .where(Msg.state == "parked")
                           .group_by(Msg.kind, Msg.channel, Msg.error)).all()
    count: Counter[str] = Counter()
    since: dict[str, datetime] = {}
    probe_at: dict[str, datetime] = {}
    errors: dict[str, str] = {}
    for kind, channel, error, n, oldest, probed in rows:
        scope = _scope_of_row(kind, channel, error) or channel
        count[scope] += n
        since[scope] = min(since.get(scope, oldest), oldest)
        probe_at[scope] = max(probe_at.get(scope, probed), probed)
        errors.setdefault(scope, error or "")
    parked = tuple(
        ParkedScope(scope, code_of(errors[scope]),
                    HINTS.get(code_of(errors[scope]), "fix the cause, then reload (SIGHUP)"),
                    count[scope], since[scope], probe_at[scope])
        for scope in sorted(count, key=lambda s: since[s]))
    recent = and_(Msg.state == "failed", Msg.created_at >= now - FAILED_RECENT)
    failed = session.execute(select(Msg.error, func.count(), func.min(Msg.created_at))
                             .where(recent).group_by(Msg.error)).all()
    by_error: defaultdict[str, int] = defaultdict(int)
    for error, n, _ in failed:
        by_error[error or "failed"] += n
    oldest_failed = min((r[2] for r in failed), default=None)
    return OutboxTrouble(parked, sum(by_error.values()), oldest_failed,
                         max(by_error, key=by_error.__getitem__) if by_error else None)

