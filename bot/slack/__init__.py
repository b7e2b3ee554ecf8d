"""Everything Slack-shaped.

Pure presentation, usable from any layer: `blocks/` (Block Kit builders), `ids` (enums for
action, view and block ids; the typed button values), `text` (Slack markup → plain text),
`channels` (`#name` → channel id, resolved once).

The adapter between Slack and the desk, used by `handlers` only: `services` (`Services`, the
one object a listener gets, through `services_of(context)`; `COMMANDS` maps action ids to desk
commands), `events` (each Slack event processed once), `render` (an outbox row → the message
it becomes).

`blocks`, `ids` and `text` import only `bot.domain` and `bot.reports.figures` (pure values).
"""
