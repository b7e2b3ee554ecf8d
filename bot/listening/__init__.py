"""Listening: from the networks to stored mentions.

- `registry`: the rules' `sources[]` → network sources, with what is missing when one can't be
  built; `jobs`: one scheduler job per source;
- `polling`: one poll of one source (fetch outside any transaction, then store, or record the
  failure: rate limit, backoff, parked), X's read budget;
- `ingest`: dedupe → enrich → route → mentions, authors, cursor and card rows, one transaction;
- `health`: each source's `SourceHealth` from its stored state.

Imports: `bot.domain`, `bot.kit`, `bot.networks`, `bot.config`. Not the desk, Slack or reports.
"""
