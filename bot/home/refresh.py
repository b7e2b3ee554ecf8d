"""What the App Home tab shows a user, read from the database (built by bot.slack.blocks.home).

"Mine" means: claimed by the user; awaiting approval in a team the user approves for (user
groups expanded by the directory), except drafts the user wrote (nobody approves their own);
overdue among those two sets (claimed by the user, or open in a team they approve for). Each
list is one query with a LIMIT plus one COUNT; the team figures are one GROUP BY.

Keeping it current (`HomeRefresher`): a desk change notes whose Home it alters in its
session (`bot.desk.commands.HOME`); once the transaction commits, `refresh_after_commit` hands those
users (and teams, whose approvers are expanded by the directory) to the refresher, which
publishes each Home from its own thread, never in a listener: one `views.publish` per user
per `DEBOUNCE` however many changes (the first change starts the wait, the publish shows
the database as it is then), only for users seen opening the Home in this process, paced
under `views.publish`'s Tier 4 limit, a 429 retried after its Retry-After.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from bot.desk.commands import HOME
from bot.desk.directory import Approvers
from bot.domain import sla
from bot.domain.rules.schema import Rules
from bot.domain.workflow import OPEN_STATUSES, MentionStatus
from bot.kit import models
from bot.kit.db import utcnow
from bot.kit.worker import BackgroundWorker
from bot.listening.health import source_health
from bot.outbox.errors import (
    SLACK_CALL_ERRORS,
    Outcome,
    Permanent,
    RateLimited,
    classify,
)
from bot.outbox.pacing import TokenBucket
from bot.outbox.tuning import backoff
from bot.reports.cube import flag
from bot.slack.blocks import home as home_blocks

log = logging.getLogger(__name__)

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
            sla_due_at=r.sla_due_at, overdue=sla.is_overdue(r.sla_due_at, now),
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
        M.status == MentionStatus.PENDING_APPROVAL, in_my_teams,
        or_(drafter.is_(None), drafter != user)], now)
    overdue = _section(session, rules, [
        is_open, M.overdue(now), or_(M.claimed_by == user, in_my_teams)], now)
    return home_blocks.HomeView(
        user=user, claimed=claimed, awaiting_approval=awaiting, overdue=overdue,
        teams=team_counts(session, rules, mine, now),
        sources=tuple(source_health(session, rules, now, with_reads=False)),
        updated_at=now, approver_of=tuple(_label(rules, t) for t in mine),
        workspace_url=directory.workspace_url())


def team_counts(session: Session, rules: Rules, mine: tuple[str, ...],
                now: datetime) -> tuple[home_blocks.TeamCounts, ...]:
    """Open mentions per team and priority, how many are overdue and how many are complaints:
    one GROUP BY."""
    rows = session.execute(select(M.team, M.priority, func.count(), flag(M.overdue(now)),
                                  flag(M.complaint.is_(True)))
                           .where(M.status.in_(OPEN_STATUSES))
                           .group_by(M.team, M.priority)).all()
    by_team: dict[str, dict[str, int]] = {}
    late: dict[str, int] = {}
    flagged: dict[str, int] = {}
    for team, priority, n, n_overdue, n_complaints in rows:
        by_team.setdefault(team, {})[priority] = int(n)
        late[team] = late.get(team, 0) + int(n_overdue or 0)
        flagged[team] = flagged.get(team, 0) + int(n_complaints or 0)
    teams = list(rules.teams) + sorted(t for t in by_team if t not in rules.teams)
    out = [home_blocks.TeamCounts(team=t, label=_label(rules, t),
                                  open_by_priority=by_team.get(t, {}), overdue=late.get(t, 0),
                                  mine=t in mine, complaints=flagged.get(t, 0)) for t in teams]
    return tuple(sorted(out, key=lambda c: not c.mine))  # the user's teams first


def publish_view(session: Session, rules: Rules, directory: Approvers, user: str,
                 now: datetime) -> dict:
    """The `views.publish` view of `user`'s Home tab."""
    return home_blocks.home(home_view(session, rules, directory, user, now))


# --- keeping the Home current ---------------------------------------------------------------

# A user's Home is published at most once per DEBOUNCE: the first change starts the wait, the
# changes made meanwhile ride along (the view is read when it is published). A few seconds:
# long enough to fold a burst of clicks into one call, short enough to feel live.
DEBOUNCE = timedelta(seconds=3)
# views.publish is Tier 4 (100+ per minute per workspace, PLATFORM.md): pace 10 % under it,
# with a small burst. The Home tab opened by hand takes its token too.
VIEWS_RATE = 90 / 60
VIEWS_BURST = 10
# 5xx and connection errors: retried with the outbox's backoff (2 s, 4 s, 8 s…), then dropped
# (the next change, or opening the tab, publishes it again).
MAX_ATTEMPTS = 5
# The user is gone, or not one Slack can publish a Home for: nothing to retry, said at INFO.
GONE = frozenset({"not_found", "user_not_found", "invalid_arguments", "user_not_visible"})
IDLE_SECONDS = 60.0  # nothing due: sleep this long at most (request() wakes the thread)
# Who has opened the Home is read again this often: a user who opened it on another replica
# is kept current here too, at most this long after.
VIEWERS_RELOAD = timedelta(seconds=60)
# A Home costs a few queries over the open mentions: milliseconds on a normal desk, but half a
# second with 150,000 open (measured on SQLite). The refresher then rests YIELD_FACTOR times as
# long as the read took before the next, so it never takes more than a quarter of a core (and
# of the interpreter lock the acks need) however large the backlog.
HEAVY_READ_SECONDS = 0.05
YIELD_FACTOR = 3.0


class HomeRefresher(BackgroundWorker):
    """Publishes the Home of the users desk changes concern, in a background thread.

    `request(users, teams)` is what a committed transaction calls (cheap: a dict update under
    a lock, never a query or a Slack call); `run_once(now)` publishes what is due, for tests
    and for the thread `start()` runs. In memory on purpose: a Home is a view of the
    database, so a refresh lost in a crash costs nothing the next open or change doesn't
    repair, and no row, migration or outbox kind is needed.

    `client` should have no slack-sdk retry handlers (`bot.outbox.sender_client`): a 429 is
    retried here, later, instead of sleeping in this thread. `gate` (Services.gate.entered)
    makes the database read one of the desk's `WORK_AT_ONCE` units of work: during a burst of
    clicks a refresh waits its turn with them instead of adding to them.

    Who has opened the Home is the `home_viewer` table (written by `Services.home_opened`),
    read at the first round and every VIEWERS_RELOAD, so every replica, and a restarted one,
    keeps the same users' Homes current; `request()` itself checks an in-memory copy.
    """

    thread_name = "home-refresh"

    def __init__(self, factory: Callable[[], Session], rules: Callable[[], Rules],
                 directory: Approvers, client: Any,
                 clock: Callable[[], datetime] = utcnow, *, debounce: timedelta = DEBOUNCE,
                 rate: float = VIEWS_RATE, burst: int = VIEWS_BURST,
                 max_attempts: int = MAX_ATTEMPTS,
                 gate: Callable[[], AbstractContextManager[Any]] = nullcontext,
                 view: Callable[[Session, Rules, Approvers, str, datetime], dict] | None = None,
                 rest: Callable[[float], object] | None = None) -> None:
        self.factory, self.rules, self.directory = factory, rules, directory
        self.view = view or publish_view  # reads the database, builds with bot.slack.blocks.home
        self.client, self.clock, self.gate = client, clock, gate
        self.debounce, self.max_attempts = debounce, max_attempts
        self._bucket = TokenBucket(rate, burst)
        self._blocked_until = 0.0  # epoch seconds: views.publish answered 429
        self._lock = threading.Lock()
        self._opened: set[str] = set()  # users who opened the Home (home_viewer, cached)
        self._viewers_read: datetime | None = None
        self._due: dict[str, datetime] = {}  # user -> when to publish their Home
        self._teams: dict[str, datetime] = {}  # team -> first request, approvers not expanded
        self._attempts: dict[str, int] = {}
        self._logged: set[str] = set()
        super().__init__()
        # How it rests after a heavy read: waiting on the stop flag (stop() cuts it short).
        self.rest = rest or self._stop.wait
        self.published = 0  # views.publish calls that succeeded

    # --- what others call ------------------------------------------------------------------

    def opened(self, user: str, at: datetime) -> None:
        """`user` opened the Home and is shown it as of `at`: from now on their Home is kept
        current; refreshes requested before `at` are covered by that view."""
        with self._lock:
            self._opened.add(user)
            due = self._due.get(user)
            if due is not None and due - self.debounce <= at and user not in self._attempts:
                del self._due[user]
            self._bucket.take(at.timestamp())  # that publish counts against the limit too

    def request(self, users: Iterable[str] = (), teams: Iterable[str] = (),
                at: datetime | None = None) -> None:
        """Publish the Home of `users` and of `teams`' approvers soon (after the debounce)."""
        at = at or self.clock()
        due = at + self.debounce
        added = False
        with self._lock:
            for user in users:
                if user in self._opened and user not in self._due:
                    self._due[user] = due
                    added = True
            for team in teams:
                if team not in self._teams:
                    self._teams[team] = at
                    added = True
        if added:
            self._wake.set()

    def pending(self) -> dict[str, datetime]:
        """The Homes due, by user, and when (teams not yet expanded: see expand_teams)."""
        with self._lock:
            return dict(self._due)

    def take_pending(self) -> dict[str, datetime]:
        """The Homes due, taken off the queue without publishing them."""
        with self._lock:
            due, self._due = self._due, {}
        return due

    # --- one round -------------------------------------------------------------------------

    def reload_viewers(self, now: datetime) -> None:
        """Read who has opened the Home (any replica) into the in-memory copy."""
        try:
            with self.factory() as session:
                users = set(session.scalars(select(models.HomeViewer.user_id)))
        except Exception:  # the database: keep the copy we have, try again next round
            log.exception("home refresh: could not read who opened the Home")
            return
        with self._lock:
            self._opened |= users
            self._viewers_read = now

    def run_once(self, now: datetime) -> int:
        """Publish every Home due at `now` (as far as the rate limit allows); how many."""
        self._wake.clear()
        if self._viewers_read is None or now - self._viewers_read >= VIEWERS_RELOAD:
            self.reload_viewers(now)
        self.expand_teams()
        with self._lock:
            due = sorted((when, user) for user, when in self._due.items() if when <= now)
        sent = 0
        for _, user in due:
            if self._stop.is_set():
                break
            t = max(now, self.clock()).timestamp()
            with self._lock:
                when = self._due.get(user)
                if when is None or when > now:
                    continue  # published or rescheduled meanwhile
                if t < self._blocked_until or not self._bucket.take(t):
                    break  # the rest wait for a token: seconds_until_due() says when
                del self._due[user]
            sent += self._publish(user, now)
        return sent

    def expand_teams(self) -> None:
        """Request the Homes of the requested teams' approvers (user groups expanded by the
        directory, which caches them); each round does this first."""
        with self._lock:
            teams, self._teams = self._teams, {}
        if not teams:
            return
        rules = self.rules()
        for team_id, at in teams.items():
            team = rules.teams.get(team_id)
            if team is None:
                continue
            try:
                approvers = self.directory.approvers(team)
            except Exception:  # the directory falls back itself; a bug must not stop us
                log.exception("home refresh: approvers of %s unknown", team_id)
                continue
            self.request(approvers, at=at)

    def _publish(self, user: str, now: datetime) -> int:
        started = time.perf_counter()
        try:
            with self.gate(), self.factory() as session:
                view = self.view(session, self.rules(), self.directory, user, self.clock())
        except Exception:  # a bug or the database: this Home waits for the next change
            log.exception("home refresh of %s: reading the view failed", user)
            self._attempts.pop(user, None)
            return 0
        took = time.perf_counter() - started
        if took > HEAVY_READ_SECONDS:  # this thread only: nobody waits on it
            self.rest(took * YIELD_FACTOR)
        try:
            self.client.views_publish(user_id=user, view=view)
        except SLACK_CALL_ERRORS as exc:
            # Retry-After counts from the answer, not from when this batch began (the view
            # read before it may have taken a while)
            self._failed(user, classify(exc), max(now, self.clock()))
            return 0
        self._attempts.pop(user, None)
        self.published += 1
        return 1

    def _failed(self, user: str, outcome: Outcome, now: datetime) -> None:
        if isinstance(outcome, RateLimited):
            until = now + timedelta(seconds=outcome.retry_after)
            with self._lock:  # the whole method waits: Tier limits count per app
                self._blocked_until = max(self._blocked_until, until.timestamp())
                self._bucket.resume_at(until.timestamp())
            log.info("home refresh of %s: %s; retrying then", user, outcome.message)
            self._retry(user, until)
            return
        if isinstance(outcome, Permanent):
            self._attempts.pop(user, None)
            if outcome.code in GONE:
                with self._lock:
                    self._opened.discard(user)  # until they open the Home again
                log.info("home refresh of %s: %s; not refreshed until they open it again",
                         user, outcome.code)
            elif outcome.code not in self._logged:
                self._logged.add(outcome.code)
                log.warning("home refresh failed: %s (logged once per error)", outcome.message)
            return
        attempts = self._attempts.get(user, 0) + 1
        if attempts >= self.max_attempts:
            self._attempts.pop(user, None)
            log.warning("home refresh of %s given up after %d attempts: %s", user, attempts,
                        outcome.message)
            return
        self._attempts[user] = attempts
        self._retry(user, now + backoff(attempts))

    def _retry(self, user: str, when: datetime) -> None:
        with self._lock:
            current = self._due.get(user)
            self._due[user] = max(current, when) if current is not None else when
        self._wake.set()

    # --- the background thread -------------------------------------------------------------

    def seconds_until_due(self) -> float:
        now = self.clock()
        with self._lock:
            times = [*self._due.values(), *(at + self.debounce for at in self._teams.values())]
            blocked = self._blocked_until - now.timestamp()
            token = self._bucket.seconds_until_token(now.timestamp()) if self._due else 0.0
        if not times:
            return IDLE_SECONDS
        wait = max((min(times) - now).total_seconds(), blocked, token)
        return min(IDLE_SECONDS, max(0.01, wait))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(self.clock())
            except Exception:
                log.exception("home refresh round failed")
            self._wake.wait(self.seconds_until_due())


def refresh_after_commit(factory: sessionmaker[Session], refresher: HomeRefresher) -> None:
    """Hand each committed transaction's `bot.desk.commands.HOME` note to `refresher` (a rolled back or
    abandoned transaction's note is dropped). Runs in the committing thread: only a dict
    update, after the commit, so nothing is added to a click's ack or its transaction."""

    def committed(session: Session) -> None:
        concern = session.info.pop(HOME, None)
        if concern:
            try:
                refresher.request(concern["users"], concern["teams"])
            except Exception:  # the change is committed; a Home refresh must not undo that
                log.exception("home refresh could not be requested")

    def ended(session: Session, transaction: Any) -> None:
        if transaction.parent is None:  # the outermost: a savepoint keeps its parent's note
            session.info.pop(HOME, None)

    sa_event.listen(factory, "after_commit", committed)
    sa_event.listen(factory, "after_transaction_end", ended)
