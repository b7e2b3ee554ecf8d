"""X recent search's query language, as far as the bot writes it, for the fake X.

A query is terms joined by spaces (AND) or `OR`, grouped with parentheses, each negated with a
leading `-`: a bare word matches a word of the text (case-insensitive, whole words: "sue" is
not in "issue"), a quoted phrase its words in a row, `@handle` a mention of the account (the
post's `entities.mentions` or its text), `#tag` a hashtag, `from:handle` the author,
`is:retweet` and `is:reply` the post's kind. AND binds tighter than OR, as on X. Any other
operator, an unbalanced parenthesis or quote, or an empty query is X's 400 (`QueryError`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

Post = Mapping[str, Any]
Users = Mapping[str, Mapping[str, Any]]
Predicate = Callable[[Post, Users], bool]

_TOKEN = re.compile(r'\s*(-?"[^"]*"|\(|\)|-?[^\s()"]+)')
_WORD = re.compile(r"[a-z0-9_]+")


class QueryError(ValueError):
    """A query X would refuse."""


def matches(query: str, post: Post, users: Users) -> bool:
    return compile_query(query)(post, users)


@functools.lru_cache(maxsize=64)
def compile_query(query: str) -> Predicate:
    tokens = _tokens(query)
    if not tokens:
        raise QueryError("empty query")
    pred, i = _or(tokens, 0)
    if i != len(tokens):
        raise QueryError(f"unexpected {tokens[i]!r}")
    return pred


def _tokens(query: str) -> list[str]:
    out, i = [], 0
    query = query.strip()
    while i < len(query):
        m = _TOKEN.match(query, i)
        if m is None:
            raise QueryError(f"cannot read {query[i:]!r}")
        out.append(m.group(1))
        i = m.end()
        while i < len(query) and query[i].isspace():
            i += 1
    return out


def _or(tokens: list[str], i: int) -> tuple[Predicate, int]:
    parts = []
    while True:
        part, i = _and(tokens, i)
        parts.append(part)
        if i < len(tokens) and tokens[i] == "OR":
            i += 1
            continue
        return (lambda p, u: any(f(p, u) for f in parts)), i


def _and(tokens: list[str], i: int) -> tuple[Predicate, int]:
    parts = []
    while i < len(tokens) and tokens[i] not in ("OR", ")"):
        part, i = _unary(tokens, i)
        parts.append(part)
    if not parts:
        raise QueryError("an empty group or a dangling OR")
    return (lambda p, u: all(f(p, u) for f in parts)), i


def _unary(tokens: list[str], i: int) -> tuple[Predicate, int]:
    tok = tokens[i]
    if tok == "(":
        inner, i = _or(tokens, i + 1)
        if i >= len(tokens) or tokens[i] != ")":
            raise QueryError("unbalanced parenthesis")
        return inner, i + 1
    if tok.startswith("-") and len(tok) > 1:
        inner = _atom(tok[1:])
        return (lambda p, u: not inner(p, u)), i + 1
    return _atom(tok), i + 1


def _atom(tok: str) -> Predicate:
    low = tok.lower()
    if low.startswith('"'):
        if len(low) < 2 or not low.endswith('"'):
            raise QueryError("unbalanced quote")
        phrase = _WORD.findall(low[1:-1])
        return lambda p, u: _in_a_row(phrase, _WORD.findall(str(p.get("text", "")).lower()))
    if low.startswith("@"):
        return lambda p, u: _mentions(p, low[1:])
    if low.startswith("#"):
        return lambda p, u: low in re.findall(r"#\w+", str(p.get("text", "")).lower())
    if low.startswith("from:"):
        return lambda p, u: str((u.get(str(p.get("author_id"))) or {}).get(
            "username", "")).lower() == low[5:]
    if low in ("is:retweet", "is:reply"):
        kind = "retweeted" if low == "is:retweet" else "replied_to"
        return lambda p, u: any(r.get("type") == kind for r in p.get("referenced_tweets") or ())
    if ":" in low or not _WORD.fullmatch(low):
        raise QueryError(f"operator or term not understood here: {tok!r}")
    return lambda p, u: low in _WORD.findall(str(p.get("text", "")).lower())


def _in_a_row(phrase: list[str], words: list[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(words[i:i + n] == phrase for i in range(len(words) - n + 1))


def _mentions(post: Post, handle: str) -> bool:
    entities = post.get("entities") or {}
    if any(str(m.get("username", "")).lower() == handle for m in entities.get("mentions") or ()):
        return True
    return re.search(rf"(?<![\w@])@{re.escape(handle)}(?!\w)", str(post.get("text", "")),
                     re.IGNORECASE) is not None
