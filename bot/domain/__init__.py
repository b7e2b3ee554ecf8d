"""The pure core: what a mention is and how the desk decides, with no I/O and no clock.

- `mention`: the normalised mention every source produces; `card`: the plain values a card shows.
- `workflow`: the mention's state machine (`MentionStatus`, `decide`); `errors`: the refusals a
  person sees; `outbox`: the kinds of Slack post a queued row becomes (`OutboxKind`).
- `sla`: due times in business hours and the one `is_overdue`; `spikes`: crisis detection from
  counts; `policy`: may this reply go out; `limits`: reply lengths as each network counts them
  (`graphemes`: UAX #29 clusters; `tweet_text`: twitter-text v3 URLs and weighted length);
  `health`: a source's health as people read it.
- `rules/`: the rules file (schema, loading); `scoring/`: VADER, triage, enrich, routing.

Imports: the standard library, pydantic and PyYAML (the rules file), vaderSentiment
(scoring), and `bot.domain` itself. Never SQLAlchemy, Slack, HTTP clients,
`bot.config` or any other `bot` package (enforced by `.importlinter`).
"""
