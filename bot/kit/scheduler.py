"""The APScheduler 3 scheduler every timed job runs on: `max_instances=1` (a slow run is never
overlapped by the next), `coalesce=True` (after a pause, one catch-up run, not a burst). Which
jobs it runs is decided by their owners (`bot.listening.jobs` for the polls, `bot.app`)."""

from __future__ import annotations

from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler


def build_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(timezone=UTC, job_defaults={
        "max_instances": 1, "coalesce": True,
        # A run that could not start on time (busy pool, suspended laptop) still runs late.
        "misfire_grace_time": None})
