"""One poll job per source on the scheduler (bot.kit.scheduler), at its `every`, with jitter so
sources with the same interval don't hit the networks in lockstep. The job body is
`bot.listening.polling.poll_source`, wrapped by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.networks.base import Source

MAX_JITTER_SECONDS = 30
# While a gap is open (a storm bigger than a poll's page cap), the source polls again this
# soon instead of at its `every`: the rules' shortest `every`, so P1s found in the backlog reach
# the desk within minutes. The monthly budget still slows or pauses it (bot.listening.polling).
# A source that knows its network's rate limit says how soon instead (`backfill_every`: X's
# from its documented requests per 15 min).
BACKFILL_EVERY = timedelta(seconds=15)


def backfill_every(source: object) -> timedelta:
    """How soon `source` polls again while a gap is open: its own pace when it has one."""
    every = getattr(source, "backfill_every", None)
    return every if isinstance(every, timedelta) else BACKFILL_EVERY


def poll_job_id(source_id: str) -> str:
    return f"poll:{source_id}"


def schedule_polls(scheduler: BackgroundScheduler, sources: list[Source],
                   run_poll: Callable[[Source], object], *, now: datetime | None = None) -> None:
    """(Re)schedule one job per source; jobs of sources no longer configured are removed."""
    wanted = {poll_job_id(s.spec.id) for s in sources}
    for job in scheduler.get_jobs():
        if job.id.startswith("poll:") and job.id not in wanted:
            job.remove()
    for source in sources:
        every = source.spec.every.total_seconds()
        scheduler.add_job(
            run_poll, IntervalTrigger(seconds=every, jitter=min(every / 10, MAX_JITTER_SECONDS)),
            args=[source], id=poll_job_id(source.spec.id), name=f"poll {source.spec.id}",
            replace_existing=True, next_run_time=now or datetime.now(UTC))  # first poll at once


def hurry(scheduler: BackgroundScheduler, source_id: str, at: datetime) -> None:
    """Run `source_id`'s next poll at `at` when it was due later (a gap is being backfilled)."""
    job = scheduler.get_job(poll_job_id(source_id))
    if job is not None and job.next_run_time is not None and job.next_run_time > at:
        job.modify(next_run_time=at)
