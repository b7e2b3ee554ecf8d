"""PURE routing: the rules file's rules, top to bottom, applied to one scored mention.

Every matching rule applies; the first `team` wins; the most urgent `priority` wins;
any `approval: required` wins; `matched_rules` records why.

In detail (ARCHITECTURE.md, "routing_rules.yaml"):
- rules with `enabled: false` are skipped;
- team: the first matched rule that names one, else `rules.default_team`;
- priority: the most urgent of the enrichment's priority and every matched rule's;
- risk: the enrichment's risks, then each matched rule's, in order, without repeats;
- approval: required when a matched rule says `approval: required` or any risk is in
  `policy.approval_for_risk`; `approval: not_required` never undoes either;
- outcome_hint: the first matched rule that gives one.

Each `when:` is compiled once per `Rules` value into a predicate over (mention, enrichment,
lowercased text); `matches` is that predicate for one condition. `text_matches` regexes are the
rules file's (compiled case-insensitive by the schema). Before searching one, routing checks
that some text every match of it must contain (`lost ` for `lost (my )?(bag|luggage)`, one of
`wish`, `would love` for `(wish|would love).*app`) occurs in the text at all: a regex search
is far slower than a substring test and most mentions match none of the rules' regexes. The
check only skips searches that cannot succeed; what matches is unchanged.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain.mention import Mention
from bot.domain.rules.schema import Condition, Rule, Rules, priority_rank
from bot.domain.scoring.cues import lower_for_matching
from bot.domain.scoring.enrich import Enrichment

# The stdlib's regex parser: private (and so untyped: Any), so a Python without it just skips
# the shortcut.
_sre_constants: Any
_sre_parser: Any
try:
    _sre_constants = importlib.import_module("re._constants")
    _sre_parser = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _sre_parser = None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    team: str
    priority: str  # P1..P4
    approval_required: bool
    risk: tuple[str, ...]
    outcome_hint: str | None
    matched_rules: tuple[str, ...]


MIN_LITERAL = 3  # shorter strings are in nearly every text: not worth a test


def required_text(pattern: str) -> tuple[str, ...] | None:
    """Strings (ASCII, lowercased) one of which every match of `pattern` contains, each at
    least MIN_LITERAL long; None when no such set is found.

    Reads the parsed pattern: a run of literal characters (groups that match exactly once are
    read through, zero-width anchors such as \\b stepped over), or an alternation each of whose
    branches has such strings. Repeats, classes, look-arounds and back-references end a run.
    With `lower_for_matching`, "one of them is in the lowered text" is then a necessary
    condition for `re.search(pattern, text, re.IGNORECASE)`.
    """
    if _sre_parser is None:
        return None
    try:
        parsed = _sre_parser.parse(pattern, re.IGNORECASE)
    except Exception:  # the schema compiled it; if this private parser balks, no shortcut
        return None
    return _requirement(parsed)


def _requirement(items: Iterable[Any]) -> tuple[str, ...] | None:
    c = _sre_constants
    best: tuple[str, ...] | None = None
    run: list[str] = []

    def offer(needles: tuple[str, ...]) -> None:
        nonlocal best
        shortest = min(map(len, needles))
        if shortest >= MIN_LITERAL and (
            best is None or (shortest, -len(needles)) > (min(map(len, best)), -len(best))
        ):
            best = needles

    def end_run() -> None:
        if run:
            offer(("".join(run).lower(),))
            run.clear()

    def walk(seq: Iterable[Any]) -> None:
        for op, av in seq:
            if op is c.LITERAL and av < 128:
                run.append(chr(av))
            elif op is c.AT:
                continue  # zero-width: the characters either side stay adjacent
            elif op is c.SUBPATTERN:
                walk(av[-1])  # (group, add_flags, del_flags, items): matches exactly once
            elif op is c.BRANCH:
                end_run()
                branches = [_requirement(branch) for branch in av[1]]
                if all(branches):
                    offer(tuple(dict.fromkeys(s for b in branches if b for s in b)))
            else:
                end_run()

    walk(items)
    end_run()
    return best


# A compiled condition: (mention, enrichment, lower_for_matching(mention.text)) → holds?
Check = Callable[[Mention, Enrichment, str], bool]


def _text_check(patterns: tuple[re.Pattern[str], ...]) -> Check:
    # Flat (needle, pattern) pairs, one per string a pattern requires: one loop, no nested
    # one per pattern. A pattern with several needles may be searched once per needle found,
    # with the same result each time. Patterns without needles are always searched, last:
    # the order does not change the answer (whether any pattern matches).
    guarded: list[tuple[str, re.Pattern[str]]] = []
    unguarded: list[re.Pattern[str]] = []
    for p in patterns:
        needles = required_text(p.pattern)
        if needles is None:
            unguarded.append(p)
        else:
            guarded.extend((needle, p) for needle in needles)
    guarded_t, unguarded_t = tuple(guarded), tuple(unguarded)

    def check(m: Mention, e: Enrichment, low: str) -> bool:
        for needle, pattern in guarded_t:
            if needle in low and pattern.search(m.text):
                return True
        for pattern in unguarded_t:  # noqa: SIM110 - a plain loop costs less than any()
            if pattern.search(m.text):
                return True
        return False

    return check


def _lang_check(wanted: list[str]) -> Check:
    """`en` matches `en` and `en-GB`; a mention without a language (none given, none
    detected) counts as `und`."""
    exact = frozenset(w.lower() for w in wanted)
    prefixes = tuple(w.lower() + "-" for w in wanted)

    def check(m: Mention, e: Enrichment, low: str) -> bool:
        lang = (m.lang or e.lang or "und").lower()  # the network's, else the detected one
        return lang in exact or lang.startswith(prefixes)

    return check


def _all_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(m: Mention, e: Enrichment, low: str) -> bool:
        for c in checks:  # noqa: SIM110 - a plain loop: all() over a generator costs more
            if not c(m, e, low):
                return False
        return True

    return check


def _any_of(checks: list[Check]) -> Check:
    def check(m: Mention, e: Enrichment, low: str) -> bool:
        for c in checks:  # noqa: SIM110 - as above
            if c(m, e, low):
                return True
        return False

    return check


def compile_condition(cond: Condition) -> Check:
    """One `when:` as a predicate. Every key given must hold; `all`/`any`/`not` nest."""
    checks: list[Check] = []
    if cond.text_matches is not None:
        checks.append(_text_check(cond.patterns))
    if cond.author_type is not None:
        author_types = frozenset(cond.author_type)
        checks.append(lambda m, e, low: e.author_type in author_types)
    if cond.author_in is not None:
        handles = frozenset(h.lstrip("@").lower() for h in cond.author_in)
        checks.append(lambda m, e, low: m.author.handle.lstrip("@").lower() in handles)
    if cond.sentiment is not None:
        sentiments = frozenset(cond.sentiment)
        checks.append(lambda m, e, low: e.sentiment in sentiments)
    if cond.followers_at_least is not None:
        at_least = cond.followers_at_least
        checks.append(lambda m, e, low: m.author.followers >= at_least)
    if cond.network is not None:
        networks = frozenset(cond.network)
        checks.append(lambda m, e, low: m.network in networks)
    if cond.source is not None:
        sources = frozenset(cond.source)
        checks.append(lambda m, e, low: m.source_id in sources)
    if cond.lang is not None:
        checks.append(_lang_check(cond.lang))
    if cond.risk is not None:
        risks = frozenset(cond.risk)
        checks.append(lambda m, e, low: not risks.isdisjoint(e.risk))
    if cond.all is not None:
        checks.append(_all_of([compile_condition(c) for c in cond.all]))
    if cond.any is not None:
        checks.append(_any_of([compile_condition(c) for c in cond.any]))
    if cond.not_ is not None:
        negated = compile_condition(cond.not_)
        checks.append(lambda m, e, low: not negated(m, e, low))
    if not checks:  # the schema refuses empty conditions; an empty `all` would hold anyway
        return lambda m, e, low: True
    return _all_of(checks)


# Compiled once per Rules (or Condition) value, kept by id with the value itself held, so an
# id is never reused while its entry lives. A reload makes a new Rules: old entries go when full.
_COMPILED: dict[int, tuple[object, Any]] = {}
_COMPILED_MAX = 256
_LOCK = threading.Lock()


def _cached(key: object, build: Callable[[], Any]) -> Any:
    entry = _COMPILED.get(id(key))
    if entry is not None and entry[0] is key:
        return entry[1]
    value = build()
    with _LOCK:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[id(key)] = (key, value)
    return value


class _Plan:
    """What routing needs of one Rules value, worked out once, and the decisions made so far.

    A decision depends only on which rules matched and on the enrichment's priority and risks,
    and few such combinations occur: each is worked out once, and its (immutable)
    RouteDecision is returned again for every later mention with the same combination. The
    table is bounded (when full it starts over) and needs no lock: threads that race on it
    at worst work out the same decision twice.
    """

    __slots__ = ("approval_for_risk", "checks", "decisions", "default_team", "rules")

    def __init__(self, rules: Rules):
        self.rules: tuple[Rule, ...] = tuple(r for r in rules.rules if r.enabled)
        self.checks = tuple((i, compile_condition(r.when)) for i, r in enumerate(self.rules))
        self.approval_for_risk = frozenset(rules.policy.approval_for_risk)
        self.default_team = rules.default_team
        self.decisions: dict[tuple[tuple[int, ...], str, tuple[str, ...]], RouteDecision] = {}


_DECISIONS_MAX = 4096


def _plan(rules: Rules) -> _Plan:
    return _cached(rules, lambda: _Plan(rules))


def _lowered(mention: Mention, enrichment: Enrichment) -> str:
    """`lower_for_matching(mention.text)`: the one `enrich` made when it scored this text."""
    low = enrichment.text_lower
    return low if low is not None else lower_for_matching(mention.text)


def matches(cond: Condition, mention: Mention, enrichment: Enrichment) -> bool:
    """Whether one `when:` holds for a scored mention."""
    check = _cached(cond, lambda: compile_condition(cond))
    return check(mention, enrichment, _lowered(mention, enrichment))


def route(mention: Mention, enrichment: Enrichment, rules: Rules) -> RouteDecision:
    plan = _plan(rules)
    low = _lowered(mention, enrichment)
    matched = tuple([i for i, check in plan.checks if check(mention, enrichment, low)])
    key = (matched, enrichment.priority, tuple(enrichment.risk))
    decision = plan.decisions.get(key)
    if decision is None:
        decision = _decide(plan, *key)
        if len(plan.decisions) >= _DECISIONS_MAX:
            plan.decisions.clear()
        plan.decisions[key] = decision
    return decision


def _decide(plan: _Plan, matched: tuple[int, ...], priority: str,
            risks: tuple[str, ...]) -> RouteDecision:
    """The decision when the rules at these indexes (of `plan.rules`) matched."""
    team: str | None = None
    approval = False
    risk = list(dict.fromkeys(risks))
    hint: str | None = None
    for i in matched:
        then = plan.rules[i].then
        if team is None and then.team:
            team = then.team
        if then.priority and priority_rank(then.priority) < priority_rank(priority):
            priority = then.priority
        if then.approval == "required":
            approval = True
        for r in then.risk:
            if r not in risk:
                risk.append(r)
        if hint is None and then.outcome_hint:
            hint = then.outcome_hint
    if not approval:
        approval = not plan.approval_for_risk.isdisjoint(risk)
    return RouteDecision(
        team=team or plan.default_team,
        priority=priority,
        approval_required=approval,
        risk=tuple(risk),
        outcome_hint=hint,
        matched_rules=tuple(plan.rules[i].name for i in matched),
    )
