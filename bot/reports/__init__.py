"""Reports: how the desk is doing over a period.

    period.py       `today|7d|30d|YYYY-MM-DD..YYYY-MM-DD` → a UTC interval (pure)
    figures.py      `Report` and its parts (pure values)
    command.py      `/social …` text → a typed request (pure)
    text.py         the report as terminal text (pure)
    chart.py        the chart: figures in, PNG bytes out (pure)
    queries.py      the figures, computed with SQL aggregates on SQLite and PostgreSQL
    cube.py         the period's counts from one scan (by network, team, sentiment, SLA, outcome)
    percentiles.py  percentile_cont on both backends, several measures from one scan
    weekly.py       the weekly executive report: when it is due, and the job that queues it once
    service.py      `/social report|status|export|help`: parse, compute, answer in Slack

Imports: `bot.domain`, `bot.kit`, `bot.listening.health`, `bot.outbox`, `bot.slack.blocks`.
The pure modules import nothing with I/O, so Block Kit builders may use `figures`. Import the
module you need: this package re-exports nothing, so importing a pure module stays pure.
"""
