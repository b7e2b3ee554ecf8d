"""`routing_rules.yaml`: `schema` (pydantic models of the contract; unknown keys are errors) and
`load` (YAML → `Rules`, every problem reported as `file:line: key: what is wrong`, all at once).
Pure like all of `bot.domain`: reading the file is the only I/O, and only in `load_rules`."""
