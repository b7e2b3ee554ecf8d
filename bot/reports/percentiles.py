"""`percentile_cont` on SQLite and PostgreSQL: several measures from one scan of their rows.

Semantics are PostgreSQL's `percentile_cont` (linear interpolation between the two nearest
ranks; NULL values ignored). PostgreSQL computes them itself, all fractions of a measure from
one sort (`percentile_cont(ARRAY[…])`). SQLite has no percentile function: each measure is
numbered by `row_number()` over its sorted values (NULLs last) and only the values at the ranks
the percentiles need leave the database; the non-NULL counts come from the caller, who has them
from an earlier aggregate, so the ranks are known before the sort.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    SQLColumnExpression,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session

Values = list[float | None]
Instant = SQLColumnExpression[datetime | None]  # a timestamp column, or an expression of one


def is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def seconds_between(session: Session, end: Instant, start: Instant) -> ColumnElement[float]:
    """`end - start` in seconds, as a float, in SQL (NULL when either is NULL)."""
    if is_pg(session):
        # date_part is a double; EXTRACT is numeric since PostgreSQL 14, twice as slow here.
        return func.date_part("epoch", end - start, type_=Float)
    # julianday is a double in days: ~20 µs of noise per value, rounded away to milliseconds.
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


def _spots(n: int, ps: Sequence[float]) -> list[tuple[int, float]]:
    """(0-based rank below, interpolation fraction) for each percentile of n sorted values."""
    return [(math.floor(p * (n - 1)), p * (n - 1) - math.floor(p * (n - 1))) for p in ps]


def ranks_needed(n: int, ps: Sequence[float]) -> list[int]:
    """The 1-based ranks whose values `percentile_cont` needs."""
    return sorted({r + 1 + extra for r, frac in _spots(n, ps)
                   for extra in ((0, 1) if frac else (0,)) if r + 1 + extra <= n})


def interpolate(n: int, ps: Sequence[float], at: Mapping[int, float]) -> Values:
    """The percentiles from the values `at` the ranks `ranks_needed(n, ps)`."""
    if n == 0:
        return [None for _ in ps]
    out: Values = []
    for r, frac in _spots(n, ps):
        lo = at[r + 1]
        out.append(lo + (at[r + 2] - lo) * frac if frac and (r + 2) in at else lo)
    return out


def pg_percentiles(value: ColumnElement[float], ps: Sequence[float]) -> ColumnElement[Any]:
    """PostgreSQL: `percentile_cont(ARRAY[ps…]) WITHIN GROUP (ORDER BY value)`, one sort."""
    fractions = array([literal(p, Float) for p in ps], type_=Float)
    return func.percentile_cont(fractions).within_group(value)


def as_values(found: Sequence[float | None] | None, ps: Sequence[float]) -> Values:
    """A PostgreSQL percentile array as floats (None when there were no values)."""
    return [None if v is None else float(v) for v in (found or [None] * len(ps))]


def percentiles(session: Session, measures: Mapping[str, ColumnElement[float]],
                where: Sequence[ColumnElement[bool]], counts: Mapping[str, int],
                ps: Sequence[float] = (0.5, 0.9), *,
                join: FromClause | None = None) -> dict[str, tuple[int, Values]]:
    """{name: (non-NULL count, [percentile_cont(p) for p in ps])} for each measure over the
    rows matching `where` (from `join` when given). `counts[name]` is the measure's non-NULL
    count over those rows (used on SQLite; PostgreSQL counts itself)."""

    def stmt(*cols: ColumnElement[Any]) -> Select[*tuple[Any, ...]]:
        q = select(*cols)
        if join is not None:
            q = q.select_from(join)
        return q.where(*where)

    names = list(measures)
    if is_pg(session):
        cols: list[ColumnElement[Any]] = []
        for name in names:
            cols += [func.count(measures[name]).label(f"n_{name}"),
                     pg_percentiles(measures[name], ps).label(f"p_{name}")]
        row = session.execute(stmt(*cols)).mappings().one()
        return {name: (int(row[f"n_{name}"]), as_values(row[f"p_{name}"], ps))
                for name in names}
    wanted = {name: ranks_needed(int(counts[name]), ps) for name in names}
    live = [name for name in names if wanted[name]]
    at: dict[str, dict[int, float]] = {name: {} for name in names}
    if live:
        inner = stmt(*(measures[name].label(name) for name in live)).subquery()
        ranked = select(*(inner.c[name] for name in live), *(
            func.row_number().over(order_by=inner.c[name].asc().nulls_last()).label(f"r_{name}")
            for name in live)).subquery()
        picked = or_(*(ranked.c[f"r_{name}"].in_(wanted[name]) for name in live))
        for row in session.execute(select(ranked).where(picked)).mappings():
            for name in live:
                rn = int(row[f"r_{name}"])
                if rn in wanted[name]:
                    at[name][rn] = float(row[name])
    return {name: (int(counts[name]), interpolate(int(counts[name]), ps, at[name]))
            for name in names}
