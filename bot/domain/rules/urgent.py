"""What makes a post P1, as words and authors a network's search can look for.

While a storm's backlog is read page by page (bot.networks.gaps), an urgent search asks the
network for the backlog's P1 candidates first (bot.networks.x.urgent). Its cues come from the
one place that makes P1: the rules file's enabled rules whose `then.priority` is P1 — their
`text_matches` read as words (`'\\bsue\\b'` → sue, `'eu ?261'` → "eu 261", eu261) and their
`author_type`/`author_in` as handles (`press: [skiftnews]` → from skiftnews). A condition is
reduced to cues that every post it matches must carry (a `when` with several keys or `all`:
one searchable key is enough; `any`: each branch must be searchable); a rule no search can
express (`sentiment`, `followers_at_least`, `risk`, `not`, a regex class such as `[A-Z0-9]{6}`)
gives none, and its P1s arrive at the backlog's pace. A rule for other networks or sources only
(`network`, `source`) gives none either.

The cues over-approximate where they can and are words, not regexes: X matches whole words,
so a pattern such as `'lawyer'` (which the rule also matches inside "lawyers") finds "lawyer"
only. The search only hurries posts: the backlog is still read whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.domain.rules.schema import Condition, Rules

MAX_EXPANSIONS = 16  # a pattern that reads as more phrases than this is left out
_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'-# ")


@dataclass(frozen=True, slots=True)
class Cue:
    kind: Literal["words", "author"]
    value: str  # lowercase words separated by one space; a handle without @


def urgent_cues(rules: Rules, *, network: str, source_id: str | None = None) -> tuple[Cue, ...]:
    """The cues of the rules' P1s on `network` (and `source_id`), in the rules' order."""
    out: dict[Cue, None] = {}
    for rule in rules.rules:
        if not rule.enabled or rule.then.priority != "P1":
            continue
        for cue in _needed(rule.when, rules, network, source_id) or ():
            out.setdefault(cue)
    return tuple(out)


def _needed(cond: Condition, rules: Rules, network: str,
            source_id: str | None) -> list[Cue] | None:
    """Cues one of which every post matching `cond` carries: [] when no post of `network` can
    match it, None when no search can say (the condition needs no words or author)."""
    if cond.network is not None and network not in cond.network:
        return []
    if cond.source is not None and source_id is not None and source_id not in cond.source:
        return []
    options: list[list[Cue] | None] = [_texts(cond.text_matches), _authors(cond, rules)]
    options += [_needed(c, rules, network, source_id) for c in cond.all or ()]
    if cond.any is not None:
        branches = [_needed(c, rules, network, source_id) for c in cond.any]
        merged: list[Cue] | None = [] if all(b is not None for b in branches) else None
        for b in branches:
            if merged is not None and b is not None:
                merged.extend(b)
        options.append(merged)
    known = [o for o in options if o is not None]
    if any(not o for o in known):
        return []  # one part no post of this network matches: neither does the whole
    return min(known, key=len) if known else None  # the narrowest: the fewest posts to read


def _texts(patterns: list[str] | None) -> list[Cue] | None:
    if patterns is None:
        return None
    out: list[Cue] = []
    for pattern in patterns:
        phrases = phrases_of(pattern)
        if phrases is None:
            return None  # one pattern no search can say: the condition as a whole cannot
        out.extend(Cue("words", p) for p in phrases)
    return out


def _authors(cond: Condition, rules: Rules) -> list[Cue] | None:
    handles: list[str] = list(cond.author_in or ())
    for kind in cond.author_type or ():
        listed = getattr(rules.authors, kind, None)
        if kind == "customer" or not isinstance(listed, list):
            return None  # customers are everyone unlisted; influencers a follower count
        handles.extend(listed)
    if cond.author_in is None and cond.author_type is None:
        return None
    return [Cue("author", h.lstrip("@").lower()) for h in handles]


def phrases_of(pattern: str) -> list[str] | None:
    """The phrases a `text_matches` regex matches, when it is words with alternatives
    (`a|b`, `(x|y)`), optional parts (`s?`, `(ref)?`, ` ?`) and `\\b`: lowercase, one space
    between words. None when it is more (a class, a repeat, `.`) or reads as too many."""
    try:
        parsed, end = _alternatives(pattern, 0)
    except ValueError:
        return None
    if end != len(pattern) or parsed is None:
        return None
    out = [" ".join(p.lower().split()) for p in parsed]
    out = list(dict.fromkeys(p for p in out if p))
    return out or None


def _alternatives(s: str, i: int) -> tuple[list[str] | None, int]:
    options: list[str] = []
    while True:
        seq, i = _sequence(s, i)
        if seq is None:
            return None, i
        options.extend(seq)
        if i < len(s) and s[i] == "|":
            i += 1
            continue
        return (options if len(options) <= MAX_EXPANSIONS else None), i


def _sequence(s: str, i: int) -> tuple[list[str] | None, int]:
    out = [""]
    while i < len(s) and s[i] not in "|)":
        atom, i = _atom(s, i)
        if atom is None:
            return None, i
        if i < len(s) and s[i] == "?":
            atom, i = [*atom, ""], i + 1
        out = [a + b for a in out for b in atom]
        if len(out) > MAX_EXPANSIONS:
            return None, i
    return out, i


def _atom(s: str, i: int) -> tuple[list[str] | None, int]:
    c = s[i]
    if c == "(":
        i += 3 if s.startswith("(?:", i) else 1
        inner, i = _alternatives(s, i)
        if inner is None or i >= len(s) or s[i] != ")":
            raise ValueError(f"unbalanced group in {s!r}")
        return inner, i + 1
    if c == "\\" and i + 1 < len(s):
        nxt = s[i + 1]
        if nxt == "b":
            return [""], i + 2
        if nxt == "s":
            return [" "], i + 2
        return ([nxt], i + 2) if nxt in ".-'#$" else (None, i)
    return ([c], i + 1) if c in _LITERAL else (None, i)
