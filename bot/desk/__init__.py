"""The desk: what staff do to a mention, on the database, exactly once.

- `commands`: claim, draft, submit, approve, reject, send guard, tag, dismiss, reassign,
  correct — each `command(work, actor, ref, …)`, a compare-and-set through `workflow.decide`,
  audited, the card update queued in the same transaction; `card_view` reads a card's values;
- `work`: the unit of work a command runs in (session, rules, approvers, now);
- `send`: a reply sent exactly once (intent → one network call → reconcile); `amplify`: like
  or repost, once, audited;
- `directory`: who approves for a team (user groups expanded through Slack, cached).

Imports: `bot.domain`, `bot.kit`, `bot.networks.base` (publishers are injected), `bot.slack.ids`
(the typed button values). Never `bot.listening`, `bot.offline`, `bot.timers` or `handlers`.
"""
