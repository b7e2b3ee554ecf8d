"""APScheduler 3 jobs. The job bodies are plain functions elsewhere (bot.listening.polling); this module
only decides when they run.

One job per source at its `every`, `max_instances=1` (a slow poll is never overlapped by the
next), `coalesce=True` (after a pause, one catch-up run, not a burst), and jitter so sources
with the same interval don't hit the networks in lockstep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.networks.base import Source

log = logging.getLogger(__name__)

MAX_JITTER_SECONDS = 30


def build_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(timezone=UTC, job_defaults={
        "max_instances": 1, "coalesce": True,
        # A run that could not start on time (busy pool, suspended laptop) still runs late.
        "misfire_grace_time": None})


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
