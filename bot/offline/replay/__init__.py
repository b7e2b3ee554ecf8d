"""`socialbot replay FILE`: `input` (which format a file is in, and readers that stream
`Mention`s), `run` (parse → enrich → route → table or JSON lines, in batches, never the whole
file in memory), `progress` (the `\\r` progress bar on stderr)."""
