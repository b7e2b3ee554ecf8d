"""One poll of one source: fetch outside any transaction, then store or record the failure.

`poll_source` is the scheduler's job body and a plain function: tests call it with a fake
source and a fixed `now`. Every network failure becomes a state on the `source` row:
- 429 → wait until the network's reset time (never sleep in a thread), at most MAX_RATE_WAIT:
  a reset header is the network's word, and one 10 years ahead must not park a source for
  good (an unreadable one is the adapter's default wait); a rules reload (SIGHUP) ends the wait;
- 5xx / timeout, and any error the adapter did not expect (a bug, an answer it cannot read) →
  exponential backoff from `every`, capped at MAX_BACKOFF;
- 401 / 403 → unhealthy with the reason, skipped until the rules are reloaded;
- X monthly budget near → poll half as often; spent → pause until the next UTC month;
- YouTube daily quota (units, counted per UTC day as `reads`) past 80 % → half as often;
  spent → pause until the next UTC day (a `quotaExceeded` before YouTube's own reset at
  midnight Pacific then waits for that).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import waits
from bot.domain.redaction import redact
from bot.domain.rules.schema import Rules, SourceSpec
from bot.kit import models
from bot.kit.db import session_scope
from bot.listening.ingest import IngestResult, add_usage, source_row, store_fetch
from bot.listening.quarantine import is_poison
from bot.listening.watching import follows_conversations, watched
from bot.networks.base import (
    Fetch,
    RateLimited,
    Source,
    SourceAuthError,
    SourceError,
    SourceState,
    SourceUnavailable,
)
from bot.networks.gaps import describe

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
MAX_RATE_WAIT = waits.MAX_WAIT  # the longest a network's reset header is believed
RATE_LIMITED = "RateLimited"  # how `last_error` starts while a source waits for a reset
BUDGET_SLOWDOWN_AT = 0.8  # share of the monthly budget after which polls are halved
ERROR_TEXT_MAX = 500
STORE_ATTEMPTS = 3  # a unique-key race with another poll is settled by the next attempt


@dataclass(frozen=True, slots=True)
class PollOutcome:
    source_id: str
    status: str  # ok | not_modified | skipped | rate_limited | unavailable | auth_error | budget
    new: int = 0
    duplicates: int = 0
    threaded: int = 0  # posts that joined a card's thread (bot.listening.follow_ups)
    reads: int = 0
    detail: str = ""
    seconds: float = 0.0
    quarantined: int = 0
    gap_open: bool = False  # a page cap left posts unread: poll again soon (jobs.hurry)


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    return (start + timedelta(days=32)).replace(day=1)


def reads_this_month(session: Session, source_id: str, now: datetime) -> int:
    return session.scalar(select(func.coalesce(func.sum(models.SourceUsage.reads), 0)).where(
        models.SourceUsage.source_id == source_id,
        models.SourceUsage.day >= month_start(now).date())) or 0


def reads_today(session: Session, source_id: str, now: datetime) -> int:
    return session.scalar(select(func.coalesce(func.sum(models.SourceUsage.reads), 0)).where(
        models.SourceUsage.source_id == source_id,
        models.SourceUsage.day == now.astimezone(UTC).date())) or 0


def budget_share(session: Session, spec: SourceSpec, now: datetime) -> float | None:
    """Share of the source's allowance spent (1.0 = all): X's monthly budget (USD), YouTube's
    daily quota (units); None without one."""
    if spec.network == "youtube":
        return reads_today(session, spec.id, now) / spec.daily_quota
    if not spec.monthly_budget:
        return None
    return reads_this_month(session, spec.id, now) * spec.cost_per_read / spec.monthly_budget


def budget_spent(spec: SourceSpec, now: datetime) -> tuple[datetime, str]:
    """When polling resumes after the allowance is spent, and the line that says so."""
    if spec.network == "youtube":
        resume = (now.astimezone(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                  microsecond=0)
        return resume, (f"daily quota of {spec.daily_quota:,} units spent; polling resumes "
                        f"{resume:%Y-%m-%d %H:%M}Z")
    resume = next_month(now)
    return resume, (f"monthly budget of ${spec.monthly_budget or 0:.2f} spent; polling "
                    f"resumes {resume:%Y-%m-%d}")


def backoff(spec: SourceSpec, failures: int) -> timedelta:
    return min(spec.every * (2 ** max(failures - 1, 0)), MAX_BACKOFF)


def _short(exc: BaseException) -> str:
    # Stored on the source and shown by /social status and check: no URL credentials.
    return redact(f"{type(exc).__name__}: {exc}")[:ERROR_TEXT_MAX]


def _due(row: models.Source, now: datetime) -> str | None:
    """Why this source must not be polled now, or None."""
    if row.unhealthy_reason:
        return f"unhealthy: {row.unhealthy_reason}"
    if row.next_run_at and row.next_run_at > now:
        return f"waiting until {row.next_run_at.isoformat()}"
    return None


def poll_source(factory: sessionmaker[Session], source: Source, rules: Rules, *,
                clock: Callable[[], datetime],
                on_outcome: Callable[[PollOutcome], None] | None = None) -> PollOutcome:
    spec = source.spec
    now = clock()
    with session_scope(factory) as session:
        row = source_row(session, spec)
        reason = _due(row, now)
        share = budget_share(session, spec, now)
        if reason is None and share is not None and share >= 1.0:
            row.next_run_at, spent = budget_spent(spec, now)
            row.last_error, row.last_error_at = spent, now
            log.warning("source %s: %s", spec.id, row.last_error)
            reason = "budget"
        watch = watched(session, spec.id, now) if follows_conversations(source) else ()
        state = SourceState(row.cursor, row.etag, row.last_modified, row.backfill, watch,
                            row.marks)
    if reason is not None:
        outcome = PollOutcome(spec.id, "budget" if reason == "budget" else "skipped",
                              detail=reason)
        return _report(outcome, on_outcome)

    started = time.perf_counter()
    try:
        fetch = source.fetch(state, now=now)
    except SourceError as exc:
        return _report(_record_failure(factory, spec, exc, now,
                                       time.perf_counter() - started), on_outcome)
    except Exception as exc:
        # An adapter bug or an answer it cannot read must not fail the job at every `every`
        # without a trace on the source: it backs off like an outage, with the traceback logged.
        log.exception("source %s: the %s adapter failed", spec.id, spec.type)
        failure = SourceUnavailable(f"the {spec.type} adapter failed: {_short(exc)}")
        return _report(_record_failure(factory, spec, failure, now,
                                       time.perf_counter() - started), on_outcome)
    try:
        result = _store_retrying(factory, spec, fetch, rules, now=now, clock=clock)
    except Exception as exc:
        if not isinstance(exc, SQLAlchemyError) and not is_poison(exc):
            raise
        # Rolled back: the cursor did not move, so the next poll fetches the same posts again.
        # The reads were made (and billed) all the same, and the source backs off like after
        # an outage instead of hammering a database that is locked or down.
        cause = getattr(exc, "orig", None) or exc  # the driver's error, not the autoflush note
        failure = StoreFailed(f"storing {len(fetch.mentions)} mention(s) failed: "
                              f"{type(cause).__name__}: {str(cause).splitlines()[0][:200]}")
        failure.reads = fetch.reads
        log.error("source %s: %s", spec.id, failure)
        return _report(_record_failure(factory, spec, failure, now,
                                       time.perf_counter() - started), on_outcome)
    status = "not_modified" if fetch.not_modified else "ok"
    if result.quarantined:
        log.warning("source %s: %d post(s) could not be parsed or stored and were quarantined "
                    "(socialbot check --live); the rest of the poll is stored",
                    spec.id, result.quarantined)
    log.info("source %s: %d new, %d duplicate(s)%s%s", spec.id, len(result.new_mention_ids),
             result.duplicates,
             f", {result.thread_posts} in card threads" if result.thread_posts else "",
             " (not modified)" if fetch.not_modified else
             f", {fetch.reads} read" if fetch.reads else "")
    return _report(PollOutcome(spec.id, status, new=len(result.new_mention_ids),
                               duplicates=result.duplicates, threaded=result.thread_posts,
                               reads=fetch.reads,
                               detail="; ".join(fetch.notes),
                               seconds=time.perf_counter() - started,
                               quarantined=result.quarantined,
                               gap_open=bool(fetch.state.backfill)), on_outcome)


class StoreFailed(SourceUnavailable):
    """The fetch worked but its transaction did not commit (database locked, down, full)."""

    reads = 0


def _store_retrying(factory: sessionmaker[Session], spec: SourceSpec, fetch: Fetch,
                    rules: Rules, *, now: datetime, clock: Callable[[], datetime]
                    ) -> IngestResult:
    """`_store`, again when another poll committed the same author or post between our read
    and our insert (two feeds of one site starting together): the next attempt reads its rows
    and updates them instead of losing this poll for a whole `every`. When a post's values
    fail the page (a data error), the page is stored again post by post and that post
    quarantined, so the others are stored and the cursor moves."""
    one_by_one = False
    races = 0
    while True:
        try:
            return _store(factory, spec, fetch, rules, now=now, clock=clock,
                          one_by_one=one_by_one)
        except IntegrityError:
            races += 1
            if races == STORE_ATTEMPTS:
                raise
            log.info("source %s: another poll stored the same author or post first; "
                     "storing again", spec.id)
        except Exception as exc:
            if one_by_one or not is_poison(exc):
                raise
            log.warning("source %s: a post's values failed the page (%s); storing it post by "
                        "post", spec.id, _short(exc)[:200])
            one_by_one = True


def _store(factory: sessionmaker[Session], spec: SourceSpec, fetch: Fetch, rules: Rules, *,
           now: datetime, clock: Callable[[], datetime], one_by_one: bool = False
           ) -> IngestResult:
    """Store a fetch and mark the source healthy, in one transaction."""
    with session_scope(factory) as session:
        result = store_fetch(session, spec, fetch, rules, now=clock(), one_by_one=one_by_one)
        row = source_row(session, spec)  # the row store_fetch just wrote, from the session
        row.failures = 0
        row.last_error = None
        share = budget_share(session, spec, now)
        # Near the budget: skip every other scheduled run, and say so on the source.
        if share is not None and share >= BUDGET_SLOWDOWN_AT:
            row.next_run_at = now + spec.every * 2
            allowance = "daily quota" if spec.network == "youtube" else "monthly budget"
            row.last_error = (f"{share:.0%} of the {allowance} spent: polling every "
                              f"{int((spec.every * 2).total_seconds())}s")
        else:
            row.next_run_at = None
    for note in fetch.notes:
        log.info("source %s: %s", spec.id, note)
    if fetch.state.backfill:
        # A page cap left posts unread: not lost, read by the next polls; a human should know.
        log.warning("source %s: gap open: %s not read yet; the next polls read them "
                    "(%d read this poll to close it)", spec.id, describe(fetch.state.backfill),
                    fetch.backfill_reads)
    elif result.gap_closed:
        log.info("source %s: gap closed: every post up to the cursor is read", spec.id)
    return result


def _record_failure(factory: sessionmaker[Session], spec: SourceSpec, exc: SourceError,
                    now: datetime, seconds: float) -> PollOutcome:
    with session_scope(factory) as session:
        row = source_row(session, spec)
        row.last_error, row.last_error_at = _short(exc), now
        reads = getattr(exc, "reads", 0) or 0  # pages read before the failure are billed too
        add_usage(session, spec.id, reads, now)
        if isinstance(exc, RateLimited):
            row.next_run_at = rate_wait(spec, exc, now)
            status = "rate_limited"
        elif isinstance(exc, SourceAuthError):
            row.unhealthy_reason = redact(str(exc))[:ERROR_TEXT_MAX] or type(exc).__name__
            status = "auth_error"
        else:  # SourceUnavailable, or another SourceError: transient until proven otherwise
            row.failures = (row.failures or 0) + 1
            row.next_run_at = now + backoff(spec, row.failures)
            status = "unavailable"
        next_run = row.next_run_at
    log.warning("source %s: %s (%s)%s", spec.id, status, _short(exc),
                f"; next poll at {next_run.isoformat()}" if next_run and status != "auth_error"
                else "")
    return PollOutcome(spec.id, status, reads=getattr(exc, "reads", 0) or 0, detail=_short(exc),
                       seconds=seconds)


def rate_wait(spec: SourceSpec, exc: RateLimited, now: datetime) -> datetime:
    """When a rate-limited source may call again: the network's reset, at most MAX_RATE_WAIT
    ahead (logged when cut) unless the adapter computed it by the network's documented rule."""
    until = max(exc.reset_at, now)
    if exc.from_network and until > now + MAX_RATE_WAIT:
        log.warning("source %s: the network asked to wait until %s; waiting %s at most "
                    "(MAX_RATE_WAIT)", spec.id, exc.reset_at.isoformat(), MAX_RATE_WAIT)
        until = now + MAX_RATE_WAIT
    return until


def _report(outcome: PollOutcome,
            on_outcome: Callable[[PollOutcome], None] | None) -> PollOutcome:
    if on_outcome is not None:
        on_outcome(outcome)
    return outcome


def reset_unhealthy(factory: sessionmaker[Session]) -> int:
    """After a rules reload: give every source marked unhealthy, or waiting for a rate
    limit's reset, another chance; how many."""
    with session_scope(factory) as session:
        rows = session.scalars(select(models.Source).where(
            models.Source.unhealthy_reason.is_not(None)
            | (models.Source.next_run_at.is_not(None)
               & models.Source.last_error.startswith(RATE_LIMITED)))).all()
        for row in rows:
            row.unhealthy_reason = None
            row.failures = 0
            if (row.last_error or "").startswith(RATE_LIMITED):
                row.next_run_at = None
        return len(rows)
