"""Jobs that run on time rather than on a click.

- `sla`: remind at 75 % of a reply's time, escalate at breach, each once per deadline;
- `alerts`: the spike job, one alert per storm, the crisis thread; `spike_counts`: its SQL.

Imports: `bot.domain`, `bot.kit`, `bot.desk`, `bot.outbox`, `bot.reports` (figures),
`bot.slack.blocks`. Not `bot.home` (same layer) or `handlers`.
"""
