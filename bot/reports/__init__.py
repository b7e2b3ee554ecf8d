"""Reports: how the desk is doing over a period.

    period.py   `today|7d|30d|YYYY-MM-DD..YYYY-MM-DD` → a UTC interval (pure)
    figures.py  `Report` and its parts (pure values)
    queries.py  the figures, computed with SQL aggregates on SQLite and PostgreSQL
    cube.py     the period's counts from one scan (by network, team, sentiment, SLA, outcome)
    percentiles.py  percentile_cont on both backends, several measures from one scan
    weekly.py   the weekly executive report: when it is due, and the job that queues it once
"""

from bot.reports.figures import (
    Approvals,
    AuthorReach,
    DayRow,
    Durations,
    MentionLine,
    Report,
    SlaRow,
)
from bot.reports.period import PERIOD_HELP, PeriodError, ReportPeriod, parse_period
from bot.reports.queries import compute_report, report_timezone

__all__ = ["PERIOD_HELP", "Approvals", "AuthorReach", "DayRow", "Durations", "MentionLine",
           "PeriodError", "Report", "ReportPeriod", "SlaRow", "compute_report", "parse_period",
           "report_timezone"]
