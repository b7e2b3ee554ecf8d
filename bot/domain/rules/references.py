"""Names used in one place of the rules file that another place must define: teams, outcomes,
source ids, and ids and rule names that must be unique. PURE.

Checked on plain data — the parsed YAML, or a validated `Rules` dumped back to it — so that a
file with schema errors gets its reference errors in the same report: one round to fix it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Problem = tuple[tuple[str | int, ...], str]  # (key path, what is wrong)
DEFAULT_OUTCOMES = ("resolved", "lead", "case_opened", "feature_request", "competitor_intel",
                    "no_action")


def _items(value: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """The mappings of a list, with their index; anything else (a schema error) gives none."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, Mapping)]


def _names(value: Any) -> list[tuple[int, str]]:
    """A string or a list of strings (the schema's StrList), with their index."""
    if isinstance(value, str):
        return [(0, value)]
    if isinstance(value, list):
        return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]
    return []


def reference_problems(data: Mapping[str, Any]) -> Iterator[Problem]:
    teams = data.get("teams")
    team_ids = set(teams) if isinstance(teams, Mapping) else set()
    known = ", ".join(sorted(team_ids))
    default_team = data.get("default_team")
    if isinstance(default_team, str) and team_ids and default_team not in team_ids:
        yield ("default_team",), f"unknown team {default_team!r} (teams: {known})"
    source_ids: set[str] = set()
    for i, source in _items(data.get("sources")):
        sid = source.get("id")
        if isinstance(sid, str):
            if sid in source_ids:
                yield ("sources", i, "id"), f"duplicate source id {sid!r}"
            source_ids.add(sid)
    outcomes = [name for _, name in _names(data.get("outcomes", list(DEFAULT_OUTCOMES)))]
    rule_names: set[str] = set()
    for i, rule in _items(data.get("rules")):
        yield from _rule_problems(i, rule, team_ids, known, outcomes, source_ids)
        name = rule.get("name")
        if isinstance(name, str):
            if name in rule_names:
                yield ("rules", i, "name"), f"duplicate rule name {name!r}"
            rule_names.add(name)
    for i, template in _items(data.get("templates")):
        for j, team in _names(template.get("teams")):
            if team_ids and team not in team_ids:
                yield ("templates", i, "teams", j), f"unknown team {team!r} (teams: {known})"


def _rule_problems(i: int, rule: Mapping[str, Any], team_ids: set[str], known: str,
                   outcomes: list[str], source_ids: set[str]) -> Iterator[Problem]:
    then = rule.get("then")
    if isinstance(then, Mapping):
        team, hint = then.get("team"), then.get("outcome_hint")
        if isinstance(team, str) and team_ids and team not in team_ids:
            yield ("rules", i, "then", "team"), f"unknown team {team!r} (teams: {known})"
        if isinstance(hint, str) and hint not in outcomes:
            yield (("rules", i, "then", "outcome_hint"),
                   f"unknown outcome {hint!r} (outcomes: {', '.join(outcomes)})")
    for path, cond in _conditions(rule.get("when"), ("rules", i, "when")):
        for j, source in _names(cond.get("source")):
            if source not in source_ids:
                yield (*path, "source", j), f"unknown source {source!r}"


def _conditions(cond: Any, path: tuple[str | int, ...]
                ) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    """Every condition mapping inside `when`, nested `all`/`any`/`not` included."""
    if not isinstance(cond, Mapping):
        return
    yield path, cond
    for key in ("all", "any"):
        for i, sub in _items(cond.get(key)):
            yield from _conditions(sub, (*path, key, i))
    yield from _conditions(cond.get("not"), (*path, "not"))
