"""The urgent search's queries: a gap's P1 candidates asked of X recent search first.

`queries(scope, cues)` writes `<scope> (<cue> OR <cue> …) -is:retweet`: `scope` is what the
source reads (`@brand` for the mentions timeline, the source's own `(query)` for a search), the
cues the rules' P1s (bot.domain.rules.urgent): words bare, phrases quoted, authors `from:`.
X refuses a query over 512 characters: the cues are split over as many queries as they need
(each within the limit); a cue that cannot fit even alone is left out.
"""

from __future__ import annotations

import re

from bot.domain.rules.urgent import Cue

MAX_QUERY = 512  # X recent search's query limit (pay-per-use and Basic)
_BARE = re.compile(r"^[a-z0-9_]+$")
_HANDLE = re.compile(r"^[A-Za-z0-9_]{1,15}$")


def term(cue: Cue) -> str | None:
    """One cue in X's query syntax (None: not a handle X has)."""
    if cue.kind == "author":
        return f"from:{cue.value}" if _HANDLE.match(cue.value) else None
    words = " ".join(cue.value.replace('"', " ").split())
    return words if _BARE.match(words) else f'"{words}"'


def queries(scope: str, cues: tuple[Cue, ...], *, limit: int = MAX_QUERY) -> list[str]:
    """The fewest queries, each ≤ `limit` characters, that together ask for every cue."""
    terms = [t for t in dict.fromkeys(term(c) for c in cues) if t]
    out: list[str] = []
    chunk: list[str] = []
    for t in terms:
        if len(_query(scope, [*chunk, t])) <= limit:
            chunk.append(t)
        elif len(_query(scope, [t])) <= limit:
            out.append(_query(scope, chunk))
            chunk = [t]
    if chunk:
        out.append(_query(scope, chunk))
    return out


def _query(scope: str, terms: list[str]) -> str:
    either = " OR ".join(terms)
    return f"{scope} ({either}) -is:retweet" if len(terms) > 1 else f"{scope} {either} -is:retweet"
