"""The App Home tab: `refresh` reads what a user's Home shows (their queue, the teams' counts,
the sources' health) and keeps the Homes of the people a desk change concerns current, from a
background thread paced under `views.publish`'s limit.

Imports: `bot.domain`, `bot.kit`, `bot.desk` (who a change concerns), `bot.listening.health`,
`bot.outbox` (its Slack error types), `bot.slack.blocks`. Not `bot.timers` (same layer).
"""
